"""The live tables (machines, and a machine's containers): one row per thing, redrawn only where a value changed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable

from ..core.service.listing import Row

COLUMNS = ("NAME", "ACTIVE", "DRIVER", "STATE", "URL", "DOCKER", "ERRORS")
T = TypeVar("T")
STATE_STYLE = {"Running": "green", "Stopped": "red", "Error": "bold red", "Timeout": "yellow",
               "Paused": "yellow", "Saved": "yellow", "Starting": "cyan", "Stopping": "cyan"}


class LiveTable(DataTable, inherit_bindings=False):
    """A DataTable for live rows (machines, containers): vi-style movement, sort arrows in the header, and redraws
    only where something changed.

    Its bindings are DataTable's but Enter, which stays the screen's (it drills down, remappable): the table's own
    Enter binding would otherwise swallow it.

    Textual's own line cache is keyed on the cursor's coordinate, so every key press that moves the cursor
    re-renders every visible row (~0.4 ms each, 17-21 ms a frame with 500 machines). With a row cursor a
    line only depends on whether it is the cursor's or the mouse's row, so that is what the key holds:
    a press then redraws two lines."""

    BINDINGS: ClassVar[list[BindingType]] = [*(b for b in DataTable.BINDINGS
                                               if isinstance(b, Binding) and b.key != "enter"),
        Binding("j", "cursor_down", "Down", show=False, id="row-down"),
        Binding("k", "cursor_up", "Up", show=False, id="row-up"),
        Binding("g", "scroll_top", "First row", show=False, id="row-first"),
        Binding("G", "scroll_bottom", "Last row", show=False, id="row-last"),
        Binding("ctrl+d", "half_page(1)", "Half a page down", show=False, id="rows-half-down"),
        Binding("ctrl+u", "half_page(-1)", "Half a page up", show=False, id="rows-half-up"),
                                             ]

    def render_lines(self, crop):
        # DataTable asks for its (unchanging) style once per line; once per frame is enough
        self._frame_style = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    def render_line(self, y: int):
        if self.fixed_rows or not self.show_header or getattr(self, "_frame_style", None) is None:
            return super().render_line(y)
        scroll_x, scroll_y = self.scroll_offset
        header = self.get_row_height(self._header_row_key)
        return self._render_line(y + scroll_y if y >= header else y, scroll_x, scroll_x + self.size.width,
                                 self._frame_style)

    def _render_line(self, y: int, x1: int, x2: int, base_style):
        if self.cursor_type != "row":
            return super()._render_line(y, x1, x2, base_style)
        try:
            row_key, _ = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        if row_key not in self._row_locations:  # the header: its hover highlight follows the column
            return super()._render_line(y, x1, x2, base_style)
        index = self._row_locations.get(row_key)
        key = ("row-cursor", y, x1, x2, self.size.width, base_style, self.show_cursor,
               self.cursor_coordinate.row == index, self.hover_coordinate.row == index,
               self._show_hover_cursor, self._update_count, self._pseudo_class_state)
        # kept in Textual's line cache so that everything which clears it (styles, resize, data) clears these too
        cache: Any = self._line_cache  # keyed by what our lines depend on, not by Textual's own key shape
        strip: Strip | None = cache.get(key)
        if strip is None:
            strip = cache[key] = super()._render_line(y, x1, x2, base_style)
        return strip

    def action_half_page(self, direction: int) -> None:
        if self.row_count:
            step = max(1, (self.scrollable_content_region.height - 1) // 2)
            self.move_cursor(row=min(self.row_count - 1, max(0, self.cursor_row + direction * step)))

    # ----- sorting, as every live table does it: `o` the next column, `O` reversed, a header click that column (and
    # again: reversed). The table keeps the order and says when it changes; its screen sorts its rows by it.
    sortable: tuple[str, ...] = ()  # the column keys `o` goes through, left to right
    sort_column = ""  # "": the screen's natural order
    sort_reverse = False

    class SortChanged(Message):
        def __init__(self, table: LiveTable) -> None:
            super().__init__()
            self.table = table

    def sort_by(self, column: str, reverse: bool) -> None:
        self.sort_column, self.sort_reverse = column, reverse
        self.show_sort(column, reverse)
        self.post_message(self.SortChanged(self))

    def sort_next(self) -> None:
        columns = list(self.sortable)
        following = columns[(columns.index(self.sort_column) + 1) % len(columns)] if self.sort_column in columns \
            else columns[0]
        self.sort_by(following, False)

    def sort_turned(self) -> None:
        self.sort_by(self.sort_column or self.sortable[0], not self.sort_reverse)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        column = event.column_key.value or ""
        if column in self.sortable:
            event.stop()
            self.sort_by(column, not self.sort_reverse if column == self.sort_column else False)

    def show_sort(self, column_key: str, reverse: bool) -> None:
        """The column the rows are sorted by carries the direction's arrow in its header."""
        for key, column in self.columns.items():
            label = column.label.plain.rstrip(" ▲▼")
            wanted = f"{label} {'▼' if reverse else '▲'}" if key.value == column_key else label
            if column.label.plain != wanted:
                column.label = Text(wanted)
                column.content_width = max(column.content_width, len(wanted))
        self._require_update_dimensions = True
        self._clear_caches()  # the header's line is cached: without this the arrow shows the previous sort
        self.refresh()

    def arranged(self, items: Iterable[T], wanted: str, texts: Callable[[T], Iterable[str]],
                 natural: Callable[[T], Any], sort_keys: dict[str, Callable[[T], Any]]) -> list[T]:
        """What the filter lets through (`wanted` in any of the item's texts, case aside), in the screen's natural
        order, then by the sort column (stable: natural order within equal values), reversed if asked."""
        wanted = wanted.lower()
        shown = sorted((i for i in items if not wanted or any(wanted in t.lower() for t in texts(i))), key=natural)
        if self.sort_column in sort_keys:
            shown.sort(key=sort_keys[self.sort_column])
        if self.sort_reverse:
            shown.reverse()
        return shown

    def current_key(self) -> str:
        """The key of the row under the cursor ("" when there is none)."""
        if self.row_count == 0:
            return ""
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value or ""

    def show_rows(self, rows: list[tuple[str, tuple]]) -> None:
        """Rows as (key, cells), in order: updated in place by key so the cursor stays on its row, and only the
        rows whose text changed cost a redraw. A new order rebuilds the table."""
        wanted = [k for k, _ in rows]
        current = self.current_key()
        wanted_set = set(wanted)
        shown_keys = [k.value for k in self.rows]
        kept = set(shown_keys)
        # rows are only ever added at the end: any other order is a rebuild
        if shown_keys and [k for k in shown_keys if k in wanted_set] + [k for k in wanted if k not in kept] != wanted:
            self.clear()
        for row_key in list(self.rows):
            if row_key.value not in wanted_set:
                self.remove_row(row_key)
        shown = getattr(self, "_shown", {}) if self.row_count else {}
        for key, cells in rows:
            plain = tuple(str(c) for c in cells)
            if key in self.rows:
                if shown.get(key) != plain:
                    for (col, column), value in zip(self.columns.items(), cells, strict=True):
                        # a value wider than its column widens it ("-" then "25.0 %"); the others cost no relayout
                        self.update_cell(key, col, value, update_width=len(str(value)) > column.content_width)
            else:
                self.add_row(*cells, key=key)
            shown[key] = plain
        self._shown = {k: v for k, v in shown.items() if k in wanted_set}
        if current in wanted_set and self.cursor_row != wanted.index(current):
            self.move_cursor(row=wanted.index(current))


class MachineTable(LiveTable):
    """The live machine table: one row per machine."""

    def show(self, rows: list[Row], marked: set[str] | frozenset[str] = frozenset()) -> None:
        """The machines in this order, the marked ones with a dot."""
        cells = []
        for r in rows:
            error = r.Error
            if r.State == "Timeout" and not error:  # the others stay live; this one is named as slow
                error = f"no answer within {r.ResponseTime:g} s"
            cells.append((r.Name, ("●" if r.Name in marked else " ", r.Name, r.Active, r.DriverName,
                                   Text(r.State, style=STATE_STYLE.get(r.State, "")), r.URL, r.DockerVersion,
                                   error)))
        self.show_rows(cells)
