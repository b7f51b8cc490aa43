"""--qemu-network's bookkeeping (addresses, MACs, the VDE switch's life) and the accelerator verdict kept per boot,
without booting a VM: tests/vm/test_swarm_vm.py boots three on one network."""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest
from machine_tui.core.drivers import qemunet
from machine_tui.core.drivers.qemu import QemuDriver
from machine_tui.core.errors import MachineError
from machine_tui.core.events import Reporter


def test_members_get_distinct_addresses_and_macs_and_keep_them(tmp_path):
    store = str(tmp_path)
    members = [qemunet.join(store, "swnet", f"sw{i}") for i in range(1, 4)]
    assert len({m.address for m in members}) == 3 and len({m.mac for m in members}) == 3
    assert all(m.address.startswith("192.168.") and m.address.endswith((".11", ".12", ".13")) for m in members)
    assert qemunet.join(store, "swnet", "sw2").address == members[1].address  # the same place again
    assert all(int(m.mac.split(":")[0], 16) & 0b11 == 0b10 for m in members)  # local, unicast
    qemunet.leave(store, "swnet", "sw2")
    assert qemunet.join(store, "swnet", "sw4").address == members[1].address  # the freed number is reused
    assert oct(os.stat(os.path.join(store, "networks", "swnet")).st_mode & 0o777) == "0o700"
    assert "MACAddress=" + members[0].mac in qemunet.guest_config(members[0])


def test_bad_names_are_refused_before_any_path_is_made(tmp_path):
    for bad in ("../x", "", "a/b", "-x", "x" * 40):
        with pytest.raises(MachineError, match="a network name is letters, digits"):
            qemunet.join(str(tmp_path), bad, "m")
    assert not os.path.exists(tmp_path / "networks")


def test_the_switch_starts_once_and_stops_with_the_last_member(tmp_path):
    assert shutil.which("vde_switch"), "the network tests need vde2: scripts/install-test-deps installs it"
    store = str(tmp_path)
    qemunet.join(store, "lab", "a")
    qemunet.join(store, "lab", "b")
    sock = qemunet.ensure_switch(store, "lab")
    pid = qemunet._switch_pid(store, "lab")
    assert pid and os.path.exists(os.path.join(sock, "ctl"))
    assert qemunet.ensure_switch(store, "lab") == sock and qemunet._switch_pid(store, "lab") == pid
    qemunet.leave(store, "lab", "a")
    assert qemunet._switch_pid(store, "lab") == pid
    qemunet.leave(store, "lab", "b")
    for _ in range(50):
        if not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z":
            break
        asyncio.run(asyncio.sleep(0.05))
    assert not os.path.exists(tmp_path / "networks" / "lab")


async def test_a_batch_probes_the_accelerator_once_per_boot(tmp_path, monkeypatch):
    probes = []

    async def probe(self, report):
        probes.append(self.machine_name)
        await asyncio.sleep(0.2)
        return "tcg"

    monkeypatch.setattr(QemuDriver, "_probe_accel", probe)
    drivers = []
    for i in range(3):
        driver = QemuDriver(QemuDriver.new_config(f"q{i}", str(tmp_path)))
        drivers.append(driver)
    verdicts = await asyncio.gather(*(d._remembered_accel(Reporter()) for d in drivers))
    assert verdicts == ["tcg"] * 3 and len(probes) == 1
    assert oct(os.stat(tmp_path / "cache" / "qemu-accel.json").st_mode & 0o777) == "0o600"


def test_the_switch_starts_even_when_its_pidfile_comes_after_its_parent_exits(tmp_path, monkeypatch):
    """vde_switch -d forks: the pidfile is the daemon's and may come after the parent's exit (a busy machine);
    seen as the swarm VM test's "starting the switch of network swnet: failed". Here the pidfile always comes late."""
    import subprocess
    import threading

    store = str(tmp_path)
    qemunet.join(store, "late", "a")
    real_run = subprocess.run

    def late_pidfile(argv, **kw):
        done = real_run(argv, **kw)
        pidfile = argv[argv.index("-p") + 1]
        for _ in range(400):  # the real daemon's own pidfile, which a busy machine writes late too
            if os.path.exists(pidfile) and open(pidfile).read().strip():
                break
            asyncio.run(asyncio.sleep(0.05))
        content = open(pidfile).read()
        os.unlink(pidfile)  # as if the daemon had not written it yet

        def write_later():
            asyncio.run(asyncio.sleep(0.3))
            with open(pidfile, "w") as fh:
                fh.write(content)

        threading.Thread(target=write_later, daemon=True).start()
        return done

    monkeypatch.setattr(qemunet.subprocess, "run", late_pidfile)
    try:
        qemunet.ensure_switch(store, "late")
        assert qemunet._switch_pid(store, "late") is not None
    finally:
        qemunet.leave(store, "late", "a")
