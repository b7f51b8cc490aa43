"""Progress of long operations, as events that the CLI and the TUI both render.

An operation receives a Reporter and calls info()/step()/progress(); front ends subscribe a callback.
Nothing here knows about terminals."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable


class EventKind(enum.StrEnum):
    INFO = "info"  # a line for the user
    WARN = "warn"
    ERROR = "error"
    DEBUG = "debug"  # shown with --debug only
    STEP = "step"  # a step begins (its id in Event.step)
    PROGRESS = "progress"  # a step's fraction done
    DONE = "done"  # a step finished
    FAILED = "failed"  # a step failed (the message says why)


class Event:
    """One report of an operation. A plain class, not a dataclass: `env`, `url` and the other quick commands load
    this module, and dataclasses brings `inspect` (some 10 ms of their start)."""

    __slots__ = ("kind", "message", "machine", "step", "fraction", "at")

    def __init__(self, kind: EventKind, message: str = "", machine: str = "", step: str = "",
                 fraction: float | None = None, at: float | None = None):
        self.kind, self.message, self.machine = kind, message, machine
        self.step = step  # id of the step this event belongs to
        self.fraction = fraction  # 0..1 for progress
        self.at = time.monotonic() if at is None else at

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return "Event(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__) + ")"


class Reporter:
    def __init__(self, sink: Callable[[Event], None] | None = None, machine: str = ""):
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
        self.emit(Event(EventKind.INFO, message))

    def warn(self, message: str) -> None:
        self.emit(Event(EventKind.WARN, message))

    def error(self, message: str) -> None:
        self.emit(Event(EventKind.ERROR, message))

    def debug(self, message: str) -> None:
        self.emit(Event(EventKind.DEBUG, message))

    def step(self, step: str, message: str) -> None:
        self.current_step = step
        self.emit(Event(EventKind.STEP, message, step=step, fraction=0.0))

    def progress(self, step: str, fraction: float, message: str = "") -> None:
        self.emit(Event(EventKind.PROGRESS, message, step=step, fraction=fraction))

    def done(self, step: str, message: str = "") -> None:
        self.current_step = ""
        self.emit(Event(EventKind.DONE, message, step=step, fraction=1.0))

    def failed(self, step: str, message: str) -> None:
        self.emit(Event(EventKind.FAILED, message, step=step))

    def for_machine(self, machine: str) -> Reporter:
        child = Reporter(self._sink, machine)
        child.events = self.events
        return child
