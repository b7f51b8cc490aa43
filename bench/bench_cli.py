"""CLI speed: `ls` over 1/10/50/200 none machines whose engines are closed, answering or never accepting, and the
hot paths (`env`, `config`, `url`, `ls -q`, `--version`); each against docker-machine when it is on PATH, printed
as ratios from one run, beside the interpreter's own start (`python -c pass`, the floor no Python CLI goes under).

    python bench/bench_cli.py [--sizes 1,10,50,200] [--repeat 5] [--ours /path/to/venv/bin/machine-tui]

Not a test: it prints figures. Goals: ls over 50 answering engines <= 0.4x docker-machine, env <= 2x,
--version <= 25 ms. --ours times another install (a venv of a plain `pip install .` is what a user runs: no
editable-install finder, no .pth files of the machine's own site-packages)."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests"), os.path.join(HERE, "..", "tests", "helpers")]

from fakeengine import FakeEngine  # noqa: E402

# the real interpreter, not a version-manager shim (a pyenv shim alone costs ~80 ms)
OURS = [os.path.realpath(sys.executable), "-m", "machine_tui.cli"]
_script = os.path.join(os.path.dirname(os.path.realpath(sys.executable)), "machine-tui")
if os.path.exists(_script):
    OURS = [_script]
THEIRS = [shutil.which("docker-machine")] if shutil.which("docker-machine") else None


def timed(cmd, env, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True)
        times.append(time.perf_counter() - t)
        if r.returncode not in (0, 1):
            raise SystemExit(f"{cmd} failed: {r.stderr.decode()}")
    return statistics.median(times)


def make_store(tool, path, n, url, ca_store):
    """n none machines at url; all stores share one CA so one engine answers every tool."""
    os.makedirs(path, mode=0o700)
    shutil.copytree(os.path.join(ca_store, "certs"), os.path.join(path, "certs"))
    env = dict(os.environ, MACHINE_STORAGE_PATH=path, MACHINE_BUGSNAG_API_TOKEN="no-report")
    for i in range(n):
        subprocess.run(tool + ["create", "-d", "none", "--url", url, f"m{i:03d}"], env=env, check=True,
                       capture_output=True)
    return env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,10,50,200")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ours", help="the machine-tui program to time (default: this interpreter's)")
    a = ap.parse_args()
    global OURS
    if a.ours:
        OURS = [a.ours]
    with open(OURS[0], "rb") as fh:  # the interpreter that runs OURS: its bare start is the floor
        first = fh.readline()
    python = first[2:].decode().strip() if first.startswith(b"#!") else OURS[0]
    sizes = [int(s) for s in a.sizes.split(",")]
    work = tempfile.mkdtemp(prefix="mt-bench-")
    ca_store = os.path.join(work, "ca")
    subprocess.run(OURS + ["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "ca"], check=True,
                   capture_output=True, env=dict(os.environ, MACHINE_STORAGE_PATH=ca_store))
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(4096)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        up_port = s.getsockname()[1]
    tools = [("ours", OURS)] + ([("theirs", THEIRS)] if THEIRS else [])
    print(f"{'case':<34}{'machine-tui':>12}{'docker-machine':>16}{'ratio':>8}")

    def row(label, cmd_args, envs):
        ours = timed(OURS + cmd_args, envs["ours"], a.repeat)
        theirs = timed(THEIRS + cmd_args, envs["theirs"], a.repeat) if THEIRS else None
        ratio = f"{ours / theirs:.2f}" if theirs else "-"
        other = f"{theirs * 1000:.0f}ms" if theirs else "not on PATH"
        print(f"{label:<34}{ours * 1000:>10.0f}ms{other:>16}{ratio:>8}", flush=True)

    scenarios = (("closed", "tcp://127.0.0.1:1"), ("answering", f"tcp://127.0.0.1:{up_port}"),
                 ("never accepting", f"tcp://127.0.0.1:{hole.getsockname()[1]}"))
    with FakeEngine(ca_store, "127.0.0.1", up_port):
        for scenario, url in scenarios:
            for n in sizes:
                if scenario == "never accepting" and n > 10:
                    continue  # every run waits out the 10 s timeout; 1 and 10 machines show the shape
                envs = {tag: make_store(tool, os.path.join(work, f"{tag}-{scenario[:5]}-{n}"), n, url, ca_store)
                        for tag, tool in tools}
                row(f"ls, {n} {scenario}", ["ls"], envs)
                if scenario == "answering" and n == 1:
                    row("env (answering engine)", ["env", "--shell", "bash", "m000"], envs)
                if scenario == "never accepting" and n == 10:
                    row("ls -q, 10 never accepting", ["ls", "-q"], envs)
                    row("env --unset", ["env", "--unset", "--shell", "bash"], envs)
            if scenario == "answering":
                envs = {tag: make_store(tool, os.path.join(work, f"{tag}-hot"), 1, url, ca_store)
                        for tag, tool in tools}
                row("config (answering engine)", ["config", "m000"], envs)
                row("url", ["url", "m000"], envs)
                row("ls -q, 1", ["ls", "-q"], envs)
        row("--version", ["--version"], {tag: dict(os.environ) for tag, _ in tools})
        floor = timed([python, "-c", "pass"], dict(os.environ), a.repeat)
        print(f"{'python -c pass (the floor)':<34}{floor * 1000:>10.0f}ms{'':>16}{'':>8}")
    hole.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
