"""A Reporter that keeps the lines a create shows (its steps, the retries of a cloud's API)."""

from __future__ import annotations

from machine_tui.core.events import Reporter


class Steps(Reporter):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)
