"""Progress of long operations, as events that the CLI and the TUI both render.

An operation receives a Reporter and calls info()/step()/progress(); front ends subscribe a callback.
Nothing here knows about terminals."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Event:
    kind: str  # "info" | "warn" | "error" | "debug" | "step" | "progress" | "done" | "failed"
    message: str = ""
    machine: str = ""
    step: str = ""  # id of the step this event belongs to
    fraction: float | None = None  # 0..1 for progress
    at: float = field(default_factory=time.monotonic)


class Reporter:
    def __init__(self, sink=None, machine: str = ""):
        self._sink = sink
        self.machine = machine
        self.events: list[Event] = []
        self.current_step = ""  # the step under way, so a failure can name it

    def emit(self, event: Event) -> None:
        if not event.machine:
            event.machine = self.machine
        self.events.append(event)
        if self._sink is not None:
            self._sink(event)

    def info(self, message: str) -> None:
        self.emit(Event("info", message))

    def warn(self, message: str) -> None:
        self.emit(Event("warn", message))

    def error(self, message: str) -> None:
        self.emit(Event("error", message))

    def debug(self, message: str) -> None:
        self.emit(Event("debug", message))

    def step(self, step: str, message: str) -> None:
        self.current_step = step
        self.emit(Event("step", message, step=step, fraction=0.0))

    def progress(self, step: str, fraction: float, message: str = "") -> None:
        self.emit(Event("progress", message, step=step, fraction=fraction))

    def done(self, step: str, message: str = "") -> None:
        self.current_step = ""
        self.emit(Event("done", message, step=step, fraction=1.0))

    def failed(self, step: str, message: str) -> None:
        self.emit(Event("failed", message, step=step))

    def for_machine(self, machine: str) -> "Reporter":
        child = Reporter(self._sink, machine)
        child.events = self.events
        return child
