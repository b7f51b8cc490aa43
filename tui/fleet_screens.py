"""Screens for many machines at once: the swarm a machine belongs to (its nodes and services, drain and activate by
key), and a command run across the marked machines with a pane of output per machine."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static, TabbedContent, TabPane

from ..core.errors import MachineError
from ..core.events import Reporter
from ..core.store import Store


class ClusterScreen(ModalScreen[None]):
    """The swarm of a manager: its nodes (role, leader, availability, status, engine, address) and services
    (replicas running/desired). `d` drains the node under the cursor, `a` activates it, `r` refreshes."""

    BINDINGS = [Binding("escape,q", "close", "Close", id="cluster-close"),
                Binding("d", "availability('drain')", "Drain node", id="cluster-drain"),
                Binding("a", "availability('active')", "Activate node", id="cluster-activate"),
                Binding("r", "refresh", "Refresh", id="cluster-refresh")]

    def __init__(self, store: Store, manager: str):
        super().__init__()
        self.store, self.manager = store, manager

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"[b]Swarm of {self.manager}[/]  (d drain, a activate, r refresh, Escape close)")
            nodes: DataTable[str] = DataTable(id="cluster-nodes", cursor_type="row")
            for col in ("MACHINE", "ROLE", "LEADER", "AVAILABILITY", "STATUS", "ENGINE", "ADDRESS"):
                nodes.add_column(col, key=col)
            yield nodes
            services: DataTable[str] = DataTable(id="cluster-services", cursor_type="row")
            services.add_column("SERVICE", key="SERVICE")
            services.add_column("REPLICAS", key="REPLICAS")
            yield services
            yield Label("", id="cluster-status", markup=False)

    def on_mount(self) -> None:
        self.action_refresh()
        self.query_one("#cluster-nodes", DataTable).focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_refresh(self) -> None:
        self.load()

    @work(exclusive=True, group="cluster")
    async def load(self) -> None:
        from ..core.service import swarm

        status = self.query_one("#cluster-status", Label)
        try:
            found = await swarm.nodes(self.store, self.manager)
            services = await swarm.services(self.store, self.manager)
        except MachineError as err:
            status.update(str(err))
            return
        nodes = self.query_one("#cluster-nodes", DataTable)
        keep = nodes.cursor_row
        nodes.clear()
        for n in found:
            nodes.add_row(n.machine, n.role, "*" if n.leader else "", n.availability, n.status, n.engine, n.address,
                          key=n.machine)
        if found:
            nodes.move_cursor(row=min(keep, len(found) - 1))
        table = self.query_one("#cluster-services", DataTable)
        table.clear()
        for s in services:
            table.add_row(s["name"], f"{s['running']}/{s['desired']}", key=s["id"] or s["name"])
        ready = sum(n.status == "ready" for n in found)
        status.update(f"{len(found)} nodes, {ready} ready; {len(services)} services")

    def action_availability(self, availability: str) -> None:
        nodes = self.query_one("#cluster-nodes", DataTable)
        if not nodes.row_count:
            return
        machine = str(nodes.coordinate_to_cell_key(nodes.cursor_coordinate).row_key.value)
        self.set_availability(machine, availability)

    @work(group="cluster-change")
    async def set_availability(self, machine: str, availability: str) -> None:
        from ..core.service import swarm

        status = self.query_one("#cluster-status", Label)
        try:
            await swarm.set_availability(self.store, self.manager, machine, availability, Reporter())
            status.update(f"{machine} is now {availability}")
        except MachineError as err:
            status.update(str(err))
        self.load()


class RunScreen(ModalScreen[None]):
    """A command for the marked machines: typed, then run on each over its SSH connection, its output in a pane per
    machine, each pane titled with the machine and its exit status as it comes."""

    BINDINGS = [Binding("escape", "close", "Close", id="run-close")]

    def __init__(self, store: Store, names: list[str]):
        super().__init__()
        self.store, self.names = store, names

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"[b]Run on {', '.join(self.names)}[/]  (Enter to run, Escape to close)")
            yield Input(placeholder="command, e.g. uptime; df -h /", id="run-command")
            with TabbedContent(id="run-output"):
                for name in self.names:
                    with TabPane(name, id=f"run-pane-{name}"):
                        yield Static("", id=f"run-text-{name}", markup=False)
            yield Label("", id="run-status", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.run_command(event.value.strip())

    def action_close(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, group="run")
    async def run_command(self, command: str) -> None:
        from ..core.service.fleet import run_on_machines

        status = self.query_one("#run-status", Label)
        status.update(f"Running on {len(self.names)} machines…")
        for name in self.names:
            self.query_one(f"#run-text-{name}", Static).update("…")

        def done(outcome) -> None:
            text = outcome.stdout + outcome.stderr
            head = f"error: {outcome.error}" if outcome.error else f"exit {outcome.exit_status}"
            self.query_one(f"#run-text-{outcome.machine}", Static).update(f"[{head}, {outcome.seconds:.1f} s]\n"
                                                                         + text)
            tabs = self.query_one("#run-output", TabbedContent)
            tabs.get_tab(f"run-pane-{outcome.machine}").label = f"{outcome.machine} ({head.split(':')[0]})"

        outcomes = await run_on_machines(self.store, self.names, command, parallel=16, timeout=600, done=done)
        failed = [o.machine for o in outcomes if not o.ok]
        status.update(f"{len(outcomes) - len(failed)} of {len(outcomes)} succeeded"
                      + (f"; failed: {', '.join(failed)}" if failed else ""))
