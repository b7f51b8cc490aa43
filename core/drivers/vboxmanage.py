"""Talking to VirtualBox through its `VBoxManage` program, as docker-machine does: every call retried while
VirtualBox says `The object is not ready`, and `error:` on stderr is a failure even with exit status 0."""

from __future__ import annotations

import asyncio
import os
import re
import shutil

from ..errors import MachineError

NOT_FOUND = "VBoxManage not found. Make sure VirtualBox is installed and VBoxManage is in the path"


class VBoxError(MachineError):
    def __init__(self, message: str, stderr: str = ""):
        super().__init__(message)
        self.stderr = stderr


def find_vboxmanage() -> str:
    for name in ("VBoxManage", "vboxmanage"):
        path = shutil.which(name)
        if path:
            return path
    for folder in (os.environ.get("VBOX_INSTALL_PATH", ""), os.environ.get("VBOX_MSI_INSTALL_PATH", "")):
        if folder and os.path.exists(os.path.join(folder, "VBoxManage.exe")):
            return os.path.join(folder, "VBoxManage.exe")
    raise MachineError(NOT_FOUND)


class VBoxManage:
    def __init__(self, binary: str | None = None, log=None):
        self.binary = binary or find_vboxmanage()
        self.log = log  # a callable receiving each command line (--debug)

    async def run(self, *args: str, stdin=None) -> str:
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
                raise VBoxError(f"{os.path.basename(self.binary)} {' '.join(args)} failed:\n{errtext.strip()}", errtext)
            return text
        raise VBoxError("VirtualBox kept saying the object is not ready")

    async def version(self) -> tuple[str, tuple[int, ...]]:
        raw = (await self.run("--version")).strip()
        nums = tuple(int(n) for n in re.findall(r"\d+", raw.split("r")[0].split("_")[0])[:3])
        return raw, nums

    async def vm_info(self, name: str) -> dict[str, str]:
        """`showvminfo --machinereadable` as a dict; raises VBoxError (with "Could not find") for a missing VM."""
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


async def _feed(proc, chunks) -> None:
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
    out, cur = [], {}
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
