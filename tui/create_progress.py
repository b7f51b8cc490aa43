"""The creates of an app, and their progress: the panel runs each create (and a swarm cluster's, the first manager
before the others) in its own workers through the application service, and shows a row per machine being created (a
label and a bar over the driver's steps), a row of its own for a member's swarm step, and rows that leave once seen
long enough. Each report also travels up as a CreateProgress message, for the screen's log and notifications."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual import work
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, ProgressBar

from .messages import CreateProgress
from .widgets import failure_text, log_action

if TYPE_CHECKING:
    from ..core.service import Machines
    from ..core.store import Store


class CreateProgressPanel(Vertical):
    # how long a finished create's row stays in sight once no create runs (a batch's rows go together), and a
    # failed or cancelled one (its machine's Error row and the log `l` keep saying why)
    ROW_LINGER, FAILED_ROW_LINGER = 8.0, 30.0

    def __init__(self, machines: Machines, store: Store, settled: Callable[[], object], **kwargs: Any):
        super().__init__(**kwargs)
        self.machines, self.store = machines, store
        self.settled = settled  # called as each create ends: the machine table asks the store again
        self.creates: dict[str, Any] = {}  # machine -> its create worker
        self.created: set[str] = set()  # creates this app saw succeed
        self.clusters_pending = 0  # clusters whose members are still to be started
        self.progress: dict[str, tuple[list[str], set[str]]] = {}  # machine -> (its create's steps, those done)
        self.finished_rows: dict[str, tuple[float, bool]] = {}  # rows done -> (when, failed)

    # ----- running creates
    def busy(self) -> bool:
        """A create still runs (or waits its turn): finished rows stay until none does."""
        return bool(self.clusters_pending) or any(w.is_running for w in self.creates.values())

    def start(self, request) -> None:
        log_action(f"create {request.name} (driver {request.driver})")
        self.add_request(request, "starting")
        self.creates[request.name] = self.run_create(request)

    def add_request(self, request, text: str) -> None:
        from ..core.service.catalog import create_steps

        self.created.discard(request.name)
        self.add(request.name, create_steps(request.driver), text, request.values.get("swarm-mode") or "",
                 request.values.get("swarm-mode-join") or "")

    def start_cluster(self, cluster) -> None:
        """A Swarm-mode cluster: the first manager, then the others join it (their rows show from the start)."""
        first, *rest = cluster.members()
        log_action(f"create cluster {cluster.prefix}: {cluster.managers} managers, {cluster.workers} workers "
                   f"(driver {cluster.driver})")
        self.clusters_pending += 1
        self.start(first)
        for member in rest:
            self.add_request(member, f"waiting for {first.name} to be the swarm's manager")
        self.follow_cluster(first, rest)

    def cancel_latest(self) -> str:
        """The latest running create cancelled (it removes what it made); its name, or "" when none runs."""
        running = [(n, w) for n, w in self.creates.items() if w.is_running]
        if not running:
            return ""
        name, worker = running[-1]
        worker.cancel()
        return name

    @work(group="clusters")
    async def follow_cluster(self, first, rest) -> None:
        from ..core.store import create_problem

        try:
            await self.creates[first.name].wait()
        except Exception:  # noqa: BLE001 - cancelled or failed: the manager's own row says why
            pass
        made = first.name in self.created and self.store.exists(first.name) and \
            not create_problem(self.store.machine_dir(first.name))
        self.clusters_pending -= 1
        if not made:
            for member in rest:
                self.say(member.name, f"not created: {first.name} did not become the manager", failed=True)
            return
        for member in rest:  # they join one manager: the joins go one after the other inside the engine
            self.start(member)

    @work(group="creates")
    async def run_create(self, request) -> None:
        import asyncio

        from ..core.errors import MachineError
        from ..core.events import EventKind, Reporter

        def sink(event):
            shown = event.kind in (EventKind.STEP, EventKind.DONE, EventKind.PROGRESS, EventKind.INFO)
            if shown and (event.message or event.kind == EventKind.DONE):
                self.post_message(CreateProgress(request.name, event.step if event.kind != EventKind.INFO else "",
                                                 event.message, finished=event.kind == EventKind.DONE,
                                                 fraction=event.fraction or 0.0))

        try:
            # cancelled (`z`, the app closing), it leaves nothing half-made: the machine goes, whatever it reached
            await self.machines.create(request.name, request.driver, request.values, Reporter(sink, request.name),
                                       explicit=request.explicit, context=not request.values.get("no-docker-context"))
            self.created.add(request.name)
            self.post_message(CreateProgress(request.name, "", "created", finished=True))
        except asyncio.CancelledError:
            self.post_message(CreateProgress(request.name, "", "cancelled: removed", failed=True))
            raise
        except (MachineError, OSError, ValueError) as err:
            self.post_message(CreateProgress(request.name, "", failure_text(err), failed=True))
        except Exception as err:  # noqa: BLE001 - a driver's bug fails its own create, never the app
            self.post_message(CreateProgress(request.name, "", f"{type(err).__name__}: {err}", failed=True))
        finally:
            self.settled()

    def on_create_progress(self, message: CreateProgress) -> None:
        if self.show(message) == "failed":  # the message goes on up: the screen logs it and says a failure
            log_action(f"create {message.machine}: {message.text}", error=True)

    # ----- the rows

    def add(self, name: str, steps: list[str], text: str, swarm_role: str = "", manager: str = "") -> None:
        """The row of a machine being created, made once (a cluster shows its members' rows first)."""
        self.finished_rows.pop(name, None)  # the same name again: its row is in use once more
        self.progress[name] = (steps, set())
        if self.query(f"#op-{name}"):
            label = self.query_one(f"#op-label-{name}", Label)
            label.update(f"{name}: {text}")
            label.remove_class("failed")
            return
        rows = [Horizontal(Label(f"{name}: {text}", id=f"op-label-{name}", classes="op-label"),
                           ProgressBar(total=len(steps), show_eta=False, id=f"op-bar-{name}"),
                           id=f"op-{name}", classes="op")]
        if swarm_role:  # the swarm step has a row of its own, under the machine's
            what = f"join {manager}'s swarm as a {swarm_role}" if manager else "start the swarm as its manager"
            rows.append(Horizontal(Label(f"{name} swarm: will {what}", id=f"op-label-{name}-swarm",
                                         classes="op-label swarm-step"),
                                   ProgressBar(total=1, show_eta=False, id=f"op-bar-{name}-swarm"),
                                   id=f"op-{name}-swarm", classes="op"))
        self.mount(*rows)

    def say(self, name: str, text: str, failed: bool = False) -> None:
        """A row's words without a create behind them (a cluster member that waits, or will not be made)."""
        if self.query(f"#op-label-{name}"):
            label = self.query_one(f"#op-label-{name}", Label)
            label.update(f"{name}: {text}")
            label.set_class(failed, "failed")
        if failed:
            self.finished(name, failed=True)

    def show(self, message: CreateProgress) -> str:
        """What a create reported, on its row: "failed", "created", or "" while it runs."""
        if message.machine not in self.progress or not self.query(f"#op-label-{message.machine}"):
            return ""
        label = self.query_one(f"#op-label-{message.machine}", Label)
        bar = self.query_one(f"#op-bar-{message.machine}", ProgressBar)
        steps, done = self.progress[message.machine]
        in_swarm = "swarm" in done and "swarm-done" not in done and message.text != "created"
        if message.step == "swarm" or in_swarm:
            self.show_swarm_step(message, done)
            if not message.failed:
                return ""
        if message.finished and message.step in steps:
            done.add(message.step)
            bar.update(progress=len(done & set(steps)))
        elif message.step in steps and message.fraction:  # within a step: its measured part
            bar.update(progress=len(done & set(steps)) + message.fraction)
        if message.text:
            label.update(f"{message.machine}: {message.text.splitlines()[0]}")
        if message.failed:
            label.add_class("failed")
            self.finished(message.machine, failed=True)
            return "failed"
        if message.text == "created":
            bar.update(progress=len(steps))
            label.update(f"{message.machine}: created")
            self.finished(message.machine, failed=False)
            return "created"
        return ""

    def show_swarm_step(self, message: CreateProgress, done: set[str]) -> None:
        """The swarm init or join that follows a member's create: its own row."""
        name = message.machine
        label = self.query_one(f"#op-label-{name}-swarm", Label)
        done.add("swarm")  # started: a failure from here on is the swarm's
        if message.failed:
            label.update(f"{name} swarm: {message.text.splitlines()[0]}")
            label.add_class("failed")
        elif message.finished:
            done.add("swarm-done")
            self.query_one(f"#op-bar-{name}-swarm", ProgressBar).update(progress=1)
            label.update(f"{name} swarm: {message.text or 'done'}")
        elif message.text:
            label.update(f"{name} swarm: {message.text.splitlines()[0]}")

    def finished(self, name: str, failed: bool) -> None:
        self.finished_rows[name] = (time.monotonic(), failed)
        self.set_timer(self.FAILED_ROW_LINGER if failed else self.ROW_LINGER, self.sweep)

    def sweep(self) -> None:
        """Finished rows leave once they have been seen long enough and no create is running."""
        if not self.is_attached or self.busy():
            return  # the last create to finish schedules the sweep again
        now = time.monotonic()
        for name, (at, failed) in list(self.finished_rows.items()):
            if now - at >= (self.FAILED_ROW_LINGER if failed else self.ROW_LINGER) - 0.01:
                del self.finished_rows[name]
                for row in self.query(f"#op-{name}, #op-{name}-swarm"):
                    row.remove()
        if self.finished_rows:  # the others, when their time comes
            self.set_timer(min((self.FAILED_ROW_LINGER if failed else self.ROW_LINGER) - (now - at)
                               for at, failed in self.finished_rows.values()) + 0.05, self.sweep)
