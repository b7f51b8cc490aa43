"""Many machines at once: batch create (names or --count), verbs over --filter with a bound, and `run` across
machines that are real OpenSSH servers on 127.0.0.1, one of them unreachable."""

from __future__ import annotations

import io
import json
import os
import time

import pytest
from conftest import start_sshd
from generichost import add_generic
from machine_tui.cli.main import dispatch
from machine_tui.core.drivers import DRIVERS


def cli_in_process(store, monkeypatch, *args):
    monkeypatch.setenv("MACHINE_STORAGE_PATH", store)
    out, err = io.StringIO(), io.StringIO()
    code = dispatch(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def flaky(monkeypatch):
    monkeypatch.setitem(DRIVERS, "flaky", "helpers.flakydriver:FlakyDriver")


def test_batch_create_with_one_failing_member_finishes_the_others(store, monkeypatch, flaky):
    code, out, err = cli_in_process(store, monkeypatch, "create", "-d", "flaky", "--flaky-fail", "web2",
                                    "--flaky-seconds", "0.5", "--parallel", "4", "--count", "4", "web")
    assert code == 1
    lines = out.splitlines()
    # four creates at once, not one after the other: each had begun before any was ready (no clock read)
    first_ready = min(i for i, line in enumerate(lines) if line.endswith("  ready"))
    assert {f"web{i}  Booting..." for i in range(1, 5)} <= set(lines[:first_ready])
    assert "web1  Booting..." in lines and "web4  ready" in lines and "web2  failed" in lines
    assert "Created 3 of 4 machines: web1, web3, web4" in lines
    assert "web2: Error creating machine: the host refused web2's options" in err
    assert err.rstrip().endswith("1 of 4 machines failed: web2. Remove what they left with: machine-tui rm -f web2")
    _, out, _ = cli_in_process(store, monkeypatch, "ls", "--format", "{{.Name}} {{.State}}")
    assert out.splitlines() == ["web1 Running", "web2 Error", "web3 Running", "web4 Running"]
    assert cli_in_process(store, monkeypatch, "rm", "-f", "-y", "web2")[0] == 0
    assert not os.path.exists(os.path.join(store, "machines", "web2"))


def test_batch_bounds_its_parallelism_and_refuses_bad_names_before_anything(store, monkeypatch, flaky):
    started = time.monotonic()
    code, out, _ = cli_in_process(store, monkeypatch, "create", "-d", "flaky", "--flaky-seconds", "0.4",
                                  "--parallel", "1", "--batch", "a1", "a2", "a3")
    assert code == 0 and time.monotonic() - started >= 1.2  # one at a time
    assert out.splitlines()[-2:] == ["Created 3 of 3 machines: a1, a2, a3",
                                     "To connect your Docker Client to one of them, run: machine-tui env NAME"]
    code, out, err = cli_in_process(store, monkeypatch, "create", "-d", "flaky", "--batch", "b1", "../b2")
    assert code == 1 and "Error creating machine '../b2'" in err and not os.path.exists(os.path.join(store,
                                                                                                    "machines", "b1"))
    code, _, err = cli_in_process(store, monkeypatch, "create", "-d", "flaky", "--batch", "c", "c")
    assert code == 1 and "c given twice" in err
    code, _, err = cli_in_process(store, monkeypatch, "create", "-d", "flaky", "--count", "2", "x", "y")
    assert code == 1 and "--count takes one name to number" in err
    code, _, err = cli_in_process(store, monkeypatch, "create", "-d", "flaky", "--batch", "a1", "new1")
    assert code == 1 and 'a1: Docker machine "a1" already exists' in err and "rm -f" not in err


def test_verbs_take_a_filter_and_a_bound(store, monkeypatch, flaky):
    cli_in_process(store, monkeypatch, "create", "-d", "flaky", "--batch", "--flaky-seconds", "0", "web1", "web2", "db1")
    code, out, err = cli_in_process(store, monkeypatch, "restart", "--filter", "name=web", "--parallel", "1")
    assert code == 1  # the flaky driver cannot restart: each machine says so
    assert err.count("flaky driver does not support restart") == 2 and "db1" not in out + err
    code, _, err = cli_in_process(store, monkeypatch, "stop", "--filter", "name=nothing")
    assert code == 1 and err == "No machine matches --filter name=nothing\n"


@pytest.fixture
def fleet(store, tmp_path_factory):
    """52 generic machines on three real sshd instances, and one whose sshd is gone."""
    servers = [start_sshd(tmp_path_factory.mktemp(f"sshd{i}")) for i in range(3)]
    names = []
    for i in range(52):
        srv = servers[i % 3]
        names.append(f"h{i:02d}")
        add_generic(store, names[-1], srv.port, srv.key, srv.user)
    gone = start_sshd(tmp_path_factory.mktemp("gone"))
    add_generic(store, "unreachable", gone.port, gone.key, gone.user)
    gone.proc.terminate()
    gone.proc.wait(5)
    yield names
    for srv in servers:
        srv.proc.terminate()
        srv.proc.wait(5)


def test_run_across_52_machines_and_one_unreachable(store, fleet, cli):
    r = cli("run", "--filter", "driver=generic", "--parallel", "32", "--", "echo out-$PPID; echo err >&2; "
            "test $(hostname) && exit 0")
    assert r.returncode == 1  # the unreachable one
    lines = r.stdout.splitlines()
    assert len([line for line in lines if " | out-" in line]) == 52, r.stderr
    assert "unreachable | error: " in r.stderr
    assert r.stderr.rstrip().endswith("52 of 53 machines succeeded; failed: unreachable (unreachable)")
    r = cli("run", "h01", "h02", "--json", "--", "sh", "-c", "echo $0; exit 3", "arg zero")
    answer = json.loads(r.stdout)
    assert r.returncode == 1 and [(a["machine"], a["exit_code"], a["stdout"]) for a in answer] == [
        ("h01", 3, "arg zero\n"), ("h02", 3, "arg zero\n")]
    r = cli("run", "h03", "--group", "--", "uname -s")
    assert r.returncode == 0 and r.stdout.splitlines()[0].startswith("=== h03 (exit 0, ")
    assert r.stdout.splitlines()[1] == "Linux"


def test_run_refuses_what_it_cannot_do(store, cli):
    assert "no command to run" in cli("run", "h1", "--").stderr
    assert "name the machines" in cli("run", "--", "uptime").stderr
    r = cli("run", "nosuch", "--", "uptime")
    assert r.returncode == 1 and "nosuch | error: " in r.stderr
