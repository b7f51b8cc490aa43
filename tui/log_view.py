"""A container's log, followed: a line-API widget that keeps a long scrollback and draws only the lines on screen
(10 MB of log is a list of strings, not widgets), search with / n N, and following that pauses when you scroll up."""

from __future__ import annotations

import asyncio
import codecs
import time

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Input, Static

SCROLLBACK = 200_000  # lines kept; the oldest go first
MATCH = Style(bgcolor="yellow", color="black")


class LogView(ScrollView, can_focus=True):
    """Lines appended as they come; the view sticks to the end while following."""

    BINDINGS = [
        Binding("j,down", "scroll_down", "Down", show=False, id="log-down"),
        Binding("k,up", "scroll_up", "Up", show=False, id="log-up"),
        Binding("g,home", "first", "Top", show=False, id="log-top"),
        Binding("G,end", "last", "End (follow)", show=False, id="log-end"),
        Binding("ctrl+d,pagedown", "page(1)", "Page down", show=False, id="log-page-down"),
        Binding("ctrl+u,pageup", "page(-1)", "Page up", show=False, id="log-page-up"),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
    ]

    def __init__(self, scrollback: int = SCROLLBACK, **kwargs):
        super().__init__(**kwargs)
        self.lines: list[str] = []
        self.scrollback = scrollback
        self.partial = ""  # the last line, until its newline comes
        self.widest = 0
        self.following = True
        self.search = ""
        self.dropped = 0  # lines gone out of the scrollback
        self._rendered: dict[int, Strip] = {}

    # ----- taking text
    def append(self, text: str) -> None:
        if not text:
            return
        text = self.partial + text.replace("\r\n", "\n")
        parts = text.split("\n")
        self.partial = parts.pop()
        if not parts:
            self._resize()
            return
        self.lines.extend(parts)
        self.widest = max(self.widest, max(map(len, parts)))
        over = len(self.lines) - self.scrollback
        if over > 0:
            del self.lines[:over]
            self.dropped += over
            self._rendered.clear()
        self._resize()

    def finish(self) -> None:
        """The stream ended: a last line without its newline is a line too."""
        if self.partial:
            self.lines.append(self.partial)
            self.partial = ""
            self._resize()

    @property
    def line_count(self) -> int:
        return len(self.lines) + (1 if self.partial else 0)

    def _line(self, index: int) -> str:
        return self.lines[index] if index < len(self.lines) else self.partial

    def _resize(self) -> None:
        self.virtual_size = Size(self.widest + 1, self.line_count)
        if self.following:  # after the refresh: the new size is what the end is measured against
            self.scroll_end(animate=False, immediate=False, x_axis=False, force=True)
        self._rendered.pop(len(self.lines) - 1, None)
        self._rendered.pop(len(self.lines), None)
        self.refresh()

    # ----- drawing: only the lines in view, each made once
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if index >= self.line_count:
            return Strip.blank(width, self.rich_style)
        strip = self._rendered.get(index)
        if strip is None:
            text = Text.from_ansi(self._line(index), no_wrap=True, end="")
            if self.search:
                text.highlight_words([self.search], MATCH, case_sensitive=False)
            strip = Strip(list(Segment.apply_style(text.render(self.app.console), self.rich_style)))
            if index < len(self.lines):
                self._rendered[index] = strip
                if len(self._rendered) > 4000:  # a cache of what was seen lately, not of the whole log
                    self._rendered.clear()
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def on_resize(self) -> None:
        if self.following:  # lines that came before the view had its size: the end is where it shows
            self.scroll_end(animate=False, immediate=False, x_axis=False, force=True)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        # scrolled up by hand: stop following; back at the end: follow again
        self.following = new >= self.max_scroll_y

    # ----- moving
    def action_first(self) -> None:
        self.following = False
        self.scroll_to(y=0, animate=False)

    def action_last(self) -> None:
        self.following = True
        self.scroll_to(y=self.max_scroll_y, animate=False)

    def action_page(self, direction: int) -> None:
        step = max(1, self.scrollable_content_region.height // 2)
        self.scroll_to(y=max(0, min(self.max_scroll_y, self.scroll_y + direction * step)), animate=False)

    # ----- search
    def find(self, term: str, forward: bool = True) -> int | None:
        """The next line (after the top of the view, or before it) holding `term`; it comes into view."""
        if term != self.search:
            self.search = term
            self._rendered.clear()
            self.refresh()
        if not term:
            return None
        wanted = term.lower()
        start = int(self.scroll_y) + (1 if forward else -1)
        count = self.line_count
        order = range(start, count) if forward else range(min(start, count - 1), -1, -1)
        for index in order:
            if wanted in self._line(index).lower():
                self.following = False
                self.scroll_to(y=index, animate=False)
                return index
        return None


class LogScreen(Screen[None]):
    """A container's log: the last lines, then what it writes next, as `docker logs -f` shows them."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="log-back"),
        Binding("slash", "search", "Search", id="log-search"),
        Binding("n", "next(True)", "Next match", id="log-next"),
        Binding("N", "next(False)", "Previous match", id="log-previous"),
        Binding("f", "follow", "Follow", id="log-follow"),
        Binding("w", "whole", "Whole log", id="log-whole"),
    ]

    def __init__(self, engine, container_id: str, name: str, tail: int | str = 10_000):
        super().__init__()
        self.engine, self.container_id, self.container_name, self.tail = engine, container_id, name, tail
        self.received = 0
        self.ended = ""
        self.started = time.monotonic()

    def compose(self) -> ComposeResult:
        yield Static(id="log-title")
        yield LogView(id="log")
        yield Input(placeholder="search the log (Enter finds; n and N go on)", id="log-search-box")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#log-search-box").display = False
        self.query_one(LogView).focus()
        self.show_title()
        self.set_interval(0.5, self.show_title)
        self.stream()

    def show_title(self) -> None:
        view = self.query_one(LogView)
        state = self.ended or ("following" if view.following else "paused: G follows again")
        self.query_one("#log-title", Static).update(
            f"[b]{self.engine.name} / {self.container_name}[/] — logs, {view.line_count:,} lines, "
            f"{self.received / 1e6:.1f} MB — {state}")

    @work(exclusive=True, group="log")
    async def stream(self) -> None:
        from ..core.errors import MachineError
        from ..core.service.containers import follow_logs

        view = self.query_one(LogView)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        pending: list[str] = []
        last = time.monotonic()
        timer = None

        def flush() -> None:
            nonlocal timer, last
            if timer is not None:
                timer.stop()
            timer, last = None, time.monotonic()
            if pending:
                view.append("".join(pending))
                pending.clear()

        try:
            async for data in follow_logs(self.engine, self.container_id, tail=self.tail):
                self.received += len(data)
                pending.append(decoder.decode(data))
                # many small writes are shown a frame at a time, not one redraw each; what comes last before the
                # log goes quiet is shown a frame later (it would wait for the next line otherwise)
                if time.monotonic() - last > 0.05:
                    flush()
                elif timer is None:
                    timer = self.set_timer(0.06, flush)
                await asyncio.sleep(0)
            self.ended = "the container stopped: the log ended"
        except MachineError as err:
            self.ended = f"the log stopped: {err}"
        flush()
        view.append(decoder.decode(b"", final=True))
        view.finish()
        self.show_title()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_follow(self) -> None:
        view = self.query_one(LogView)
        if view.following:
            view.following = False
        else:
            view.action_last()
        self.show_title()

    def action_whole(self) -> None:
        """The whole log from its first line (the view starts with the last lines)."""
        view = self.query_one(LogView)
        view.lines.clear()
        view.partial, view.widest, view.dropped, self.received = "", 0, 0, 0
        view._rendered.clear()
        self.tail, self.ended = "all", ""
        self.stream()

    def action_search(self) -> None:
        box = self.query_one("#log-search-box", Input)
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        view = self.query_one(LogView)
        view.focus()
        if view.find(event.value.strip()) is None and event.value.strip():
            self.notify(f"{event.value.strip()!r} is not in the log below this point", severity="warning")
        self.show_title()

    def action_next(self, forward: bool) -> None:
        view = self.query_one(LogView)
        if view.search and view.find(view.search, forward) is None:
            self.notify(f"no more {view.search!r} {'below' if forward else 'above'}", severity="warning")
