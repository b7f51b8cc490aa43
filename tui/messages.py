"""What the main screen's workers tell it: machine rows, an operation's lines, a create's steps."""

from __future__ import annotations

from textual.message import Message

from ..core.service.listing import Row


class OperationReport(Message):
    """A line from a running operation (start, stop, provision...), for the status bar and the log."""

    def __init__(self, machine: str, text: str, failed: bool = False) -> None:
        super().__init__()
        self.machine, self.text, self.failed = machine, text, failed


class CreateProgress(Message):
    def __init__(self, machine: str, step: str, text: str, finished: bool = False, failed: bool = False,
                 fraction: float = 0.0) -> None:
        super().__init__()
        self.machine, self.step, self.text, self.finished, self.failed = machine, step, text, finished, failed
        self.fraction = fraction  # how far into the step, where it is measured


class MachinesUpdated(Message):
    def __init__(self, rows: list[Row], error: str = "") -> None:
        super().__init__()
        self.rows = rows
        self.error = error
