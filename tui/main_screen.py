"""The main screen: a live table of the machines in the store, and every action on them.

The table is fed by the same core listing as `machine-tui ls`; polling runs in a worker and results arrive as
messages, so the UI never waits on a slow host. Machine verbs come from the core's verb table."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Header, Static, TabbedContent

from ..core.service import Machines
from ..core.service.listing import CloudRows, Row
from ..core.store import Store
from ..core.verbs import VERBS
from .create_progress import CreateProgressPanel
from .detail_pane import DetailPane
from .machine_operations import MachineOperations
from .machine_table import COLUMNS, MachineTable
from .messages import CreateProgress, MachinesUpdated, OperationReport
from .widgets import AdaptivePoller, AppFooter, ConsoleTabs, FilterInput, StatusLine, log_action

if TYPE_CHECKING:
    from .app import MachineTuiApp


class MainScreen(Screen[None]):
    """The main UI: the machine table, the create progress rows, the console tabs, the status line and footer.
    The machine verbs come from the core's table; everything a key does runs here, in workers."""

    BINDINGS = [
        # the machine verbs, from the core's table: a new verb gets its key, footer entry and help line here
        *(Binding(v.key, f"operate('{v.name}')", v.title, id=v.binding_id, show=v.in_footer) for v in VERBS.values()),
        Binding("c", "create", "Create", id="machine-create"),
        Binding("N", "create_cluster", "New swarm", id="cluster-create"),
        Binding("z", "cancel_create", "Cancel create", id="create-cancel", show=False),
        Binding("d", "remove", "Remove", id="machine-remove"),
        Binding("enter", "open", "Open", id="machine-open"),  # into the machine: containers, images, volumes, info
        Binding("S", "ssh", "SSH", id="machine-ssh"),
        Binding("t", "console", "Console", id="machine-console"),
        Binding("e", "env", "Env", id="machine-env"),
        Binding("i", "inspect", "Inspect", id="machine-inspect"),
        Binding("v", "details", "Details", id="details"),
        Binding("l", "log", "Log", id="machine-log"),
        Binding("w", "cluster", "Swarm", id="machine-swarm"),
        Binding("exclamation_mark", "run_command", "Run", id="machines-run"),
        Binding("o", "sort", "Sort", id="sort"),
        Binding("O", "sort_reverse", "Reverse the sort", id="sort-reverse", show=False),
        Binding("space", "mark", "Mark", id="machine-mark"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("r", "refresh", "Refresh", id="refresh"),
        Binding("T", "app.change_theme", "Theme", id="theme", show=False),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "app.quit", "Quit", id="quit"),  # app.quit: a Screen has no quit action
    ]

    def __init__(self, store: Store, poll_interval: float = 5.0, timeout: float = 10.0):
        super().__init__(id="main")
        self.store = store
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.rows: dict[str, Row] = {}
        self.marked: set[str] = set()
        self.name_filter = ""
        self.history: dict[str, list[str]] = {}  # what operations said, per machine (the log view)
        self._target: str | None = None  # the machine a palette command names
        self._redraw_cpu, self._gc_frozen = 0.0, False
        self.poller = AdaptivePoller(self, poll_interval, self.poll)
        self._footer_fits: tuple | None = None
        self.store_error = ""
        self.cloud_rows = CloudRows()  # cloud machines are asked every 30 s, not at every poll (rate limits)
        self.machines = Machines(store)  # the one door into the engine, the CLI's too

    @property
    def machine_app(self) -> MachineTuiApp:
        """The app, typed: its preferences, keymap and SSH action."""
        return cast("MachineTuiApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="summary")
        yield Static(id="first-machine", markup=False)  # an empty store: what c does, what this host can run
        table = MachineTable(id="machines", cursor_type="row", zebra_stripes=True)
        table.sortable, table.sort_column = tuple(ROW_FIELDS), "NAME"
        for col in ("MARK",) + COLUMNS:
            table.add_column(" " if col == "MARK" else col, key=col)
        with Horizontal(id="table-area"):
            yield table
            yield DetailPane(id="details")
        yield ConsoleTabs(focus_back="#machines", id="consoles")
        yield CreateProgressPanel(self.machines, self.store, self.poll, id="operations")
        yield MachineOperations(self.machines, self.store, self.cloud_rows, self.poll)
        yield FilterInput(placeholder="filter: name, driver, state or URL (as you type; Enter keeps it, Escape clears)",
                          id="filter")
        yield StatusLine(id="status")
        yield AppFooter()

    def main_widget(self, selector, kind=None):
        """A widget of this screen, found even while a modal screen is on top (App.query_one would search the
        modal)."""
        return self.query_one(selector, kind) if kind else self.query_one(selector)

    def on_mount(self) -> None:
        self.app.sub_title = self.store.path
        self.main_widget("#summary", Static).update(f"Store {self.store.path}: loading…")
        self.main_widget("#first-machine").display = False
        self.main_widget("#consoles", TabbedContent).display = False
        self.main_widget(MachineTable).show_sort("NAME", False)
        self.action_refresh()

    # ----- polling
    def action_refresh(self) -> None:
        """Every machine asked now, clouds too (after an operation, or on request)."""
        self.cloud_rows.clear()
        self.poll()

    @work(exclusive=True, group="poll")
    async def poll(self) -> None:
        started = time.process_time()
        try:
            rows = await self.machines.listing(self.timeout, cloud_rows=self.cloud_rows)
            self.post_message(MachinesUpdated(rows))
        except Exception as err:  # the store itself unreadable: say so, keep running
            self.post_message(MachinesUpdated([], str(err)))
        finally:
            # the last redraw's CPU counts with the poll's: showing hundreds of rows stretches the interval too
            self.poller.next_after(time.process_time() - started + self._redraw_cpu)

    def on_machines_updated(self, message: MachinesUpdated) -> None:
        if not self.is_attached:  # a poll that finished while the app was closing
            return
        started = time.process_time()
        try:
            self.show_machines(message)
        finally:
            self._redraw_cpu = time.process_time() - started
        if not self._gc_frozen:
            # what exists once the first rows are shown (modules, widgets, styles) lives as long as the app: out of
            # the collector's sight, a full collection costs a few ms instead of ~100 ms, often enough to show
            import gc

            gc.freeze()
            self._gc_frozen = True

    def show_machines(self, message: MachinesUpdated) -> None:
        busy = self.operations.busy
        # a machine this app is starting or stopping says so, not "Timeout" while its engine comes up
        rows = [r.replace(State=busy[r.Name], Error="") if r.Name in busy and r.State != "Error"
                else r for r in message.rows]
        message.rows = rows
        self.rows = {r.Name: r for r in message.rows}
        self.marked &= set(self.rows)
        self.store_error = message.error
        self.redraw()
        self.show_summary()
        hint = self.main_widget("#first-machine", Static)
        if not self.rows and not self.store_error and not hint.display:
            from ..core.service.getting_started import first_machine_advice

            hint.update("\n".join(first_machine_advice(self.store.path)))
        hint.display = not self.rows and not self.store_error
        self.refresh_footer()

    def show_summary(self) -> None:
        running = sum(1 for r in self.rows.values() if r.State == "Running")
        text = f"Store {self.store.path}: {len(self.rows)} machines, {running} running"
        if self.marked:
            text += f", {len(self.marked)} marked"
        if self.name_filter:
            text += f" — filter: {self.name_filter} ({self.main_widget(MachineTable).row_count} shown)"
        if self.store_error:
            text += f" — {self.store_error}"
        self.main_widget("#summary", Static).update(text)

    def redraw(self) -> None:
        from ..core.service.listing import natural_key

        table = self.main_widget(MachineTable)
        table.show(table.arranged(self.rows.values(), self.name_filter, machine_texts,
                                  lambda r: natural_key(r.Name), SORT_KEYS), self.marked)
        self.show_details()

    def action_sort(self) -> None:
        self.main_widget(MachineTable).sort_next()

    def action_sort_reverse(self) -> None:
        self.main_widget(MachineTable).sort_turned()

    def on_live_table_sort_changed(self, message) -> None:
        self.redraw()

    # ----- the detail pane
    def action_details(self) -> None:
        pane = self.main_widget("#details")
        pane.display = True if self._target else not pane.display  # the palette's "Details of web1" opens it
        self.show_details()

    def show_details(self) -> None:
        name = self.main_widget(MachineTable).current_key()
        self.main_widget(DetailPane).show(self.store, name, self.rows.get(name) if name else None)

    def action_log(self) -> None:
        from .detail_pane import machine_log
        from .screens import TextScreen

        for name in self.selected()[:1]:
            self.app.push_screen(TextScreen(f"log {name}", machine_log(self.store, name, self.history.get(name, []))))

    # ----- selection
    # the footer shows an action dimmed when no selected machine is in a state where it makes sense
    NEEDS_STATE = {**{v.name: v.fits for v in VERBS.values() if v.fits},
                   "console": lambda st: st == "Running", "ssh": lambda st: st == "Running",
                   "env": lambda st: st == "Running", "open": lambda st: st == "Running"}

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        key = parameters[0] if action == "operate" and parameters else action
        fits = self.NEEDS_STATE.get(key)
        if fits is None or len(self.app.screen_stack) != 1:
            return True
        try:
            states = [self.rows[n].State for n in self.selected() if n in self.rows]
        except Exception:
            return True
        return True if not states or any(fits(st) for st in states) else None

    def on_data_table_row_highlighted(self, event) -> None:
        self.refresh_footer()
        self.show_details()

    def refresh_footer(self) -> None:
        """Rebuild the footer only when which actions fit has changed (rebuilding it costs a frame)."""
        fits = tuple(self.check_action(k if k in ("console", "ssh", "env", "open") else "operate", (k,))
                     for k in self.NEEDS_STATE)
        if fits != self._footer_fits:
            self._footer_fits = fits
            self.refresh_bindings()

    async def act_on(self, name: str, action: str) -> None:
        """Run an action on one named machine (the command palette), whatever is marked or under the cursor."""
        self._target = name
        table = self.main_widget(MachineTable)
        if name in [k.value for k in table.rows]:  # the cursor goes to it: details and the footer follow
            table.move_cursor(row=table.get_row_index(name))
        try:
            await self.app.run_action(action, self)
        finally:
            self._target = None

    def selected(self) -> list[str]:
        """The machine named by the command palette, else the marked machines, else the one under the cursor."""
        if self._target:
            return [self._target]
        if self.marked:
            return sorted(self.marked)
        table = self.main_widget(MachineTable)
        if table.row_count == 0:
            return []
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return [key] if key else []

    def action_cluster(self) -> None:
        """The swarm the selected machine belongs to, as its manager sees it."""
        from ..core.errors import MachineError
        from ..core.service.swarm import recorded_role
        from .fleet_screens import ClusterScreen

        for name in self.selected()[:1]:
            try:
                role, cluster = recorded_role(self.store.load(name))
            except MachineError as err:
                self.notify(str(err), severity="error", markup=False)
                return
            if not cluster:
                self.notify(f"{name} is in no swarm: machine-tui swarm init {name} makes one", title="swarm")
                return
            self.app.push_screen(ClusterScreen(self.store, cluster))

    def action_run_command(self) -> None:
        """A command for the marked machines (or the one under the cursor), a pane of output for each."""
        from .fleet_screens import RunScreen

        names = self.selected()
        if names:
            self.app.push_screen(RunScreen(self.store, names))

    def action_mark(self) -> None:
        table = self.main_widget(MachineTable)
        if table.row_count == 0:
            return
        name = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        self.marked ^= {name}
        self.redraw()
        table.action_cursor_down()

    def action_filter(self) -> None:
        self.main_widget("#filter", FilterInput).open(self.name_filter)

    def on_filter_input_filtered(self, message: FilterInput.Filtered) -> None:
        self.name_filter = message.text  # the rows follow each key typed
        self.redraw()
        self.show_summary()
        if message.done:
            self.main_widget(MachineTable).focus()

    # ----- operations: the same core operations the CLI runs, in workers; progress comes back as messages
    @property
    def operations(self) -> MachineOperations:
        return self.main_widget(MachineOperations)

    def action_operate(self, op: str) -> None:
        self.operations.operate(op, self.selected(), self.machine_app.preferences.confirm_stop)

    def on_operation_report(self, message: OperationReport) -> None:
        self.history.setdefault(message.machine, []).append(message.text)
        if message.failed:
            log_action(f"{message.machine}: {message.text}", error=True)
        text = f"{message.machine}: {message.text.splitlines()[0] if message.text else ''}"
        self.main_widget(StatusLine).say(text)
        if message.failed:
            self.notify(message.text, title=message.machine, severity="error", timeout=10, markup=False)

    def action_remove(self) -> None:
        def removed(names: list[str]) -> None:
            self.marked -= set(names)

        self.operations.remove_asked(self.selected(), removed)

    # ----- create: the wizard, then the core's create in a worker with a progress bar per machine
    def action_create(self) -> None:
        from .wizard import CreateWizard

        def chosen(request) -> None:
            if request is not None:
                self.progress.start(request)

        self.app.push_screen(CreateWizard(existing=set(self.rows), store_path=self.store.path), chosen)

    @property
    def progress(self) -> CreateProgressPanel:
        return self.main_widget("#operations", CreateProgressPanel)

    # ----- a Swarm-mode cluster: the first manager, then the others join it
    def action_create_cluster(self) -> None:
        from .wizard import ClusterWizard

        def chosen(request) -> None:
            if request is not None:
                self.progress.start_cluster(request)

        self.app.push_screen(ClusterWizard(existing=set(self.rows), store_path=self.store.path), chosen)

    def action_cancel_create(self) -> None:
        name = self.progress.cancel_latest()
        if name:
            self.notify(f"Cancelling the create of {name}")

    def on_create_progress(self, message: CreateProgress) -> None:
        if message.text:
            self.history.setdefault(message.machine, []).append(message.text)
        if message.failed:
            self.notify(message.text, title=f"create {message.machine}", severity="error", timeout=15, markup=False)

    # ----- views
    def action_inspect(self) -> None:
        from ..core import gojson
        from ..core.errors import MachineError
        from .screens import TextScreen

        for name in self.selected()[:1]:
            try:
                text = gojson.marshal_indent(self.store.load(name).doc)
            except MachineError as err:
                text = str(err)
            self.app.push_screen(TextScreen(f"inspect {name}", text))

    def action_env(self) -> None:
        for name in self.selected()[:1]:
            self.show_env(name)

    @work(group="views")
    async def show_env(self, name: str) -> None:
        from ..core.errors import MachineError
        from .screens import TextScreen

        try:
            text = await self.machines.env(name)  # in the user's own shell's syntax, as `machine-tui env` prints
        except MachineError as err:
            text = str(err)
        self.app.push_screen(TextScreen(f"env {name}", text))

    def action_help(self) -> None:
        from .fleet_screens import ClusterScreen, RunScreen
        from .log_view import LogScreen, LogView
        from .machine_table import LiveTable
        from .machine_view import MachineScreen
        from .screens import TextScreen, help_text

        self.app.push_screen(TextScreen("keys", help_text(self.BINDINGS, self.machine_app.user_keymap, sections=(
            ("Moving in a table", LiveTable.BINDINGS), ("Inside a machine (Enter)", MachineScreen.BINDINGS),
            ("A container's log (Enter on a container)", LogScreen.BINDINGS + LogView.BINDINGS),
            ("The swarm view (w)", ClusterScreen.BINDINGS), ("Run on machines (!)", RunScreen.BINDINGS)))))

    # ----- into a machine: what runs on it
    def action_open(self) -> None:
        from .machine_view import MachineScreen

        # the machine under the cursor (or the palette's), never the first marked one: Enter opens what it points at
        table = self.main_widget(MachineTable)
        name = self._target or table.current_key()
        if name:
            self.app.push_screen(MachineScreen(self.store, name, self.poll_interval, self.timeout))

    # ----- embedded consoles, one tab per machine
    async def action_console(self) -> None:
        names = self.selected()[:1]
        if not names:
            return
        name = names[0]
        row = self.rows.get(name)
        if row is not None and row.DriverName == "none":  # no SSH: a pane here could only ever fail
            self.notify(f"{name} uses the none driver, which has no SSH access: Enter shows its containers, e its env",
                        title="No console", severity="warning", markup=False)
            return
        await self.main_widget("#consoles", ConsoleTabs).open_machine_shell(self.store, name)

    def on_ssh_console_ended(self, message) -> None:
        self.history.setdefault(message.console.machine, []).append(
            f"console session ended (exit {message.status if message.status is not None else '?'})")

    def action_ssh(self) -> None:
        self.machine_app.action_ssh()  # the app's action: it owns the terminal that SSH takes over

    def ssh_into_selected(self) -> None:
        """The real SSH session in this terminal: the app steps aside and comes back after."""
        import subprocess
        import sys

        names = self.selected()[:1]
        if not names:
            return
        log_action(f"ssh {names[0]}")
        try:
            with self.app.suspend():
                subprocess.call([sys.executable, "-m", "machine_tui.cli", "-s", self.store.path, "ssh", names[0]])
        except Exception as err:  # no real terminal (headless, web): say so
            self.notify(f"ssh needs a terminal to suspend into: {err}", severity="warning")
        self.poll()


# a column -> the row's field its rows sort by; `o` goes through them in this order (the screen's, left to right)
ROW_FIELDS = {"NAME": "Name", "ACTIVE": "Active", "DRIVER": "DriverName", "STATE": "State", "URL": "URL",
              "DOCKER": "DockerVersion", "ERRORS": "Error"}
# NAME is the natural order (web2 before web10); the others sort by their text, names in order within
SORT_KEYS = {column: (lambda r, f=field: str(getattr(r, f)).lower())
             for column, field in ROW_FIELDS.items() if field != "Name"}


def machine_texts(row: Row) -> tuple[str, ...]:
    """What the filter looks in: the name, the driver, the state and the URL."""
    return (row.Name, row.DriverName, row.State, row.URL)
