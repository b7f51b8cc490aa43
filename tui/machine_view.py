"""Into a machine (Enter on its row, as in k9s): what runs on it, read from its engine over the machine's own TLS:
containers with CPU and memory, images, volumes, `docker info`. From a container: its logs, its stats, start, stop,
restart, kill, remove (asked first, as the machine table asks), a shell in a console pane. Escape goes back."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Sparkline, Static, TabbedContent, TabPane

from ..core.aio import wait_for
from .machine_table import LiveTable
from .widgets import AdaptivePoller, AppFooter, ConsoleTabs, FilterInput, log_action

if TYPE_CHECKING:
    from .app import MachineTuiApp

CONTAINER_COLUMNS = ("NAME", "IMAGE", "STATE", "STATUS", "PORTS", "CPU", "MEM")
STATE_STYLE = {"running": "green", "exited": "red", "dead": "bold red", "paused": "yellow", "restarting": "cyan",
               "created": "cyan", "removing": "cyan"}
# a column -> what its rows sort by (usage: the busiest last, so O puts them first)
SORT_KEYS = {"NAME": lambda c: c.name, "IMAGE": lambda c: c.image, "STATE": lambda c: c.state,
             "STATUS": lambda c: -c.created, "PORTS": lambda c: c.ports, "CPU": lambda c: c.cpu or 0.0,
             "MEM": lambda c: c.memory or 0}
# what stopping or killing a container costs, asked first unless the user turned the question off
ASK_FIRST = {"stop": "It gets SIGTERM, then SIGKILL after 10 s.", "kill": "It gets SIGKILL now.",
             "remove": "It is stopped if it runs, and deleted (its volumes stay)."}


def size_text(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def ago(timestamp: float) -> str:
    seconds = max(0, time.time() - timestamp)
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{int(seconds // size)} {unit} ago"
    return "just now" if seconds < 60 else "a minute ago"


def image_rows(images: list[dict]) -> list[tuple]:
    return [(", ".join(i.get("RepoTags") or ["<none>:<none>"]), i.get("Id", "").split(":")[-1][:12],
             ago(int(i.get("Created") or 0)), size_text(i.get("Size")))
            for i in sorted(images, key=lambda i: -int(i.get("Created") or 0))]


def volume_rows(volumes: list[dict]) -> list[tuple]:
    return [(v.get("Name", ""), v.get("Driver", ""), v.get("Mountpoint", ""), v.get("CreatedAt", ""))
            for v in sorted(volumes, key=lambda v: v.get("Name", ""))]


def info_lines(info: dict) -> list[str]:
    lines = []
    for key in ("Name", "ServerVersion", "OperatingSystem", "KernelVersion", "Architecture", "NCPU", "MemTotal",
                "Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped", "Images", "Driver",
                "CgroupVersion", "DockerRootDir", "Labels", "InsecureRegistries", "RegistryConfig", "Swarm"):
        if key not in info:
            continue
        value = info[key]
        if key == "MemTotal":
            value = size_text(value)
        elif key == "RegistryConfig":
            value = ", ".join((value or {}).get("InsecureRegistryCIDRs") or []) or "-"
            key = "InsecureRegistryCIDRs"
        elif key == "Swarm":
            value = (value or {}).get("LocalNodeState", "")
        lines.append(f"{key + ':':<24}{value}")
    return lines


@dataclass(frozen=True)
class Tab:
    """A tab of the drill-down after Containers: a new one is one entry of TABS (its key, the core.containers
    function that reads it, and how its answer is shown: table rows under `columns`, or lines of text)."""

    id: str
    title: str
    key: str
    reads: str  # a function of core.containers: (engine) -> answer
    show: Callable[[Any], list]  # answer -> rows (a table tab) or lines (a text tab)
    columns: tuple[str, ...] = ()  # () for a text tab


TABS = (
    Tab("images", "Images", "2", "list_images", image_rows, ("REPOSITORY:TAG", "IMAGE ID", "CREATED", "SIZE")),
    Tab("volumes", "Volumes", "3", "list_volumes", volume_rows, ("NAME", "DRIVER", "MOUNTPOINT", "CREATED")),
    Tab("info", "Info", "4", "engine_info", info_lines),
)


class MachineScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="view-back"),
        Binding("enter,l", "logs", "Logs", id="container-logs"),
        Binding("u", "stats", "Stats", id="container-stats"),
        Binding("t", "shell", "Shell", id="container-shell"),
        Binding("s", "container('start')", "Start", id="container-start"),
        Binding("x", "container('stop')", "Stop", id="container-stop"),
        Binding("R", "container('restart')", "Restart", id="container-restart"),
        Binding("K", "container('kill')", "Kill", id="container-kill", show=False),
        Binding("d", "container('remove')", "Remove", id="container-remove"),
        Binding("slash", "filter", "Filter", id="container-filter"),
        Binding("o", "sort", "Sort", id="container-sort", show=False),
        Binding("O", "sort_reverse", "Reverse the sort", id="container-sort-reverse", show=False),
        Binding("1", "tab('containers')", "Containers", id="view-containers", show=False),
        *(Binding(t.key, f"tab('{t.id}')", t.title, id=f"view-{t.id}", show=False) for t in TABS),
        Binding("r", "refresh", "Refresh", id="view-refresh"),
        Binding("question_mark", "help", "Help", id="view-help"),
        Binding("q", "app.quit", "Quit", id="view-quit"),
    ]

    def __init__(self, store, name: str, poll_interval: float = 5.0, timeout: float = 10.0):
        super().__init__()
        self.store, self.machine, self.poll_interval, self.timeout = store, name, poll_interval, timeout
        self.engine = None
        self.contents = None  # core.containers.MachineContents: the last poll's containers and samples
        self.name_filter = ""
        self.problem = ""
        self.poller = AdaptivePoller(self, poll_interval, self.poll)

    @property
    def machine_app(self) -> MachineTuiApp:
        """The app, typed: its preferences, keymap and SSH action."""
        return cast("MachineTuiApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(f"[b]{self.machine}[/]: connecting to its engine…", id="machine-summary")
        with TabbedContent(id="machine-tabs", initial="containers"):
            with TabPane("Containers", id="containers"):
                table = LiveTable(id="container-table", cursor_type="row", zebra_stripes=True)
                table.sortable = tuple(SORT_KEYS)  # unsorted at first: the running ones first, then by name
                for col in CONTAINER_COLUMNS:
                    table.add_column(col, key=col)
                yield table
            for tab in TABS:
                with TabPane(tab.title, id=tab.id):
                    if tab.columns:
                        yield DataTable(id=f"{tab.id}-table", cursor_type="row", zebra_stripes=True)
                    else:
                        with VerticalScroll():
                            yield Static(id=f"{tab.id}-text")
        yield ConsoleTabs(focus_back="#container-table", id="container-consoles")
        yield FilterInput(placeholder="filter containers: name, image or state (Escape clears)", id="container-filter")
        yield Static(id="view-status")
        yield AppFooter()

    def on_mount(self) -> None:
        self.query_one("#container-consoles").display = False
        for tab in TABS:
            if tab.columns:
                self.query_one(f"#{tab.id}-table", DataTable).add_columns(*tab.columns)
        self.query_one("#container-table").focus()
        self.poll()

    def on_unmount(self) -> None:
        self.poller.stop()
        self.workers.cancel_group(self, "machine-poll")
        if self.engine is not None:
            self.engine.close()

    # ----- reading the engine, bounded like the machine table: one poll at a time, stretched when it costs
    def action_refresh(self) -> None:
        self.poll()

    @work(exclusive=True, group="machine-poll")
    async def poll(self) -> None:
        import asyncio

        from ..core.errors import MachineError
        from ..core.service import containers

        started = time.process_time()
        try:
            if self.engine is None:
                self.engine = await wait_for(containers.connect(self.store.load(self.machine), self.timeout),
                                                     self.timeout + 5)
            self.contents = await wait_for(containers.list_containers(self.engine, self.contents),
                                                   self.timeout * 3)
            self.problem = ""
            if self.is_attached:
                await self.load_tab()
        except (MachineError, OSError, asyncio.TimeoutError) as err:
            self.problem = str(err) or f"no answer from the engine within {self.timeout * 3:g} s"
        if not self.is_attached:  # Escape closed the screen while the engine answered: nothing left to show
            return
        self.show_containers()
        self.poller.next_after(time.process_time() - started)

    def show_containers(self) -> None:
        tables = self.query("#container-table")
        if not tables:  # the screen is closing (Escape while a poll answered): its widgets are already going
            return
        table = tables.first(LiveTable)
        found: list = self.contents.containers if self.contents else []
        # unsorted: the running ones first
        shown = table.arranged(found, self.name_filter, lambda c: (c.name, c.image, c.state),
                               lambda c: (c.state != "running", c.name), SORT_KEYS)
        rows = []
        for c in shown:
            cpu = "-" if c.cpu is None else f"{c.cpu:.1f} %"
            mem = "-" if c.memory is None else size_text(c.memory)
            rows.append((c.id, (c.name, c.image, Text(c.state, style=STATE_STYLE.get(c.state, "")), c.status,
                                c.ports, cpu, mem)))
        table.show_rows(rows)
        running = sum(c.state == "running" for c in found)
        text = f"[b]{self.machine}[/]: {len(found)} containers, {running} running"
        if self.engine is not None:
            text += f" — engine {self.engine.address}"
        if self.name_filter:
            text += f" — filter: {self.name_filter} ({len(shown)} shown)"
        if self.problem:
            text += f" — [red]{self.problem}[/]"
        self.query_one("#machine-summary", Static).update(text)

    async def load_tab(self) -> None:
        """The list of the tab in view, read now (the containers come with every poll)."""
        from ..core.service import containers

        tabs = self.query("#machine-tabs")
        if self.engine is None or not tabs:  # no engine yet, or the screen is closing
            return
        tab = next((t for t in TABS if t.id == tabs.first(TabbedContent).active), None)
        if tab is None:
            return
        answer = await getattr(containers, tab.reads)(self.engine)
        if not self.is_attached or not self.query(f"#{tab.id}"):  # closed while the engine answered
            return
        if tab.columns:
            table = self.query_one(f"#{tab.id}-table", DataTable)
            table.clear()
            for row in tab.show(answer):
                table.add_row(*row)
        else:
            self.query_one(f"#{tab.id}-text", Static).update("\n".join(tab.show(answer)))

    @work(exclusive=True, group="machine-tab")
    async def load_tab_now(self) -> None:
        from ..core.errors import MachineError

        try:
            await self.load_tab()
        except MachineError as err:
            self.notify(str(err), severity="error", markup=False)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id == "machine-tabs" and event.pane.id != "containers":
            self.load_tab_now()  # the tab's own list, now

    def action_tab(self, tab: str) -> None:
        self.query_one("#machine-tabs", TabbedContent).active = tab
        if tab == "containers":
            self.query_one("#container-table").focus()

    # ----- a container
    def selected(self):
        """The container under the cursor (None when there is none)."""
        key = self.query_one("#container-table", LiveTable).current_key()
        return next((c for c in (self.contents.containers if self.contents else []) if c.id == key), None)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("logs", "stats", "shell", "container") and self.app.screen is self:
            return self.query_one("#machine-tabs", TabbedContent).active == "containers" or None
        return True

    def action_container(self, action: str) -> None:
        c = self.selected()
        if c is None or self.engine is None:
            return

        def go(ok: bool | None = True) -> None:
            if ok:
                log_action(f"{action} container {c.name} on {self.machine}")
                self.run_container_action(c, action)

        confirm = action == "remove" or (action in ("stop", "kill") and self.machine_app.preferences.confirm_stop)
        if confirm:
            from .screens import ConfirmAction

            title = {"remove": "Remove", "stop": "Stop", "kill": "Kill"}[action]
            self.app.push_screen(ConfirmAction(f"{title} the container {c.name} on {self.machine}?",
                                               ASK_FIRST[action], can_stop_asking=action != "remove"), go)
        else:
            go()

    @work(group="container-actions")
    async def run_container_action(self, c, action: str) -> None:  # not run_action: Textual's own name
        from ..core.errors import MachineError
        from ..core.service.containers import container_action

        status = self.query_one("#view-status", Static)
        status.update(f"{c.name}: {action}…")
        try:
            await container_action(self.engine, c.id, action)
            status.update(f"{c.name}: {action}: done")
        except MachineError as err:
            status.update(f"{c.name}: {action}: {err}")
            self.notify(str(err), title=f"{action} {c.name}", severity="error", timeout=10, markup=False)
        self.poll()

    def action_logs(self) -> None:
        from .log_view import LogScreen

        c = self.selected()
        if c is not None and self.engine is not None:
            self.app.push_screen(LogScreen(self.engine, c.id, c.name))

    def action_stats(self) -> None:
        c = self.selected()
        if c is not None and self.engine is not None:
            self.app.push_screen(StatsScreen(self.engine, c.id, c.name))

    async def action_shell(self) -> None:
        """A shell inside the container (an exec over the engine's API), in a console pane of this screen."""
        c = self.selected()
        if c is None or self.engine is None:
            return
        if c.state != "running":
            self.notify(f"{c.name} is not running: s starts it", severity="warning")
            return
        engine, container_id = self.engine, c.id

        async def opener(columns: int, lines: int):
            from ..core.service.containers import ExecSession

            return await ExecSession.open(engine, container_id, columns, lines)

        await self.query_one("#container-consoles", ConsoleTabs).open("exec-" + c.id[:12], c.name,
                                                                      f"{self.machine}/{c.name}", opener)

    # ----- sorting: the table's own (o, O, a header click); the rows follow it
    def action_sort(self) -> None:
        self.query_one("#container-table", LiveTable).sort_next()

    def action_sort_reverse(self) -> None:
        self.query_one("#container-table", LiveTable).sort_turned()

    def on_live_table_sort_changed(self, message) -> None:
        if message.table.id == "container-table":
            self.show_containers()

    # ----- filter, back, help
    def action_filter(self) -> None:
        self.query_one("#container-filter", FilterInput).open(self.name_filter)

    def on_filter_input_filtered(self, message: FilterInput.Filtered) -> None:
        self.name_filter = message.text
        self.show_containers()
        if message.done:
            self.query_one("#container-table").focus()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_help(self) -> None:
        from .log_view import LogScreen, LogView
        from .screens import TextScreen, help_text

        self.app.push_screen(TextScreen(f"keys in {self.machine}", help_text(
            self.BINDINGS, self.machine_app.user_keymap, sections=(
                ("Moving in a table", LiveTable.BINDINGS),
                ("A container's log (Enter on a container)", LogScreen.BINDINGS + LogView.BINDINGS)))))


class StatsScreen(Screen[None]):
    """A container's CPU, memory, network and block I/O, one sample a second as `docker stats` shows them."""

    BINDINGS = [Binding("escape", "back", "Back", id="stats-back")]

    def __init__(self, engine, container_id: str, name: str):
        super().__init__()
        self.engine, self.container_id, self.container_name = engine, container_id, name
        self.cpu: list[float] = []

    def compose(self) -> ComposeResult:
        yield Static(f"[b]{self.engine.name} / {self.container_name}[/] — stats (Escape goes back)", id="stats-title")
        yield Static("waiting for the first sample…", id="stats-text")
        yield Static("CPU %", classes="flag-label")
        yield Sparkline([], id="stats-cpu")
        yield AppFooter()

    def on_mount(self) -> None:
        self.stream()

    @work(exclusive=True, group="stats")
    async def stream(self) -> None:
        from ..core.errors import MachineError
        from ..core.service.containers import follow_stats

        text = self.query_one("#stats-text", Static)
        spark = self.query_one("#stats-cpu", Sparkline)
        try:
            async for sample in follow_stats(self.engine, self.container_id):
                if not self.is_attached:  # gone back meanwhile
                    return
                text.update(stats_text(sample))
                if sample.get("cpu_percent") is not None:
                    self.cpu = (self.cpu + [sample["cpu_percent"]])[-120:]
                    spark.data = list(self.cpu)
        except MachineError as err:
            text.update(f"stats stopped: {err}")

    def action_back(self) -> None:
        self.app.pop_screen()


def stats_text(sample: dict) -> str:
    cpu = sample.get("cpu_percent")
    mem = sample.get("memory_in_use")
    limit = (sample.get("memory_stats") or {}).get("limit")
    rx = sum(int(n.get("rx_bytes") or 0) for n in (sample.get("networks") or {}).values())
    tx = sum(int(n.get("tx_bytes") or 0) for n in (sample.get("networks") or {}).values())
    blk = (sample.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []
    read = sum(int(b.get("value") or 0) for b in blk if str(b.get("op", "")).lower() == "read")
    write = sum(int(b.get("value") or 0) for b in blk if str(b.get("op", "")).lower() == "write")
    pids = (sample.get("pids_stats") or {}).get("current")
    share = f" ({mem / limit * 100:.1f} %)" if mem is not None and limit else ""
    return "\n".join([
        f"{'CPU':<12}{'-' if cpu is None else f'{cpu:.1f} %'}",
        f"{'Memory':<12}{size_text(mem)} of {size_text(limit)}{share}",
        f"{'Network':<12}{size_text(rx)} in, {size_text(tx)} out",
        f"{'Block I/O':<12}{size_text(read)} read, {size_text(write)} written",
        f"{'PIDs':<12}{pids if pids is not None else '-'}",
    ])
