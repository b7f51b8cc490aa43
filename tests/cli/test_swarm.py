"""Swarm mode across machines through each engine's API over its TLS, against loopback engines that are nodes of
one emulated swarm (helpers/fakeengine.FakeSwarm). The real thing on three VMs is tests/vm/test_swarm_vm.py."""

from __future__ import annotations

import json
import os

import pytest
from conftest import clean_env, run_cli
from fakeengine import FakeEngine, FakeSwarm
from vmrig import free_port


@pytest.fixture
def cluster(store):
    swarm = FakeSwarm()
    engines = []
    env = clean_env(store)
    for name in ("sw1", "sw2", "sw3"):
        port = free_port()
        assert run_cli(["create", "-d", "none", "--url", f"tcp://127.0.0.1:{port}", name], env).returncode == 0
        engines.append(FakeEngine(store, "127.0.0.1", port, swarm=swarm, hostname=name).__enter__())
    yield swarm, env
    for engine in engines:
        engine.__exit__(None, None, None)


def test_init_join_ls_drain_leave(store, cluster):
    swarm, env = cluster
    r = run_cli(["swarm", "init", "sw1"], env)
    assert r.returncode == 0, r.stderr
    assert "sw1 is the manager of a new swarm" in r.stdout and "swarm join sw1 NAME..." in r.stdout
    r = run_cli(["swarm", "join", "sw1", "sw2", "sw3"], env)
    assert r.returncode == 0, r.stderr
    joins = [body for method, route, body in swarm.requests if route.endswith("/swarm/join")]
    assert [j["RemoteAddrs"] for j in joins] == [["10.0.9.1:2377"]] * 2  # the manager's own address
    assert all(j["JoinToken"] == swarm.tokens["Worker"] for j in joins)
    r = run_cli(["swarm", "ls"], env)
    assert r.stdout.splitlines() == [
        "MACHINE   ROLE      LEADER   AVAILABILITY   STATUS   ENGINE     ADDRESS",
        "sw1       manager   *        active         ready    20.10.24   10.0.9.1",
        "sw2       worker             active         ready    20.10.24   10.0.9.2",
        "sw3       worker             active         ready    20.10.24   10.0.9.3"]
    rows = run_cli(["ls", "--format", "{{.Name}} {{.Swarm}}"], env).stdout.splitlines()
    assert rows == ["sw1 sw1 (manager)", "sw2 sw1 (worker)", "sw3 sw1 (worker)"]
    swarm.services.append({"ID": "svc1", "name": "web", "replicas": 3})
    assert run_cli(["swarm", "services"], env).stdout.splitlines() == ["SERVICE   REPLICAS", "web       3/3"]
    assert run_cli(["swarm", "drain", "sw2"], env).stdout == "sw2 is now drain\n"
    nodes = json.loads(run_cli(["swarm", "ls", "sw1", "--json"], env).stdout)
    assert [n["availability"] for n in nodes] == ["active", "drain", "active"]
    assert run_cli(["swarm", "services"], env).stdout.splitlines()[1] == "web       2/3"
    assert run_cli(["swarm", "activate", "sw2"], env).returncode == 0
    r = run_cli(["swarm", "leave", "sw3"], env)
    assert r.returncode == 0 and "sw3 left the swarm" in r.stdout and "sw1 forgot the node" in r.stdout
    assert [n["machine"] for n in json.loads(run_cli(["swarm", "ls", "--json"], env).stdout)] == ["sw1", "sw2"]
    assert run_cli(["ls", "--format", "{{.Name}} {{.Swarm}}", "--filter", "name=sw3"], env).stdout == "sw3 \n"
    # the join tokens went from the manager's answer into the joining engine's request, and nowhere else
    logs = "".join(open(os.path.join(d, f), errors="replace").read()
                   for d, _, files in os.walk(env["MACHINE_TUI_LOG_DIR"]) for f in files)
    stored = "".join(open(os.path.join(d, f), errors="replace").read()
                     for d, _, files in os.walk(store) for f in files if f.endswith(".json"))
    for token in swarm.tokens.values():
        assert token not in logs + stored + r.stdout + r.stderr


def test_what_cannot_be_done_is_one_line(store, cluster):
    swarm, env = cluster
    r = run_cli(["swarm", "join", "sw1", "sw2"], env)
    assert r.returncode == 1 and r.stderr == "sw1 is not a swarm manager: run `swarm init sw1` first\n"
    assert run_cli(["swarm", "init", "sw1"], env).returncode == 0
    r = run_cli(["swarm", "init", "sw1"], env)
    assert r.returncode == 1 and r.stderr == "sw1 is already part of a swarm (as a manager)\n"
    r = run_cli(["swarm", "leave", "sw1"], env)
    assert r.returncode == 1 and "participating as a manager. Use `--force`" in r.stderr
    r = run_cli(["swarm", "leave", "sw2"], env)
    assert r.returncode == 1 and r.stderr == "sw2: sw2 is not part of a swarm\n"
    r = run_cli(["swarm", "drain", "sw2"], env)
    assert r.returncode == 1 and "sw2 is in no swarm" in r.stderr
    assert run_cli(["swarm", "frobnicate"], env).returncode == 1
    assert run_cli(["swarm", "join", "sw1"], env).returncode == 1  # no machine to join
    r = run_cli(["swarm", "ls", "nosuch"], env)
    assert r.returncode == 1 and "Traceback" not in r.stderr


