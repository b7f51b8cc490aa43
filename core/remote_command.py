"""A command run on a machine: its result, and the error a failed one raises (the same whatever runs it)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import MachineError


@dataclass
class Result:
    exit_status: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class CommandFailed(MachineError):
    def __init__(self, command: str, result: Result):
        self.result = result
        detail = result.output.strip().splitlines()
        tail = detail[-1] if detail else ""
        super().__init__(f"command `{short(command)}` exited with status {result.exit_status}: {tail}".rstrip(": "))


def short(command: str, limit: int = 80) -> str:
    one = " ".join(command.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
