"""The widgets and helpers every screen shares: the live filter, the footer that keeps help and quit in sight, and
what the app writes to its log. Screens import them from here, never from one another."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.timer import Timer


class AdaptivePoller:
    """A screen's polling, the same on every screen: the next poll `interval` after the last one ended, stretched to
    66 times the CPU the last one took (at most 2 minutes), so that hundreds of machines or containers never cost
    more than ~1.5 % of a core; the first poll (imports, a handshake) does not count; nothing is scheduled for a
    screen that is gone."""

    STRETCH, LONGEST = 66, 120.0

    def __init__(self, screen: Screen[Any], interval: float, poll: Callable[[], object]):
        self.screen, self.interval, self.poll = screen, interval, poll
        self._timer: Timer | None = None
        self._counted = False

    def next_after(self, cpu_seconds: float) -> None:
        """The poll that just ended took `cpu_seconds` of CPU (its redraw included): schedule the next one."""
        spent = cpu_seconds if self._counted else 0.0
        self._counted = True
        self.stop()
        if self.screen.is_attached:
            self._timer = self.screen.set_timer(max(self.interval, min(self.STRETCH * spent, self.LONGEST)),
                                                self.poll)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None


class FilterInput(Input):
    """The live filter under a table: `open()` shows it with the text in force; each key typed, Enter (keeps the text)
    and Escape (clears it) say the text as a Filtered message; the last two hide the box, and the screen puts the
    focus back on its table."""

    BINDINGS = [Binding("escape", "clear", "Clear the filter", id="filter-clear")]

    class Filtered(Message):
        def __init__(self, text: str, done: bool) -> None:
            super().__init__()
            self.text, self.done = text, done  # done: the box has closed

    def on_mount(self) -> None:
        self.display = False

    def open(self, text: str) -> None:
        self.display = True
        self.value = text
        # now, not after a refresh: keys typed in the same burst as "/" are already queued and must reach the box
        self.screen.set_focus(self)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.display:
            self.post_message(self.Filtered(event.value.strip(), done=False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.display = False
        self.post_message(self.Filtered(event.value.strip(), done=True))

    def action_clear(self) -> None:
        self.display = False
        self.value = ""
        self.post_message(self.Filtered("", done=True))


class StatusLine(Static):
    """The line that says the latest report, then clears itself (unless something newer was said)."""

    LINGER = 10.0  # how long its words stay

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, **kwargs)
        self._said = 0.0

    def say(self, text: str) -> None:
        import time

        self.update(text)
        said = self._said = time.monotonic()

        def clear() -> None:
            if self._said == said and self.is_attached:
                self.update("")

        self.set_timer(self.LINGER, clear)


class AppFooter(Footer):
    """The footer, with help, quit and the palette kept at its right end: at 80 columns the keys on the left are
    cut, those three never are."""

    PINNED = ("help", "app.quit")
    DEFAULT_CSS = """
    AppFooter #pinned { dock: right; width: auto; height: 1; background: $footer-background;
                        border-left: vkey $foreground 30%; padding-left: 1; }
    """

    def __init__(self) -> None:
        super().__init__(show_command_palette=False)

    def bindings_changed(self, screen) -> None:
        # Textual's footer waits for the app to have the focus; a browser tab under `serve` starts without it
        # (textual-serve's page may say "focus" before the app listens), and its footer would stay empty
        self._bindings_ready = True
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        from textual.containers import HorizontalGroup
        from textual.widgets._footer import FooterKey

        pinned, left = [], []
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.action in self.PINNED:
                pinned.append(widget)
            else:
                left.append(widget)
        if self._bindings_ready:
            try:
                _node, binding, enabled, tooltip = self.screen.active_bindings[self.app.COMMAND_PALETTE_BINDING]
                pinned.append(FooterKey(binding.key, self.app.get_key_display(binding), binding.description,
                                        binding.action, disabled=not enabled, tooltip=tooltip))
            except KeyError:
                pass
        # only whole keys on the left: one cut in the middle reads as a key that is not there ("c▏")
        room = (self.app.size.width or 80) - sum(map(self._width, pinned)) - 3
        for widget in left:
            width = self._width(widget) if isinstance(widget, FooterKey) else 0
            if width > room:
                break
            room -= width
            yield widget
        if self._bindings_ready:
            yield HorizontalGroup(*pinned, id="pinned")

    @staticmethod
    def _width(key) -> int:
        """A key's cells as the footer draws it: " k " then "Description "."""
        return len(key.key_display) + 2 + (len(key.description) + 1 if key.description else 0)

    def on_resize(self, event) -> None:
        if self.is_attached and self._bindings_ready:
            self.call_after_refresh(self.recompose)


def failure_text(err: BaseException) -> str:
    from ..core.errors import MachineError, describe_os_error

    if isinstance(err, MachineError):
        return str(err)
    if isinstance(err, OSError):
        return f"Error: {describe_os_error(err)}"
    return f"Error: {err or type(err).__name__}"


def log_action(text: str, error: bool = False, exc: BaseException | None = None) -> None:
    """What the user did in the app and what failed, in machine-tui's log (redacted, rotated); an unexpected
    failure's traceback with it, frames only."""
    from ..core.logfile import get_logger

    try:
        logger = get_logger()
        if exc is not None:
            import traceback

            text += "\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()
        (logger.error if error else logger.info)("app: %s", text)
    except Exception:  # noqa: BLE001 - logging never stops the app
        pass


class ConsoleTabs(TabbedContent):
    """Console panes, a tab each (a machine's SSH shell, a container's exec shell): opened on demand and focused,
    closed when their console asks, hidden once none is left; focus goes back to the widget the screen names."""

    def __init__(self, *, focus_back: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.focus_back = focus_back  # a selector in the screen: where the keys go when a console lets them go

    async def open(self, pane_id: str, title: str, label: str, opener: Any) -> None:
        from .console import SshConsole  # the terminal model loads with the first console, not with the app

        self.display = True
        if not self.query(f"#{pane_id}"):
            await self.add_pane(TabPane(title, SshConsole(label, opener), id=pane_id))
        self.active = pane_id
        self.get_pane(pane_id).query_one(SshConsole).focus()

    async def open_machine_shell(self, store: Any, name: str) -> None:
        """A login shell on the machine, over its own SSH (a tab per machine: opened again, it is brought back)."""

        async def opener(columns: int, lines: int):
            from ..core.service.access import open_shell

            return await open_shell(store.load(name), columns, lines)

        pane_id = "console-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        await self.open(pane_id, name, name, opener)

    async def close(self, console: Any) -> None:
        pane = console.parent
        if pane is not None and pane.id:
            await self.remove_pane(pane.id)
        if not self.query(TabPane):
            self.display = False

    def on_ssh_console_detached(self, message: Message) -> None:
        message.stop()
        self.screen.query_one(self.focus_back).focus()

    async def on_ssh_console_close_requested(self, message: Any) -> None:
        message.stop()
        await self.close(message.console)
        self.screen.query_one(self.focus_back).focus()
