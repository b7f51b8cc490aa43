"""Private networks between local QEMU machines (--qemu-network NAME): one VDE switch per network, on unix sockets in
the store, and a second NIC on each machine with its own MAC and an address machine-tui assigns. The traffic stays
inside the QEMU processes and the switch: nothing is routed, and this computer never sends to those addresses.

A network's folder is <store>/networks/NAME: the switch's control socket and pid, and network.json with the subnet
and each member's number. The switch starts with the first member and stops with the last."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
from typing import Any

from .. import hostos
from ..errors import MachineError

NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,31}$")


class Member:
    __slots__ = ("network", "number", "address", "prefix", "mac")

    def __init__(self, network: str, number: int, subnet: str):
        self.network, self.number = network, number
        base = subnet.rsplit(".", 1)[0]
        self.address, self.prefix = f"{base}.{10 + number}", 24
        digest = hashlib.sha256(f"{network}/{number}".encode()).digest()
        # locally administered, unicast, different on every member (QEMU would give each second NIC the same MAC)
        self.mac = "52:54:" + ":".join(f"{b:02x}" for b in digest[:4])


def folder(store_path: str, network: str) -> str:
    if not NAME.match(network):
        raise MachineError(f'--qemu-network "{network}": a network name is letters, digits, - and _ (32 at most)')
    return os.path.join(store_path, "networks", network)


def _subnet(network: str) -> str:
    """A /24 per network name, away from QEMU's own 10.0.2.0/24 and Docker's 172.17-31."""
    n = int(hashlib.sha256(network.encode()).hexdigest(), 16) % 100
    return f"192.168.{100 + n}.0"


def switch_socket(store_path: str, network: str) -> str:
    return os.path.join(folder(store_path, network), "vde.ctl")


class _Locked:
    """network.json read and written under an exclusive lock: members join and leave concurrently in a batch."""

    def __init__(self, store_path: str, network: str):
        from ..store import makedirs_private

        self.dir = folder(store_path, network)
        makedirs_private(self.dir)
        self.path = os.path.join(self.dir, "network.json")
        self.network = network

    def __enter__(self) -> dict[str, Any]:
        self.lock = open(os.path.join(self.dir, ".lock"), "a")
        hostos.lock(self.lock)
        try:
            with open(self.path) as fh:
                self.data: dict[str, Any] = json.load(fh)
        except (OSError, ValueError):
            self.data = {"subnet": _subnet(self.network), "members": {}}
        return self.data

    def __exit__(self, *exc: object) -> None:
        from ..store import write_atomic

        try:
            if exc[0] is None:
                write_atomic(self.path, json.dumps(self.data, indent=2).encode(), 0o600)
        finally:
            hostos.unlock(self.lock)
            self.lock.close()


def join(store_path: str, network: str, machine: str) -> Member:
    """The machine's place on the network (the same one again if it has one)."""
    with _Locked(store_path, network) as data:
        members: dict[str, int] = data["members"]
        if machine not in members:
            taken = set(members.values())
            free = next((n for n in range(1, 240) if n not in taken), None)
            if free is None:
                raise MachineError(f"network {network} is full (239 machines)")
            members[machine] = free
        return Member(network, members[machine], data["subnet"])


def leave(store_path: str, network: str, machine: str) -> None:
    """The machine's place is freed; the last member out stops the switch and removes the network's folder."""
    path = folder(store_path, network)
    if not os.path.isdir(path):
        return
    with _Locked(store_path, network) as data:
        data["members"].pop(machine, None)
        last = not data["members"]
    if last:
        stop_switch(store_path, network)
        shutil.rmtree(path, ignore_errors=True)  # the network's own folder, inside the store


def _switch_pid(store_path: str, network: str) -> int | None:
    pidfile = os.path.join(folder(store_path, network), "vde.pid")
    try:
        with open(pidfile) as fh:
            pid = int(fh.read().strip())
    except (OSError, ValueError):
        return None
    cmdline = hostos.command_line(pid)
    # a reused pid is not our switch: it must be vde_switch on this network's socket
    return pid if cmdline and switch_socket(store_path, network).encode() in cmdline else None


def ensure_switch(store_path: str, network: str) -> str:
    """The network's switch, started if it is not running; its control socket."""
    sock = switch_socket(store_path, network)
    with _Locked(store_path, network):
        if _switch_pid(store_path, network) is None:
            binary = shutil.which("vde_switch")
            if not binary:
                raise MachineError("--qemu-network needs vde_switch: apt-get install vde2")
            net_dir = folder(store_path, network)
            shutil.rmtree(sock, ignore_errors=True)
            done = subprocess.run([binary, "-s", sock, "-d", "-p", os.path.join(net_dir, "vde.pid"),
                                   "-M", os.path.join(net_dir, "vde.mgmt"), "-m", "0700"],
                                  capture_output=True, text=True, timeout=30)
            # with -d the switch forks: the parent may exit before the daemon has written its pidfile (a busy
            # machine shows it), so the pidfile is waited for, within a bound
            import time

            for _ in range(200 if done.returncode == 0 else 0):
                if _switch_pid(store_path, network) is not None:
                    break
                time.sleep(0.05)
            if done.returncode != 0 or _switch_pid(store_path, network) is None:
                raise MachineError(f"starting the switch of network {network}: "
                                   f"{done.stderr.strip() or 'its pidfile did not appear within 10 s'}")
    return sock


def stop_switch(store_path: str, network: str) -> None:
    pid = _switch_pid(store_path, network)
    if pid is not None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def guest_config(member: Member) -> str:
    """systemd-networkd's file for the private NIC (matched by its MAC, sorted before the image's DHCP file)."""
    return (f"[Match]\nMACAddress={member.mac}\n[Network]\nAddress={member.address}/{member.prefix}\n"
            "LinkLocalAddressing=no\nIPv6AcceptRA=no\n")
