"""Fleet speed: `machine-tui run` over N generic machines (real OpenSSH servers on 127.0.0.1, a few machines each)
against a loop of one SSH command per machine, the way a docker-machine user runs a command on each host
(`for m in ...; do docker-machine ssh $m CMD; done`). docker-machine's own `ssh` is timed when it is on PATH;
otherwise the loop runs `machine-tui ssh` and plain OpenSSH `ssh`, and the ratios are against those.

    python bench/bench_fleet.py [--hosts 200] [--servers 8] [--loop-sample 20]

The loops are timed on a sample of the machines and scaled to all of them (a 200-process loop adds nothing but
minutes). Not a test: it prints figures."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests"), os.path.join(HERE, "..", "tests", "helpers")]


def _servers_cpu(servers) -> float:
    """CPU seconds the sshd servers and their finished sessions have used (Linux /proc; 0 elsewhere)."""
    total = 0
    for srv in servers:
        try:
            with open(f"/proc/{srv.proc.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.0


def main() -> None:
    from conftest import start_sshd
    from generichost import add_generic

    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--servers", type=int, default=8)
    ap.add_argument("--loop-sample", type=int, default=20)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mt-bench-fleet-")
    servers = []
    try:
        import pathlib

        servers = [start_sshd(pathlib.Path(tempfile.mkdtemp(dir=work))) for _ in range(a.servers)]
        store = os.path.join(work, "store")
        names = []
        for i in range(a.hosts):
            srv = servers[i % len(servers)]
            name = f"h{i:03d}"
            add_generic(store, name, srv.port, srv.key, srv.user)
            names.append(name)
        env = dict(os.environ, MACHINE_STORAGE_PATH=store, MACHINE_TUI_LOG_DIR=store + "-logs")
        ours = [sys.executable, "-m", "machine_tui.cli"]
        import resource

        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        hosts_before = _servers_cpu(servers)
        t = time.perf_counter()
        r = subprocess.run(ours + ["run", "--filter", "driver=generic", "--parallel", "32", "--", "hostname"],
                           env=env, capture_output=True, text=True)
        run_time = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        hosts_cpu = _servers_cpu(servers) - hosts_before
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        ok = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        print(f"run over {a.hosts} machines ({a.servers} sshd, 32 at once): {run_time:.2f} s  [{ok}]")
        # the sshd servers share this computer's cores with the client: their handshakes bound the wall time here,
        # where each host would bring its own CPU; the client's own CPU is what `run` costs wherever it runs
        print(f"  machine-tui's own CPU: {cpu:.2f} s, {cpu / a.hosts * 1000:.0f} ms a machine")
        print(f"  the hosts' CPU (sshd, its session, the command) on this computer too: {hosts_cpu:.2f} s, "
              f"{hosts_cpu / a.hosts * 1000:.0f} ms a machine; the two over {os.cpu_count()} cores bound the wall "
              f"time here at {(cpu + hosts_cpu) / (os.cpu_count() or 1):.2f} s")
        sample = names[:a.loop_sample]
        loops = {}
        if shutil.which("docker-machine"):
            loops["docker-machine ssh loop"] = ["docker-machine", "-s", store, "ssh"]
        loops["machine-tui ssh loop"] = ours + ["ssh"]
        for label, argv in loops.items():
            t = time.perf_counter()
            for name in sample:
                subprocess.run(argv + [name, "hostname"], env=env, capture_output=True)
            per = (time.perf_counter() - t) / len(sample)
            print(f"{label}: {per * 1000:.0f} ms a machine, {per * a.hosts:.1f} s for {a.hosts} "
                  f"-> run is {run_time / (per * a.hosts):.3f}x of it")
        srv = servers[0]
        t = time.perf_counter()
        for _ in sample:
            subprocess.run(["ssh", "-q", "-i", srv.key, "-p", str(srv.port), "-o", "StrictHostKeyChecking=no",
                            "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", f"{srv.user}@127.0.0.1",
                            "hostname"], capture_output=True)
        per = (time.perf_counter() - t) / len(sample)
        print(f"plain OpenSSH ssh loop: {per * 1000:.0f} ms a machine, {per * a.hosts:.1f} s for {a.hosts} "
              f"-> run is {run_time / (per * a.hosts):.3f}x of it")
    finally:
        for srv in servers:
            srv.proc.terminate()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
