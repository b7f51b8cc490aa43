"""A login shell on a machine in a PTY over the machine's pooled SSH connection: what the app's console pane reads
from and writes to."""

from __future__ import annotations

import asyncio
from typing import Any

from .aio import wait_for
from .hostconfig import Host


class ShellSession:
    def __init__(self, process: Any):
        self._proc = process

    @classmethod
    async def open(cls, host: Host, columns: int, lines: int) -> ShellSession:
        from . import ssh
        from .drivers import driver_for
        from .ssh_target import target_of

        driver = driver_for(host)
        conn = await ssh.connection_for(await target_of(driver)).connection()
        proc = await conn.create_process(term_type="xterm-256color", term_size=(max(1, columns), max(1, lines)),
                                         encoding=None)
        return cls(proc)

    async def read(self) -> bytes:
        try:
            data: bytes = await self._proc.stdout.read(65536)
            return data
        except Exception:  # a dropped connection reads as the end of the session
            return b""

    def write(self, data: bytes) -> None:
        if data and not self._proc.stdin.is_closing():
            self._proc.stdin.write(data)

    def resize(self, columns: int, lines: int) -> None:
        try:
            self._proc.change_terminal_size(max(1, columns), max(1, lines))
        except Exception:
            pass  # the session is ending: its size no longer matters

    @property
    def exit_status(self) -> int | None:
        status: int | None = self._proc.exit_status
        return status

    def close(self) -> None:
        self._proc.close()

    async def wait_closed(self) -> None:
        try:
            await wait_for(self._proc.wait_closed(), 5)
        except (asyncio.TimeoutError, Exception):
            pass  # closing is best effort; the connection pool reaps what is left
