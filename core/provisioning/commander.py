"""What a provisioner needs of a host: run a command, as the user or as root, and write a file. The machine's SSH
connection is one; tests give a fake that answers from a script (docker-machine's provisiontest idea)."""

from __future__ import annotations

from typing import Protocol

from ..remote_command import Result


class Commander(Protocol):
    async def run(self, command: str, timeout: float | None = 600, check: bool = True,
                  input: str | None = None) -> Result: ...

    async def sudo(self, command: str, timeout: float | None = 600, check: bool = True,
                   input: str | None = None) -> Result: ...

    async def write_file(self, path: str, data: str, mode: str = "0644", root: bool = True) -> None: ...