def test_create_with_swarm_mode_makes_and_joins_the_swarm(store):
    env = clean_env(store)
    assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "seed"], env).returncode == 0  # the CA
    swarm = FakeSwarm()
    ports = {name: free_port() for name in ("m1", "w1", "w2")}
    engines = [FakeEngine(store, "127.0.0.1", port, swarm=swarm, hostname=name).__enter__()
               for name, port in ports.items()]
    try:
        r = run_cli(["create", "-d", "none", "--url", f"tcp://127.0.0.1:{ports['m1']}", "--swarm-mode", "manager",
                     "m1"], env)
        assert r.returncode == 0 and "m1 is the manager of a new swarm" in r.stdout, r.stderr
        r = run_cli(["create", "-d", "none", "--url", f"tcp://127.0.0.1:{ports['w1']}", "--swarm-mode", "worker",
                     "--swarm-mode-join", "m1", "w1"], env)
        assert r.returncode == 0 and "w1 joins m1's swarm as a worker..." in r.stdout, r.stderr
        for args, said in ((["--swarm-mode", "worker"], "--swarm-mode worker needs --swarm-mode-join MANAGER"),
                           (["--swarm-mode", "boss"], '--swarm-mode "boss": manager or worker'),
                           (["--swarm-mode-join", "m1"], "--swarm-mode-join needs --swarm-mode worker"),
                           (["--swarm-mode", "worker", "--swarm-mode-join", "nosuch"],
                            'Docker machine "nosuch" does not exist')):
            r = run_cli(["create", "-d", "none", "--url", f"tcp://127.0.0.1:{ports['w2']}", *args, "w2"], env)
            assert r.returncode == 1 and said in r.stderr and not os.path.exists(os.path.join(store, "machines",
                                                                                              "w2"))
        rows = run_cli(["ls", "--format", "{{.Name}} {{.Swarm}}"], env).stdout.splitlines()
        assert rows == ["m1 m1 (manager)", "seed ", "w1 m1 (worker)"]
        # a finished create with its swarm step reads Running, not "create did not finish" (issue 21, item 3)
        rows = run_cli(["ls", "--format", "{{.Name}} {{.State}} {{.Error}}"], env).stdout.splitlines()
        assert [r.strip() for r in rows if not r.startswith("seed")] == ["m1 Running", "w1 Running"]
        assert run_cli(["ls", "-q", "--filter", "state=Running"], env).stdout.split() == ["m1", "seed", "w1"]
        assert not any(os.path.exists(os.path.join(store, "machines", n, f)) for n in ("m1", "w1")
                       for f in os.listdir(os.path.join(store, "machines", n)) if f.startswith(".creat"))
    finally:
        for engine in engines:
            engine.__exit__(None, None, None)


def test_swarm_help_lists_its_commands(store):
    r = run_cli(["swarm", "--help"], clean_env(store))
    assert r.returncode == 0
    for sub in ("init MANAGER", "join MANAGER NAME...", "leave NAME...", "ls [MANAGER]", "services [MANAGER]",
                "drain NAME / activate NAME"):
        assert sub in r.stdout, sub


def test_swarm_create_makes_a_cluster_as_the_apps_n_does(store, monkeypatch):
    """The app's cluster sequence, from a shell: the first manager, then the others joining it (one plan, in the
    application service, for both front ends)."""
    import io

    from helpers.fleetlabdriver import lab_engines
    from machine_tui.cli.main import dispatch
    from machine_tui.core.drivers import DRIVERS
    from machine_tui.core.service.swarm import recorded_role
    from machine_tui.core.store import Store

    monkeypatch.setitem(DRIVERS, "fleetlab", "helpers.fleetlabdriver:FleetLabDriver")
    monkeypatch.setenv("MACHINE_STORAGE_PATH", store)
    fake = FakeSwarm()
    with lab_engines(store, ("lab1", "lab2", "lab3"), fake):
        out, err = io.StringIO(), io.StringIO()
        code = dispatch(["swarm", "create", "lab", "-d", "fleetlab", "--workers", "2"], out=out, err=err)
        assert code == 0, err.getvalue()
        assert "Created 3 of 3 machines of the swarm lab: lab1, lab2, lab3" in out.getvalue()
        roles = {n: recorded_role(Store(store).load(n)) for n in ("lab1", "lab2", "lab3")}
        assert roles == {"lab1": ("manager", "lab1"), "lab2": ("worker", "lab1"), "lab3": ("worker", "lab1")}
        assert sorted(n["Spec"]["Role"] for n in fake.nodes.values()) == ["manager", "worker", "worker"]
        err = io.StringIO()
        assert dispatch(["swarm", "create", "lab", "-d", "fleetlab"], out=io.StringIO(), err=err) == 1
        assert 'Docker machine "lab1" already exists' in err.getvalue()  # nothing made, nothing touched
