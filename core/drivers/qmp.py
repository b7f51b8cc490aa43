"""QEMU's machine protocol (QMP) over the VM's unix socket: one command per connection, as the driver needs no
events. Kept apart from the driver so anything that speaks to a running QEMU uses one client."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from ..aio import wait_for


async def qmp_command(socket_path: str, command: str, timeout: float = 5.0) -> dict[str, Any]:
    """Negotiate capabilities, send `command`, return its reply ({"return": ...} or {"error": ...}); {} when QEMU
    closed the socket first (a quit answers that way)."""
    if sys.platform == "win32":  # QEMU's monitor is a unix socket here; Windows has no QEMU driver of ours yet
        raise OSError(f"QMP over {socket_path}: no unix sockets on Windows")
    reader, writer = await wait_for(asyncio.open_unix_connection(socket_path), timeout)
    reply: dict[str, Any] = {}
    try:
        await wait_for(reader.readline(), timeout)  # the greeting
        for cmd in ("qmp_capabilities", command):
            writer.write(json.dumps({"execute": cmd}).encode() + b"\n")
            await writer.drain()
            while True:
                reply = json.loads(await wait_for(reader.readline(), timeout) or b"{}")
                if "return" in reply or "error" in reply or not reply:
                    break  # anything else is an asynchronous event
        return reply
    finally:
        writer.close()
