"""Many machines at once: a batch create (`create NAME1 NAME2...`, `create --count N PREFIX`) with a bound on how many
run together, one progress row per machine (Rich on a terminal, lines prefixed by the machine's name otherwise),
and a summary. One failure does not stop the others; the failed ones stay as Error rows that `rm` removes."""

from __future__ import annotations

import os

from ..core.errors import MachineError
from .commands import PROG
from .context import run, terminal_line


def create_batch(ctx, names: list[str], driver_name: str, values: dict, explicit: set, parallel: int) -> int:
    from ..core.hostconfig import invalid_name_message

    for name in names:
        problem = invalid_name_message(name)
        if problem:
            raise MachineError(f"Error creating machine {name!r}: {problem}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise MachineError(f"Each machine of a batch needs its own name: {', '.join(twice)} given twice")
    tls = ctx.tls_files()
    context = not values.get("no-docker-context")

    async def batch(reporter_for, finished) -> dict[str, str]:
        # Ctrl-C or SIGTERM: the creates under way leave nothing half-made; the finished ones stay
        return await ctx.machines.create_many(names, driver_name, values, reporter_for, finished, parallel, tls,
                                              context, set(explicit), say=terminal_line(ctx), prog=PROG)

    with batch_reporters(ctx, names) as (reporter_for, finished):
        failures = run(batch(reporter_for, finished))
    made = [n for n in names if n not in failures]
    ctx.say(f"Created {len(made)} of {len(names)} machines" + (f": {', '.join(made)}" if made else ""))
    for name, error in failures.items():
        ctx.warn(f"{name}: {error}")
    if failures:
        from ..core.store import create_problem

        # only what this batch left half-made is offered for removal (a name that was taken is someone else's)
        left = [n for n in failures if ctx.store.exists(n) and create_problem(ctx.store.machine_dir(n))]
        advice = f". Remove what they left with: {PROG} rm -f {' '.join(left)}" if left else ""
        raise MachineError(f"{len(failures)} of {len(names)} machines failed: {', '.join(failures)}{advice}")
    ctx.say(f"To connect your Docker Client to one of them, run: {PROG} env NAME")
    return 0


def batch_reporters(ctx, names: list[str]):
    """(reporter_for(name), finished(name, error)): Rich rows on a terminal, prefixed lines otherwise."""
    import contextlib

    if hasattr(ctx.out, "isatty") and ctx.out.isatty() and not os.environ.get("NO_COLOR"):
        from .progress import RichBatchSink

        @contextlib.contextmanager
        def rows():
            from ..core.events import Reporter

            with RichBatchSink(ctx.out, ctx.err, names) as sink:
                yield (lambda name: Reporter(sink, name)), sink.finish

        return rows()
    return contextlib.nullcontext((lambda name: _prefixed(ctx, name, max(map(len, names))),
                                   lambda name, error: ctx.say(f"{name.ljust(max(map(len, names)))}  "
                                                               + ("failed" if error else "ready"))))


def _prefixed(ctx, name: str, width: int):
    """A Reporter whose lines start with the machine's name, so a log of a batch reads per machine."""
    from ..core.events import EventKind, Reporter

    shown: dict[str, int] = {}
    label = name.ljust(width)

    def sink(event):
        if event.kind == EventKind.PROGRESS and event.message and event.fraction:
            tenth = int(event.fraction * 10)
            if shown.get(event.step) == tenth:
                return
            shown[event.step] = tenth
        if event.kind in (EventKind.INFO, EventKind.WARN, EventKind.STEP) or \
                (event.kind == EventKind.PROGRESS and event.message):
            ctx.say(f"{label}  {event.message}")
        elif event.kind == EventKind.ERROR or (event.kind == EventKind.DEBUG and ctx.debug):
            ctx.warn(f"{label}  {event.message}")
        if event.message:
            from ..core.logfile import log_event

            log_event(event)

    return Reporter(sink, name)
