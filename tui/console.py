"""The embedded SSH console: a line-API widget drawing core.terminal's model of a remote shell.

Output is parsed as it arrives but drawn at most 30 times a second, and only rows that changed are rebuilt (rows
are cached as Strips; scrollback rows never change). Keys go to the remote side as an xterm would send them,
except ctrl+] which hands the keyboard back to the machine table (the telnet/virsh console convention).

The mouse goes to the remote program when it asks for it (vim's `mouse=a`, htop, mc), as in xterm; otherwise,
or with shift held, dragging selects text, which is copied to the clipboard when the button is released
(OSC 52, through the terminal running the app)."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

if TYPE_CHECKING:
    from textual.timer import Timer

from ..core.terminal import TerminalModel, encode_key, encode_mouse, encode_paste, mouse_tracking

# Textual's names for keys that type a symbol, as the terminal knows them
_SYMBOL_NAMES = {"right_square_bracket": "]", "circumflex_accent": "^", "underscore": "_", "backslash": "\\",
                 "at": "@"}


def encode_textual_key(key: str, character: str | None, screen_mode: set[int] | frozenset[int] = frozenset()) -> bytes:
    """A Textual key event (\"ctrl+left\", \"shift+tab\") in the terminal's terms, then as an xterm sends it."""
    *mods, base = key.split("+")
    return encode_key(_SYMBOL_NAMES.get(base, base), character, shift="shift" in mods, alt="alt" in mods,
                      ctrl="ctrl" in mods, screen_mode=screen_mode)

DETACH_KEY = "ctrl+right_square_bracket"
_NAMES = {"brown": "yellow", "default": None}


def _color(name: str):
    if name in _NAMES:
        return _NAMES[name]
    if len(name) == 6 and all(c in "0123456789abcdefABCDEF" for c in name):
        return "#" + name
    if name.startswith("bright"):
        base = name[6:]
        return "bright_" + (_NAMES.get(base) or base) if base != "brown" else "bright_yellow"
    return name


@lru_cache(maxsize=4096)
def style_for(fg: str, bg: str, bold: bool, italics: bool, underscore: bool, strike: bool, reverse: bool) -> Style:
    try:
        return Style(color=_color(fg), bgcolor=_color(bg), bold=bold or None, italic=italics or None,
                     underline=underscore or None, strike=strike or None, reverse=reverse or None)
    except Exception:  # a colour Rich does not know: draw the text plain rather than fail
        return Style(bold=bold or None, reverse=reverse or None)


def _attrs(ch) -> tuple:
    return ch.fg, ch.bg, ch.bold, ch.italics, ch.underscore, ch.strikethrough, ch.reverse


class SshConsole(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    SshConsole {
        background: black; color: #d0d0d0; border: round $primary 50%;
        overflow-y: scroll; scrollbar-size-vertical: 1;  /* a scrollbar coming and going would resize the pty */
    }
    SshConsole:focus { border: round $accent; }
    SshConsole.-ended { color: #808080; }
    """
    BINDINGS = [Binding(DETACH_KEY, "detach", "Back to the table", priority=True, id="console-detach")]

    class Detached(Message):
        def __init__(self, console: "SshConsole"):
            super().__init__()
            self.console = console

    class CloseRequested(Message):
        def __init__(self, console: "SshConsole"):
            super().__init__()
            self.console = console

    class Ended(Message):
        def __init__(self, console: "SshConsole", status):
            super().__init__()
            self.console = console
            self.status = status

    def __init__(self, machine: str, opener, scrollback: int = 10_000, **kwargs):
        """`opener(columns, lines)` is a coroutine giving a session: read() / write(bytes) / resize(c, l) /
        close() / exit_status (core.terminal.ShellSession, or a stand-in in tests)."""
        super().__init__(**kwargs)
        self.machine = machine
        self.opener = opener
        self.model = TerminalModel(80, 24, scrollback)
        self.session: Any = None  # a ShellSession once open
        self.ended = False
        self._anchored = True
        self._rows: dict[int, Strip] = {}  # screen row -> strip, dropped when the row changes
        self._old: dict[int, Strip] = {}  # scrollback serial -> strip
        self._changed = False
        self._cursor_row = -1
        self._resize_timer: Timer | None = None
        self._pending = b""
        self._selection: tuple[tuple[int, int], tuple[int, int]] | None = None  # (line, column) both ends
        self._selecting = False
        self.border_title = machine

    # ----- life cycle
    def on_mount(self) -> None:
        self.set_interval(1 / 30, self._flush)
        self._opened = False

    def _term_size(self) -> tuple[int, int]:
        return max(1, self.scrollable_content_region.width or 80), max(1, self.scrollable_content_region.height or 24)

    @work(exit_on_error=False, group="console")
    async def connect(self) -> None:
        self.ended = False
        self.session = None  # keys typed until the new session is open wait in _pending
        self.remove_class("-ended")
        cols, lines = self._term_size()
        self.model.resize(lines, cols)
        try:
            self.session = await self.opener(cols, lines)
        except Exception as err:  # the machine is down, SSH refused...: say it in the pane
            self._end(f"cannot open a console on {self.machine}: {err}")
            return
        if self._pending:
            self.session.write(self._pending)
            self._pending = b""
        while True:
            data = await self.session.read()
            if not data:
                break
            await self._take(data)
            await asyncio.sleep(0)  # a read satisfied from the buffer does not yield: let keys and frames in
        status = getattr(self.session, "exit_status", None)
        self._end(f"session ended (exit {status if status is not None else '?'})", status)

    async def _take(self, data: bytes) -> None:
        model = self.model
        if len(data) > 4096 and not model.takes_fast_path(data):
            # pyte parses ~0.5 MB/s: small slices keep keys and repaints flowing during a flood
            for i in range(0, len(data), 4096):
                model.feed(data[i:i + 4096])
                await asyncio.sleep(0)
        else:
            model.feed(data)
        if model.replies:
            for reply in model.replies:
                self.session.write(reply)
            model.replies.clear()
        self._changed = True

    def _end(self, text: str, status=None) -> None:
        self.ended = True
        self.add_class("-ended")
        # a multi-line error (an SSH failure, a remote's message) gets carriage returns too, not a staircase, and
        # none of its control characters reach the terminal model
        import re

        text = re.sub(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07?|.)", "", text)
        lines = ["".join(c for c in line if c.isprintable()) for line in text.splitlines() or [""]]
        lines[-1] += ": r reconnects, x closes, ctrl+] back to the table"
        body = "\r\n".join(f"\x1b[7m{line}\x1b[0m" for line in lines)
        self.model.feed(f"\r\n\x1b[7m[\x1b[0m{body}\x1b[7m]\x1b[0m".encode())
        self._changed = True
        self.post_message(self.Ended(self, status))

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.close()

    # ----- drawing
    def _flush(self) -> None:
        dirty = self.model.take_dirty()
        cursor = self.model.cursor.y
        if not dirty and not self._changed and cursor == self._cursor_row:
            return
        self._changed = False
        if dirty and self._selection and not self._selecting:
            self._selection = None  # the text under it changed: as xterm, forget it
        for row in dirty | {cursor, self._cursor_row}:
            self._rows.pop(row, None)
        self._cursor_row = cursor
        total = self.model.total_lines
        if self.virtual_size.height != total or self.virtual_size.width != self.model.columns:
            self.virtual_size = Size(self.model.columns, total)
        if self._anchored:
            self.scroll_to(y=max(0, total - self.scrollable_content_region.height), animate=False, immediate=True)
        self.refresh()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._anchored = new >= self.max_scroll_y

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_offset.y) + y
        model = self.model
        if index >= model.total_lines:
            return Strip.blank(width, self.rich_style)
        behind = len(model.scrollback)
        if index < behind:
            serial = model.scrolled_out - behind + index
            strip = self._old.get(serial)
            if strip is None:
                strip = self._build(model.scrollback[index], -1)
                if len(self._old) > 4 * max(1, self.size.height):
                    self._old.clear()
                self._old[serial] = strip
        else:
            row = index - behind
            show_cursor = row == model.cursor.y and self.has_focus and not model.cursor.hidden and not self.ended
            strip = None if show_cursor else self._rows.get(row)
            if strip is None:
                strip = self._build(model.buffer[row], model.cursor.x if show_cursor else -1)
                if not show_cursor:
                    self._rows[row] = strip
        strip = strip.adjust_cell_length(width, self.rich_style)
        return self._show_selection(strip, index) if self._selection else strip

    SELECTION_STYLE = Style(color="black", bgcolor="#87afd7")

    def _show_selection(self, strip: Strip, index: int) -> Strip:
        assert self._selection is not None
        (l1, c1), (l2, c2) = sorted(self._selection)
        if not l1 <= index <= l2:
            return strip
        lo = c1 if index == l1 else 0
        hi = c2 + 1 if index == l2 else strip.cell_length
        if hi <= lo:
            return strip
        left, middle, right = strip.divide([lo, hi, strip.cell_length])
        marked = Strip([Segment(text, (style or Style()) + self.SELECTION_STYLE, control)
                        for text, style, control in middle])
        return Strip.join([left, marked, right])

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._rows.clear()
        self._old.clear()

    def _build(self, row, cursor_x: int) -> Strip:
        base = self.rich_style  # the pane's own colours under the terminal's "default"
        if isinstance(row, list):  # runs from the fast path
            return Strip([Segment(text, base + style_for(*_attrs(ch))) for text, ch in row])
        segments: list[Segment] = []
        run: list[str] = []
        run_attrs: Any = None
        default = self.model.default_char
        for x in range(self.model.columns):
            ch = row.get(x, default) if isinstance(row, dict) else row[x]
            if ch.data == "":  # the second half of a wide character
                continue
            attrs = _attrs(ch)
            if x == cursor_x:
                attrs = attrs[:6] + (not attrs[6],)
            if attrs != run_attrs:
                if run:
                    segments.append(Segment("".join(run), base + style_for(*run_attrs)))
                run, run_attrs = [], attrs
            run.append(ch.data)
        if run:
            segments.append(Segment("".join(run), base + style_for(*run_attrs)))
        return Strip(segments)

    def on_resize(self, event: events.Resize) -> None:
        if not self._opened:  # the first layout gives the size the remote pty starts with
            self._opened = True
            self.connect()
            return
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(0.075, self._apply_size)

    def _apply_size(self) -> None:
        cols, lines = self._term_size()
        if (cols, lines) == (self.model.columns, self.model.lines):
            return
        self.model.resize(lines, cols)
        self._rows.clear()
        self._old.clear()
        if self.session is not None and not self.ended:
            self.session.resize(cols, lines)
        self._changed = True

    def on_focus(self) -> None:
        self.border_subtitle = "ctrl+] back to the table"
        self._changed = True

    def on_blur(self) -> None:
        self.border_subtitle = ""
        self._changed = True

    # ----- input
    def action_detach(self) -> None:
        self.post_message(self.Detached(self))

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if self.ended:
            if event.key == "r":
                self.connect()
            elif event.key == "x":
                self.post_message(self.CloseRequested(self))
            return
        data = encode_textual_key(event.key, event.character, self.model.mode)
        if not data:
            return
        if self._selection:
            self._selection = None
            self.refresh()
        if self.session is None:  # still connecting
            self._pending += data
            return
        self.session.write(data)
        self._anchored = True

    # ----- mouse: reported to the remote program when it tracks it, else selection and copy
    def _cell(self, event) -> tuple[int, int] | None:
        offset = event.get_content_offset(self)
        return None if offset is None else (offset.x, offset.y)

    def _report_mouse(self, kind: str, button: int, event) -> bool:
        """Send the event to the remote program if it tracks the mouse (shift keeps it here, as in xterm)."""
        if self.session is None or self.ended or event.shift or not mouse_tracking(self.model.mode):
            return False
        cell = self._cell(event)
        if cell is None:
            return False
        data = encode_mouse(kind, button, cell[0], cell[1], self.model.mode, meta=event.meta, ctrl=event.ctrl)
        if data:
            self.session.write(data)
        return True

    def on_mouse_down(self, event: events.MouseDown) -> None:
        if self._report_mouse("down", event.button, event):
            event.stop()
            return
        cell = self._cell(event)
        if event.button != 1 or cell is None:
            return
        event.stop()
        self.focus()
        at = (int(self.scroll_offset.y) + cell[1], cell[0])
        self._selection, self._selecting = (at, at), True
        self.capture_mouse()
        self.refresh()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._selecting and self._selection is not None:
            offset = event.get_content_offset_capture(self)
            line = max(0, min(self.model.total_lines - 1, int(self.scroll_offset.y) + offset.y))
            column = max(0, min(self.model.columns - 1, offset.x))
            if self._selection[1] != (line, column):
                self._selection = (self._selection[0], (line, column))
                self.refresh()
            event.stop()
        elif event.button or mouse_tracking(self.model.mode) == 1003:
            if self._report_mouse("move", event.button, event):
                event.stop()

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._selecting and self._selection is not None:
            self._selecting = False
            self.release_mouse()
            event.stop()
            start, end = self._selection
            if start == end:  # a click, not a drag
                self._selection = None
                self.refresh()
                return
            text = self.model.text_between(start, end)
            self.app.copy_to_clipboard(text)
            self.notify(f"Copied {len(text)} characters from the console of {self.machine}", timeout=2)
        elif self._report_mouse("up", event.button, event):
            event.stop()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if self._report_mouse("wheel", 4, event):
            event.stop()
            event.prevent_default()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if self._report_mouse("wheel", 5, event):
            event.stop()
            event.prevent_default()

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        if self.session is not None and not self.ended:
            self.session.write(encode_paste(event.text, self.model.mode))
