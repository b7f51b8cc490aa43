"""Replays what the real docker-machine printed (tests/fixtures/docker-machine) against machine-tui:
same stdout, stderr and exit code, with `machine-tui` where docker-machine printed its own name."""

from __future__ import annotations

import os
import random
import re
import shlex
import shutil
import string

import pytest
from conftest import FIXTURES, clean_env, run_cli

# Cases whose output cannot be byte-identical, and what is compared instead.
ROUGH = {
    "with-fake-daemon/07b-ls-format-table": "response time varies",
    "flags/03-ls-swarm": "the Go x509 error text of a foreign CA",
    "basic/26-create-unknown-driver": "drivers are built in: the message lists them instead of a plugin binary",
}
# Cases that need the SSH layer; the SSH layer has its own tests (tests/cli/test_ssh_layer.py).
SSH_CASES = {"27e-ssh-none", "27f-provision-none", "27g-regenerate-certs-none", "27h-upgrade-none"}

OUR_EXTRA_HELP = re.compile(r"\(machine-tui\)|--no-docker-context|--json")


def cases(group):
    folder = os.path.join(FIXTURES, group)
    return sorted(d for d in os.listdir(folder) if os.path.isfile(os.path.join(folder, d, "cmd")))


def read(group, case, name):
    path = os.path.join(FIXTURES, group, case, name)
    with open(path) as fh:
        return fh.read()


def split_cmd(line: str):
    """`[echo X |] [env -u V] [V=x ...] docker-machine args...` -> (stdin, unset vars, env, args)."""
    stdin = None
    if "|" in line and line.startswith("echo "):
        left, line = line.split("|", 1)
        stdin = shlex.split(left)[1] + "\n"
    words = shlex.split(line)
    unset, env = [], {}
    while words and words[0] != "machine-tui":
        w = words.pop(0)
        if w == "env":
            continue
        if w == "-u":
            unset.append(words.pop(0))
        elif "=" in w:
            k, v = w.split("=", 1)
            env[k] = v
    return stdin, unset, env, words[1:]


class Replayer:
    def __init__(self, tmp_path):
        # a loopback address as long as 127.0.0.1, so tabwriter columns keep their widths
        # (one per xdist worker: two replays at once on one address would answer each other's 2376)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
        self.loop = f"127.0.0.{2 + int(worker.removeprefix('gw') or 0) % 8}"
        # store paths as long as the captured ones, so help and tabwriter layouts keep their widths
        base = "/tmp/d" + "".join(random.choices(string.ascii_lowercase + string.digits, k=7))
        self.stores = {"/tmp/dm-store-flags": base + "-flags", "/tmp/dm-store": base}
        assert len(base) == len("/tmp/dm-store")

    def cleanup(self):
        for path in self.stores.values():
            shutil.rmtree(path, ignore_errors=True)

    def sub(self, text: str) -> str:
        for old, new in self.stores.items():
            text = text.replace(old, new)
        text = re.sub(r"127\.0\.0\.1:(2376|3377)", lambda m: f"{self.loop}:{m.group(1)}", text)
        text = text.replace("docker-machine", "machine-tui")
        from machine_tui.core import VERSION, build_id

        line = f"machine-tui version {VERSION}, build {build_id()}"  # now: a commit meanwhile moves the build
        text = text.replace("Version: 0.16.2, build bd45ab13", f"Version: {line.split(' version ', 1)[1]}")
        text = text.replace("machine-tui version 0.16.2, build bd45ab13", line)
        text = text.replace("Docker Machine Contributors - <https://github.com/machine-tui>",
                            "machine-tui contributors")
        text = text.replace("Docker Machine Contributors - <https://github.com/docker/machine>",
                            "machine-tui contributors")
        return text

    def run(self, group, case):
        stdin, unset, env, args = split_cmd(self.sub(read(group, case, "cmd").strip()))
        store = env.pop("MACHINE_STORAGE_PATH", self.stores["/tmp/dm-store"])
        full_env = clean_env(store, **env)
        for var in unset:
            full_env.pop(var, None)
        if unset:
            full_env["HOME"] = "/root"  # the capture shows root's default store path
        return run_cli(args, full_env, stdin)

    def check(self, group, case):
        result = self.run(group, case)
        want_out = self.sub(read(group, case, "stdout"))
        # a plugin binary keeps docker-machine's name (docker-machine-driver-X), whatever runs it
        want_err = self.sub(read(group, case, "stderr")).replace("machine-tui-driver-", "docker-machine-driver-")
        want_rc = int(read(group, case, "exit_code").strip())
        got_out = "\n".join(l for l in result.stdout.split("\n") if not OUR_EXTRA_HELP.search(l))
        key = f"{group}/{case}"
        if key == "with-fake-daemon/07b-ls-format-table":
            assert re.fullmatch(r"NAME       DOCKER     RESPONSE\nnonehost   v19\.03\.5   \d+ms\n", got_out), got_out
        elif key == "flags/03-ls-swarm":
            header, row = got_out.splitlines()
            assert header.split() == want_out.splitlines()[0].split()
            assert row.startswith("flagged   -        none     Running   tcp://")
            assert "flagged (master)   Unknown   Unable to query docker version:" in row
        else:
            assert got_out == want_out, f"stdout of {key}"
        assert result.stderr == want_err, f"stderr of {key}"
        assert result.returncode == want_rc, f"exit code of {key}"


@pytest.fixture
def replayer(tmp_path):
    r = Replayer(tmp_path)
    yield r
    r.cleanup()


def test_basic_session(replayer):
    """The whole none-driver session: create, ls, inspect, env, errors, rm, in the captured order."""
    for case in cases("basic"):
        if case in SSH_CASES:
            continue
        replayer.check("basic", case)


def test_session_with_answering_engine(replayer):
    from fakeengine import FakeEngine

    store = replayer.stores["/tmp/dm-store"]
    r = run_cli(["create", "-d", "none", "--url", f"tcp://{replayer.loop}:2376", "nonehost"], clean_env(store))
    assert r.returncode == 0, r.stderr
    with FakeEngine(store, replayer.loop, 2376):
        for case in cases("with-fake-daemon"):
            replayer.check("with-fake-daemon", case)


def test_every_create_flag_recorded_as_docker_machine_does(replayer):
    for case in cases("flags"):
        replayer.check("flags", case)
    written = open(os.path.join(replayer.stores["/tmp/dm-store-flags"], "machines", "flagged", "config.json")).read()
    # flagged was removed? no: only my.host-1 and envdrv are removed by case 12
    want = replayer.sub(read("flags", "store-config", "flagged.config.json"))
    assert written == want
