"""The full-screen app: the main screen (the machine table and every action on it), the command palette, the
user's keymap and theme. The screens, widgets and messages live in their own modules."""

from __future__ import annotations

import os

from textual.app import App
from textual.binding import Binding

from ..core.store import Store
from .machine_table import MachineTable
from .main_screen import MainScreen
from .palette import MachineCommands
from .preferences import Preferences, config_folder
from .widgets import failure_text, log_action

__all__ = ["MachineTuiApp", "MachineTable", "MachineCommands", "MainScreen", "failure_text", "run_app"]


class MachineTuiApp(App[None]):
    TITLE = "machine-tui"
    COMMANDS = App.COMMANDS | {MachineCommands}
    CSS_PATH = "app.tcss"

    def __init__(self, store: Store | None = None, poll_interval: float = 5.0, timeout: float = 10.0):
        super().__init__()
        self.store = store or Store()
        self.main_screen = MainScreen(self.store, poll_interval, timeout)
        self.user_keymap: dict[str, str] = {}  # binding id -> key(s), from keys.toml
        self.preferences = Preferences()
        self.worker_failures: list[BaseException] = []  # what background tasks raised, kept for the log view and tests

    def _handle_exception(self, error: Exception) -> None:
        """A worker that fails (a provider that does not answer, a host that hangs up) is one line in a toast and a
        traceback in the log; it never ends the app. Anything else still ends it, its traceback without locals."""
        from textual.worker import WorkerFailed

        if isinstance(error, WorkerFailed) and self.is_running:
            cause = error.error
            log_action(f"a background task failed: {failure_text(cause)}", error=True, exc=cause)
            self.notify(failure_text(cause), title="A background task failed", severity="error", timeout=10,
                        markup=False)
            self.worker_failures.append(cause)
            return
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        # Textual's own shows each frame's local variables: a request body with a password may be one of them
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        traceback = Traceback(show_locals=False, width=None)
        self._exit_renderables.append(Segments(self.console.render(traceback, self.console.options)))
        self._close_messages_no_wait()

    async def _on_key(self, event) -> None:
        """A printable key that bubbled up here while a text box has the focus was queued for another widget before
        the key that moved the focus was handled ("/d" typed in one burst): it belongs to the box, not the table."""
        from textual import events
        from textual.widgets import Input

        focused = self.focused
        if isinstance(focused, Input) and event.is_printable:
            event.prevent_default()  # not App's own handling too: that would run the table's binding for it
            focused.post_message(events.Key(event.key, event.character))

    def get_default_screen(self) -> MainScreen:
        return self.main_screen

    def on_mount(self) -> None:
        self.apply_user_keymap()
        self.apply_preferences()

    def apply_preferences(self) -> None:
        """The theme and confirmations chosen last time (settings.toml); a theme picked now is kept for next time."""
        self.preferences = Preferences.load()
        if self.preferences.problem:
            self.notify(self.preferences.problem, severity="error")
        if self.preferences.theme in self.available_themes:
            self.theme = self.preferences.theme
        self.watch(self, "theme", self.remember_theme, init=False)

    def remember_theme(self, theme: str) -> None:
        if theme != self.preferences.theme:
            self.preferences.theme = theme
            problem = self.preferences.save()
            if problem:
                self.notify(f"The theme is not kept for next time: {problem}", severity="warning")

    def apply_user_keymap(self) -> None:
        """[keys] binding-id = "key" in keys.toml in the platform's config folder (MACHINE_TUI_CONFIG_DIR)."""
        import tomllib

        path = os.path.join(config_folder(), "keys.toml")
        from ..core.store import read_regular
        from .preferences import why_unreadable

        try:
            keys = tomllib.loads(read_regular(path, 1 << 20).decode("utf-8")).get("keys", {})
        except FileNotFoundError:
            return
        except (OSError, ValueError) as err:  # ValueError: not TOML, or not UTF-8 (UnicodeDecodeError)
            self.notify(f"{path} is not read: {why_unreadable(err)}", severity="error", markup=False)
            log_action(f"keys.toml not read: {path}: {why_unreadable(err)}")
            return
        if not isinstance(keys, dict):
            self.notify(f"{path}: [keys] must be a table of binding-id = \"key\"", severity="error")
            return
        from .console import SshConsole
        from .log_view import LogScreen, LogView
        from .machine_view import MachineScreen, StatsScreen

        known = {b.id for screen in (MainScreen, SshConsole, MachineTable, MachineScreen, LogScreen, LogView,
                                     StatsScreen) for b in screen.BINDINGS if isinstance(b, Binding) and b.id}
        unknown = sorted(str(k) for k in keys if k not in known)
        if unknown:
            self.notify(f"{path}: no binding with the id {', '.join(unknown)} (the help lists every id)",
                        severity="warning", timeout=10)
        self.user_keymap = {str(k): str(v) for k, v in keys.items() if k in known}
        self.set_keymap(self.user_keymap)

    # the main screen's state and actions, where scripts and tests reach them through the app
    @property
    def rows(self):
        return self.main_screen.rows

    @property
    def marked(self) -> set[str]:
        return self.main_screen.marked

    def selected(self) -> list[str]:
        return self.main_screen.selected()

    def action_ssh(self) -> None:
        self.main_screen.ssh_into_selected()


def run_app() -> int:
    app = MachineTuiApp()
    app.run()
    return app.return_code or 0
