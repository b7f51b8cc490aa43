"""Provisioning a real VM (Docker preinstalled, so it measures our work) with machine-tui, phase by phase, and
with docker-machine when it is on PATH, as a ratio from one run; then one command's round trip over the pooled
connection vs a fresh `ssh` process.

    python bench/bench_provision.py        (needs what the VM tests need; builds or reuses the test image)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests"), os.path.join(HERE, "..", "tests", "helpers")]

import vmrig  # noqa: E402
from machine_tui.core import operations, ssh  # noqa: E402
from machine_tui.core.drivers import driver_for  # noqa: E402
from machine_tui.core.events import Reporter  # noqa: E402
from machine_tui.core.store import Store  # noqa: E402


def phases(events, started):
    marks, out = {}, []
    for e in events:
        if e.kind == "step":
            marks[e.step] = e.at
        elif e.kind == "done" and e.step in marks:
            out.append((e.step, e.at - marks[e.step]))
    out.append(("total", events[-1].at - started))
    return out


async def create(store, vm, name):
    events = []
    rep = Reporter(events.append)
    started = time.monotonic()
    opts = {"generic-ip-address": "127.0.0.1", "generic-ssh-port": vm.ssh_port, "generic-ssh-key": vm.key,
            "generic-engine-port": vm.engine_port, "generic-ssh-user": "root"}
    await operations.create(store, name, "generic", opts, rep, context=False)
    return phases(events, started)


async def reprovision(store, name):
    from machine_tui.core.provisioning import provision

    host = store.load(name)
    events = []
    started = time.monotonic()
    await provision(store, host, driver_for(host), Reporter(events.append), context=False)
    return phases(events, started)


async def round_trips(store, name, n=20):
    host = store.load(name)
    conn = await ssh.connect_driver(driver_for(host))
    await conn.run("true")
    times = []
    for _ in range(n):
        t = time.perf_counter()
        await conn.run("true")
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fresh_ssh(vm, n=5):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no",
                        "-o", "UserKnownHostsFile=/dev/null",
                        "-o", "LogLevel=quiet", "-i", vm.key, "-p", str(vm.ssh_port), "root@127.0.0.1", "true"],
                       check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    image = vmrig.build_image()
    work = tempfile.mkdtemp(prefix="mt-bench-vm-")
    vm = vmrig.VM(image, os.path.join(work, "vm"), vmrig.make_key(work) + ".pub")
    vm.key = os.path.join(work, "id_test")
    vm.start()
    try:
        boot = vm.wait_for_ssh_banner()
        print(f"VM boot to SSH banner (TCG, -smp 2): {boot:.1f} s")
        store = Store(os.path.join(work, "store"))
        print("create -d generic, phases:")
        for step, secs in asyncio.run(create(store, vm, "b1")):
            print(f"  {step:<10}{secs:7.2f} s")
        print("provision again (Docker installed and running), phases:")
        ours = asyncio.run(reprovision(store, "b1"))
        for step, secs in ours:
            print(f"  {step:<10}{secs:7.2f} s")
        total = ours[-1][1]
        if shutil.which("docker-machine"):
            env = dict(os.environ, MACHINE_STORAGE_PATH=os.path.join(work, "dm"), MACHINE_BUGSNAG_API_TOKEN="no-report")
            subprocess.run(["docker-machine", "create", "-d", "generic", "--generic-ip-address", "127.0.0.1",
                            "--generic-ssh-port", str(vm.ssh_port), "--generic-ssh-key", vm.key,
                            "--generic-engine-port", str(vm.engine_port), "dm1"], env=env, capture_output=True)
            t0 = time.perf_counter()
            subprocess.run(["docker-machine", "provision", "dm1"], env=env, capture_output=True)
            theirs = time.perf_counter() - t0
            print(f"provision: machine-tui {total:.1f} s, docker-machine {theirs:.1f} s, ratio {total / theirs:.2f}")
        else:
            print(f"provision: machine-tui {total:.1f} s; docker-machine not on PATH, no ratio")
        pooled = asyncio.run(round_trips(store, "b1"))
        fresh = fresh_ssh(vm)
        print(f"one command: pooled connection {pooled * 1000:.0f} ms, fresh ssh process {fresh * 1000:.0f} ms "
              f"(ratio {pooled / fresh:.2f})")
    finally:
        vm.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
