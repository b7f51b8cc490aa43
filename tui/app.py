"""The full-screen app: a live table of the machines in the store.

The table is fed by the same core listing as `machine-tui ls`; polling runs in a worker and results
arrive as messages, so the UI never waits on a slow host."""

from __future__ import annotations

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from ..core.listing import Row, list_machines
from ..core.store import Store

COLUMNS = ("NAME", "ACTIVE", "DRIVER", "STATE", "URL", "DOCKER", "ERRORS")
STATE_STYLE = {"Running": "green", "Stopped": "red", "Error": "bold red", "Timeout": "yellow",
               "Paused": "yellow", "Saved": "yellow", "Starting": "cyan", "Stopping": "cyan"}


class MachinesUpdated(Message):
    def __init__(self, rows: list[Row], error: str = "") -> None:
        super().__init__()
        self.rows = rows
        self.error = error


class MachineTable(DataTable):
    def show(self, rows: list[Row]) -> None:
        """Update in place by row key so the cursor stays on the same machine."""
        from rich.text import Text

        wanted = {r.Name for r in rows}
        for key in list(self.rows):
            if key.value not in wanted:
                self.remove_row(key)
        for r in rows:
            cells = (r.Name, r.Active, r.DriverName, Text(r.State, style=STATE_STYLE.get(r.State, "")), r.URL,
                     r.DockerVersion, r.Error)
            if r.Name in {k.value for k in self.rows}:
                for col, value in zip(self.columns, cells):
                    self.update_cell(r.Name, col, value)
            else:
                self.add_row(*cells, key=r.Name)


class MachineTuiApp(App):
    TITLE = "machine-tui"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="refresh"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(self, store: Store | None = None, poll_interval: float = 5.0, timeout: float = 10.0):
        super().__init__()
        self.store = store or Store()
        self.poll_interval = poll_interval
        self.timeout = timeout

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="summary")
        table = MachineTable(id="machines", cursor_type="row", zebra_stripes=True)
        for col in COLUMNS:
            table.add_column(col, key=col)
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.store.path
        self.query_one("#summary", Static).update(f"Store {self.store.path}: loading…")
        self.action_refresh()
        self.set_interval(self.poll_interval, self.action_refresh)

    def action_refresh(self) -> None:
        self.poll()

    @work(exclusive=True, group="poll")
    async def poll(self) -> None:
        try:
            rows = await list_machines(self.store, self.timeout)
        except Exception as err:  # the store itself unreadable: say so, keep running
            self.post_message(MachinesUpdated([], str(err)))
            return
        self.post_message(MachinesUpdated(rows))

    def on_machines_updated(self, message: MachinesUpdated) -> None:
        table = self.query_one(MachineTable)
        table.show(message.rows)
        running = sum(1 for r in message.rows if r.State == "Running")
        text = f"Store {self.store.path}: {len(message.rows)} machines, {running} running"
        if message.error:
            text += f" — {message.error}"
        self.query_one("#summary", Static).update(text)


def run_app() -> int:
    MachineTuiApp().run()
    return 0
