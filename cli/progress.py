"""Rich progress bars for long CLI operations (create, provision, regenerate-certs), drawn from the core's
events: one bar per step, retries shown on the bar, messages printed above it."""

from __future__ import annotations

from ..core.events import EventKind


class RichProgressSink:
    def __init__(self, out, err, debug: bool = False):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.table import Column

        self.console = Console(file=out)
        self.err = Console(file=err, stderr=True)
        self.debug = debug
        # a narrow terminal shortens the step's text, never the bar or the time
        self.progress = Progress(SpinnerColumn(),
                                 TextColumn("{task.description}",
                                            table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")),
                                 BarColumn(bar_width=20), TimeElapsedColumn(), console=self.console, expand=True)
        self.tasks: dict[tuple[str, str], int] = {}

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def _task(self, event):
        key = (event.machine, event.step)
        if key not in self.tasks:
            label = f"[bold]{event.machine}[/] " if event.machine else ""
            self.tasks[key] = self.progress.add_task(label + (event.message or event.step), total=1.0)
        return self.tasks[key]

    def __call__(self, event) -> None:
        from ..core.logfile import log_event

        if event.message:
            log_event(event)
        kind = event.kind
        if kind == EventKind.STEP:
            self._task(event)
        elif kind == EventKind.PROGRESS:
            task = self._task(event)
            self.progress.update(task, completed=event.fraction or 0.0)
            if event.message:
                self.progress.console.print(f"  [yellow]{event.message}[/]")
        elif kind == EventKind.DONE:
            self.progress.update(self._task(event), completed=1.0)
        elif kind == EventKind.FAILED:
            self.progress.update(self._task(event), description=f"[red]{event.message}[/]")
        elif kind in (EventKind.INFO, EventKind.WARN):
            self.progress.console.print(event.message, markup=False, highlight=False)
        elif kind == EventKind.ERROR:
            self.err.print(event.message, markup=False, highlight=False)
        elif kind == EventKind.DEBUG and self.debug:
            self.err.print(event.message, markup=False, highlight=False)


class RichBatchSink:
    """One row per machine of a batch: its name, what it is doing now, a bar for the step, the time it has taken;
    at the end, ready or the failure."""

    def __init__(self, out, err, names: list[str]):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.table import Column

        self.console = Console(file=out)
        self.err = Console(file=err, stderr=True)
        width = max(map(len, names))
        self.progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.fields[machine]}",
                                                             table_column=Column(width=width, no_wrap=True)),
                                 TextColumn("{task.description}",
                                            table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")),
                                 BarColumn(bar_width=20), TimeElapsedColumn(), console=self.console, expand=True)
        self.rows = {n: self.progress.add_task("waiting for a slot", machine=n, total=1.0, start=False)
                     for n in names}
        self.started: set[str] = set()

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def __call__(self, event) -> None:
        from ..core.logfile import log_event

        if event.message:
            log_event(event)
        row = self.rows.get(event.machine)
        if row is None:
            return
        if event.machine not in self.started:
            self.started.add(event.machine)
            self.progress.start_task(row)
        kind = event.kind
        if kind == EventKind.STEP:
            self.progress.update(row, description=event.message, completed=0.0)
        elif kind == EventKind.PROGRESS:
            self.progress.update(row, completed=event.fraction or 0.0,
                                 **({"description": event.message} if event.message else {}))
        elif kind in (EventKind.INFO, EventKind.WARN):
            self.progress.update(row, description=event.message)
        # a step's end leaves the bar as it is: a full bar would stop the row's clock (Rich's finished time)

    def finish(self, name: str, error: str) -> None:
        row = self.rows[name]
        text = f"[red]{error}[/]" if error else "[green]ready[/]"
        self.progress.update(row, description=text, completed=1.0)
        self.progress.stop_task(row)
