"""`start` of a paused QEMU VM resumes it (as the VirtualBox driver resumes a paused VM), on a real QEMU process:
one with no machine to emulate, started paused, answering QMP on the machine's socket."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time

from machine_tui.core.drivers.qemu import QemuDriver
from machine_tui.core.states import State

QEMU = shutil.which("qemu-system-x86_64") or "qemu-system-x86_64"  # scripts/install-test-deps installs it


async def test_start_resumes_a_paused_vm(tmp_path):
    driver = QemuDriver(QemuDriver.new_config("p1", str(tmp_path)))
    folder = os.path.join(str(tmp_path), "machines", "p1")
    os.makedirs(folder)
    disk = os.path.join(folder, "disk.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", disk, "16M"], check=True)
    proc = subprocess.Popen([QEMU, "-machine", "none", "-S", "-display", "none", "-daemonize",
                             "-qmp", f"unix:{folder}/qmp.sock,server=on,wait=off", "-pidfile", f"{folder}/qemu.pid",
                             "-drive", f"file={disk},if=none,id=d0,format=qcow2"])
    assert proc.wait() == 0
    try:
        for _ in range(100):
            if await driver.state() != State.STOPPED:
                break
            await asyncio.sleep(0.1)
        assert await driver.state() == State.PAUSED
        await driver.start()
        assert await driver.state() == State.RUNNING
    finally:
        await driver.kill()
    assert await driver.state() == State.STOPPED


def test_a_vm_test_that_fails_leaves_no_guest_behind(tmp_path):
    """The safety net of every VM test (conftest's no_vm_left_behind): a QEMU naming the test's folder is killed,
    one of another folder is not."""
    from conftest import kill_vms_of

    mine, other = tmp_path / "mine", tmp_path / "other"
    procs = []
    for folder in (mine, other):
        folder.mkdir()
        procs.append(subprocess.Popen([QEMU, "-machine", "none", "-S", "-display", "none", "-name", str(folder)]))
    try:
        for proc in procs:  # until each has become QEMU (right after the fork it is still this Python)
            while b"qemu-system" not in open(f"/proc/{proc.pid}/cmdline", "rb").read().split(b"\0")[0]:
                assert proc.poll() is None
                time.sleep(0.02)
        assert kill_vms_of(str(mine).encode()) == [procs[0].pid]
        assert procs[0].wait(30) == -9
        assert procs[1].poll() is None
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
