"""Talking to VirtualBox through its `VBoxManage` program, as docker-machine does: every call retried while
VirtualBox says `The object is not ready`, and `error:` on stderr is a failure even with exit status 0."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from ...errors import MachineError
from .backend import VBoxError, VMSpec

NOT_FOUND = "VBoxManage not found. Make sure VirtualBox is installed and VBoxManage is in the path"
QEMU_HINT = " (or use -d qemu: QEMU is installed on this host)"


def find_vboxmanage() -> str:
    for name in ("VBoxManage", "vboxmanage"):
        path = shutil.which(name)
        if path:
            return path
    for candidate in installed_vboxmanage():
        if os.path.exists(candidate):
            return candidate
    raise MachineError(NOT_FOUND + (QEMU_HINT if shutil.which("qemu-system-x86_64") else ""))


def installed_vboxmanage() -> list[str]:
    """Where VirtualBox's installer puts VBoxManage when PATH does not lead to it, as docker-machine looks: on Windows
    the folders its installer names in the environment, then its default folder; on macOS inside the app bundle."""
    if sys.platform == "win32":
        folders = [os.environ.get("VBOX_INSTALL_PATH", ""), os.environ.get("VBOX_MSI_INSTALL_PATH", ""),
                   os.path.join(os.environ.get("ProgramFiles", r"C:\Program Files"), "Oracle", "VirtualBox")]
        return [os.path.join(folder, "VBoxManage.exe") for folder in folders if folder]
    if sys.platform == "darwin":
        return ["/Applications/VirtualBox.app/Contents/MacOS/VBoxManage", "/usr/local/bin/VBoxManage"]
    return [os.path.join(folder, "VBoxManage.exe") for folder in
            (os.environ.get("VBOX_INSTALL_PATH", ""), os.environ.get("VBOX_MSI_INSTALL_PATH", "")) if folder]


class VBoxManage:
    """The VBoxManage path: each operation is the command line docker-machine runs for it."""

    def __init__(self, binary: str | None = None, log: Callable[..., None] | None = None) -> None:
        self.binary = binary or find_vboxmanage()
        self.log = log  # a callable receiving each command line (--debug)

    def describe(self) -> str:
        return f"VBoxManage ({self.binary})"

    async def run(self, *args: str, stdin: Any | None = None) -> str:
        """stdout of `VBoxManage args`; `stdin` may be bytes or an async iterator of bytes (a streamed disk)."""
        for attempt in range(5):
            if self.log:
                self.log(f"COMMAND: {self.binary} {' '.join(args)}")
            proc = await asyncio.create_subprocess_exec(
                self.binary, *args, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            if stdin is None or isinstance(stdin, bytes):
                out, err = await proc.communicate(stdin)
            else:
                feeding = asyncio.ensure_future(_feed(proc, stdin))
                out, err = await proc.communicate()
                await feeding
            text, errtext = out.decode(errors="replace"), err.decode(errors="replace")
            if "error: The object is not ready" in errtext and attempt < 4:
                await asyncio.sleep(0.1)
                continue
            if proc.returncode != 0 or "error:" in errtext:
                command = f"{os.path.basename(self.binary)} {' '.join(args)}"
                raise VBoxError.of(f"{command} failed:\n{errtext.strip()}", errtext)
            return text
        raise VBoxError("VirtualBox kept saying the object is not ready")

    async def version(self) -> tuple[str, tuple[int, ...]]:
        raw = (await self.run("--version")).strip()
        nums = tuple(int(n) for n in re.findall(r"\d+", raw.split("r")[0].split("_")[0])[:3])
        return raw, nums

    async def vm_info(self, name: str) -> dict[str, str]:
        """`showvminfo --machinereadable` as a dict; raises VMNotRegistered for a missing VM."""
        out = await self.run("showvminfo", name, "--machinereadable")
        info = {}
        for line in out.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                info[key.strip('"')] = value.strip().strip('"')
        return info

    async def hostonly_ifs(self) -> list[dict[str, str]]:
        return _blocks(await self.run("list", "hostonlyifs"))

    async def dhcp_servers(self) -> list[dict[str, str]]:
        return _blocks(await self.run("list", "dhcpservers"))

    # ----- operations (the driver's vocabulary; vboxmain.VBoxMain answers the same through the Main API)
    async def make_disk(self, path: str, size: int, head: bytes) -> None:
        """A dynamic VMDK of `size` bytes starting with `head` (boot2docker's userdata tar)."""
        await self.run("convertfromraw", "stdin", path, str(size), "--format", "VMDK", stdin=_disk_stream(head, size))

    async def clone_disk(self, source: str, target: str) -> None:
        await self.run("clonehd", source, target)

    async def create_vm(self, spec: VMSpec) -> None:
        name = spec.name
        await self.run("createvm", "--basefolder", spec.basefolder, "--name", name, "--register")
        await self.run("modifyvm", name, "--firmware", "bios", "--bioslogofadein", "off", "--bioslogofadeout", "off",
                       "--bioslogodisplaytime", "0", "--biosbootmenu", "disabled", "--ostype", "Linux26_64",
                       "--cpus", str(spec.cpus), "--memory", str(spec.memory), "--acpi", "on", "--ioapic", "on",
                       "--rtcuseutc", "on", "--natdnshostresolver1", "on" if spec.host_dns_resolver else "off",
                       "--natdnsproxy1", "on" if spec.dns_proxy else "off", "--cpuhotplug", "off", "--pae", "on",
                       "--hpet", "on", "--hwvirtex", "on", "--nestedpaging", "on", "--largepages", "on",
                       "--vtxvpid", "on", "--accelerate3d", "off", "--boot1", spec.boot)
        await self.run("modifyvm", name, "--nic1", "nat", "--nictype1", spec.nat_nictype, "--cableconnected1", "on",
                       *(("--macaddress1", spec.mac) if spec.mac else ()))
        await self.run("storagectl", name, "--name", "SATA", "--add", "sata", "--hostiocache", "on")
        await self.run("storageattach", name, "--storagectl", "SATA", "--port", "0", "--device", "0", "--type",
                       "dvddrive", "--medium", spec.iso)
        await self.run("storageattach", name, "--storagectl", "SATA", "--port", "1", "--device", "0", "--type",
                       "hdd", "--medium", spec.disk)
        await self.run("guestproperty", "set", name, "/VirtualBox/GuestAdd/SharedFolders/MountPrefix", "/")
        await self.run("guestproperty", "set", name, "/VirtualBox/GuestAdd/SharedFolders/MountDir", "/")
        if spec.share:
            folder, share_name = spec.share
            await self.run("sharedfolder", "add", name, "--name", share_name, "--hostpath", folder, "--automount")
            await self.run("setextradata", name, f"VBoxInternal2/SharedFoldersEnableSymlinksCreate/{share_name}", "1")

    async def forward_ssh(self, name: str, port: int) -> None:
        try:
            await self.run("modifyvm", name, "--natpf1", "delete", "ssh")
        except VBoxError:
            pass  # no rule yet
        await self.run("modifyvm", name, "--natpf1", f"ssh,tcp,127.0.0.1,{port},,22")

    async def start_vm(self, name: str, ui_type: str) -> None:
        await self.run("startvm", name, "--type", ui_type)

    async def resume_vm(self, name: str, ui_type: str) -> None:
        await self.run("controlvm", name, "resume", "--type", ui_type)

    async def press_power_button(self, name: str) -> None:
        await self.run("controlvm", name, "acpipowerbutton")

    async def power_off(self, name: str) -> None:
        await self.run("controlvm", name, "poweroff")

    async def delete_vm(self, name: str) -> None:
        await self.run("unregistervm", "--delete", name)

    async def create_hostonly_if(self) -> str | None:
        out = await self.run("hostonlyif", "create")
        m = re.search(r"Interface '(.+?)' was successfully created", out)
        return m.group(1) if m else None

    async def configure_hostonly_if(self, nic: str, ip: str, mask: str) -> None:
        await self.run("hostonlyif", "ipconfig", nic, "--ip", ip, "--netmask", mask)

    async def remove_dhcp_server(self, netname: str) -> None:
        await self.run("dhcpserver", "remove", "--netname", netname)

    async def set_dhcp_server(self, netname: str, ip: str, mask: str, lower: str, upper: str, exists: bool) -> None:
        await self.run("dhcpserver", "modify" if exists else "add", "--netname", netname, "--ip", ip,
                       "--netmask", mask, "--lowerip", lower, "--upperip", upper, "--enable")

    async def attach_hostonly(self, name: str, nic: str, nictype: str, promisc: str, mac: str = "") -> None:
        await self.run("modifyvm", name, "--nic2", "hostonly", "--nictype2", nictype, "--nicpromisc2", promisc,
                       "--hostonlyadapter2", nic, "--cableconnected2", "on", *(("--macaddress2", mac) if mac else ()))

    async def import_disk(self, image: str, fmt: str, target: str) -> None:
        """A VDI made from a cloud image (raw images are converted, others cloned by VirtualBox's own readers)."""
        if fmt == "raw":
            await self.run("convertfromraw", image, target, "--format", "VDI")
        else:
            await self.run("clonemedium", "disk", image, target, "--format", "VDI")

    async def resize_disk(self, path: str, megabytes: int) -> None:
        await self.run("modifymedium", "disk", path, "--resize", str(megabytes))


async def _disk_stream(head: bytes, size: int) -> AsyncIterator[bytes]:
    """`head` then zeros up to `size` bytes, in chunks, so a 20 GB disk never sits in memory."""
    yield head
    left = size - len(head)
    zeros = bytes(1 << 20)
    while left > 0:
        n = min(left, len(zeros))
        yield zeros[:n]
        left -= n


async def _feed(proc: Any, chunks: Any) -> None:
    try:
        async for chunk in chunks:
            proc.stdin.write(chunk)
            await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        try:
            proc.stdin.close()
        except Exception:
            pass


def _blocks(text: str) -> list[dict[str, str]]:
    """VBoxManage's `list` output: `Key:   value` lines, records separated by blank lines."""
    out: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if cur:
                out.append(cur)
                cur = {}
            continue
        key, sep, value = line.partition(":")
        if sep:
            cur[key.strip()] = value.strip()
    if cur:
        out.append(cur)
    return out
