"""A scripted stand-in for a machine's SSH connection (docker-machine's provisiontest idea): each command is
answered by the first rule whose pattern it matches, every command and file is recorded, and an unanswered
command fails the test instead of passing silently."""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Callable

from machine_tui.core.remote_command import CommandFailed, Result

Answer = str | Result | Callable[[str], "str | Result"]


class FakeHost:
    def __init__(self, rules: list[tuple[str, Answer]] | None = None):
        self.rules: list[tuple[re.Pattern, Answer | list[Answer]]] = []
        self.commands: list[tuple[str, str]] = []  # (as whom: "user" | "root", command)
        self.files: dict[str, tuple[str, str]] = {}  # path -> (content, mode)
        for pattern, answer in rules or []:
            self.answer(pattern, answer)

    def answer(self, pattern: str, answer: Answer | list[Answer]) -> FakeHost:
        """Commands matching `pattern` (a regex, searched) print `answer`, or give that Result, or what a function
        of the command returns; a list answers one at a time, its last item from then on. Later rules win."""
        self.rules.insert(0, (re.compile(pattern), list(answer) if isinstance(answer, list) else answer))
        return self

    def _result(self, command: str) -> Result:
        for pattern, answer in self.rules:
            if pattern.search(command):
                if isinstance(answer, list):
                    answer = answer.pop(0) if len(answer) > 1 else answer[0]
                if callable(answer):  # an answer made when asked, from what the host holds by then
                    answer = answer(command)
                return answer if isinstance(answer, Result) else Result(0, answer, "")
        raise AssertionError(f"the fake host has no answer for: {command}")

    async def run(self, command: str, timeout: float | None = 600, check: bool = True,
                  input: str | None = None) -> Result:
        await asyncio.sleep(0)  # a command is a round trip: other work of the caller's goes on meanwhile
        return self._do("user", command, check, input)

    async def sudo(self, command: str, timeout: float | None = 600, check: bool = True,
                   input: str | None = None) -> Result:
        await asyncio.sleep(0)
        return self._do("root", command, check, input)

    def _do(self, who: str, command: str, check: bool, input: str | None) -> Result:
        self.commands.append((who, command))
        written = re.fullmatch(r"mkdir -p \S+ && cat > (\S+) && chmod (\d+) \S+", command)
        if written:
            self.files[shlex.split(written.group(1))[0]] = (input or "", written.group(2))
            return Result(0, "", "")
        result = self._result(command)
        if check and result.exit_status != 0:
            raise CommandFailed(command, result)
        return result

    async def write_file(self, path: str, data: str, mode: str = "0644", root: bool = True) -> None:
        self.commands.append(("root" if root else "user", f"write {path}"))
        self.files[path] = (data, mode)

    def ran(self, pattern: str) -> list[str]:
        return [c for _, c in self.commands if re.search(pattern, c)]
