"""The machine verbs and removal as the app runs them: asked first where they cost something, each in its own worker
through the application service (the CLI's door too), their lines reported as messages for the status line, the
log and the notifications. A widget with nothing to show: it lives in the screen so its workers do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work
from textual.widget import Widget

from ..core.service import Machines
from ..core.service.listing import CloudRows
from ..core.store import Store
from ..core.verbs import VERBS
from .messages import OperationReport
from .widgets import failure_text, log_action

# what a stop or a kill costs, said before it is done (unless the user turned the question off)
ASK_FIRST = {"stop": "Its containers stop with it.",
             "kill": "It is powered off at once, as a pulled plug: what it had not written is lost."}


class MachineOperations(Widget):
    """Runs verbs and removals on machines; `busy` says which machines this app is starting or stopping (their
    rows show it instead of "Timeout" while their engine comes up)."""

    DEFAULT_CSS = "MachineOperations { display: none; }"

    def __init__(self, machines: Machines, store: Store, cloud_rows: CloudRows, refresh_rows: Callable[[], Any],
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.machines, self.store, self.cloud_rows = machines, store, cloud_rows
        self.refresh_rows = refresh_rows  # the table's poll: after a change, and while a machine is busy
        self.busy: dict[str, str] = {}

    def reporter(self, name: str):
        from ..core.events import EventKind, Reporter

        def sink(event):
            if event.message and event.kind != EventKind.DEBUG and event.kind != EventKind.DONE:
                self.post_message(OperationReport(event.machine or name, event.message,
                                                  event.kind in (EventKind.ERROR, EventKind.FAILED)))

        return Reporter(sink, name)

    # ----- verbs
    def operate(self, op: str, names: list[str], ask_first: bool) -> None:
        """The verb on each machine, after a question if it costs something and the user wants to be asked."""

        def go(ok: bool | None = True) -> None:
            if not ok:
                self.notify(f"Nothing done: {', '.join(names)} not {VERBS[op].busy.lower() or op}")
                return
            for name in names:
                log_action(f"{op} {name}")
                self.run_verb(name, op)

        if names and op in ASK_FIRST and ask_first:
            from .screens import ConfirmAction

            self.app.push_screen(ConfirmAction(f"{VERBS[op].title} {', '.join(names)}?", ASK_FIRST[op]), go)
        elif names:
            go()

    @work(group="operations")
    async def run_verb(self, name: str, op: str) -> None:
        verb = VERBS[op]
        self.cloud_rows.forget(name)  # its state is changing: asked at every poll until it settles
        if verb.busy:
            self.busy[name] = verb.busy
            self.refresh_rows()
        try:
            await self.machines.run_verb(op, name, self.reporter(name))  # the same store effects as the CLI's
            self.post_message(OperationReport(name, f"{op}: done"))
        except Exception as err:  # noqa: BLE001 - any failure is this machine's report, never a crashed app
            self.post_message(OperationReport(name, failure_text(err), failed=True))
        finally:
            self.busy.pop(name, None)
        self.cloud_rows.forget(name)
        self.refresh_rows()

    # ----- removal
    def remove_asked(self, names: list[str], removed: Callable[[list[str]], None]) -> None:
        """Each machine removed once the user says yes; `removed` hears which ones are going."""

        def confirmed(ok: bool | None) -> None:
            if ok:
                for name in names:
                    log_action(f"remove {name}")
                    self.run_remove(name)
                removed(names)
            else:
                self.notify("Nothing removed")

        from .screens import ConfirmRemove

        if names:
            self.app.push_screen(ConfirmRemove(names), confirmed)

    @work(group="operations")
    async def run_remove(self, name: str) -> None:
        from ..core.store import create_problem

        try:
            # a machine whose create failed or was cut short may have nothing for its driver to remove: as rm -f
            force = self.store.exists(name) and bool(create_problem(self.store.machine_dir(name)))
            await self.machines.remove(name, force, self.reporter(name))
        except Exception as err:  # noqa: BLE001
            self.post_message(OperationReport(name, failure_text(err), failed=True))
        self.refresh_rows()
