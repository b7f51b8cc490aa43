"""The live machine table: one row per machine, redrawn only where a value changed."""

from __future__ import annotations

from textual.widgets import DataTable

from ..core.listing import Row

COLUMNS = ("NAME", "ACTIVE", "DRIVER", "STATE", "URL", "DOCKER", "ERRORS")
STATE_STYLE = {"Running": "green", "Stopped": "red", "Error": "bold red", "Timeout": "yellow",
               "Paused": "yellow", "Saved": "yellow", "Starting": "cyan", "Stopping": "cyan"}


class MachineTable(DataTable, inherit_bindings=False):
    """DataTable whose rows are redrawn only when they change.

    Its bindings are DataTable's but Enter, which stays the app's (SSH, remappable): the table's own Enter
    binding would otherwise swallow it.

    Textual's own line cache is keyed on the cursor's coordinate, so every key press that moves the cursor
    re-renders every visible row (~0.4 ms each, 17-21 ms a frame with 500 machines). With a row cursor a
    line only depends on whether it is the cursor's or the mouse's row, so that is what the key holds:
    a press then redraws two lines."""

    BINDINGS = [b for b in DataTable.BINDINGS if b.key != "enter"]

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
        strip = self._line_cache.get(key)
        if strip is None:
            strip = self._line_cache[key] = super()._render_line(y, x1, x2, base_style)
        return strip

    def show(self, rows: list[Row], marked: set[str] = frozenset()) -> None:
        """Update in place by row key so the cursor stays on the same machine."""
        from rich.text import Text

        wanted = {r.Name for r in rows}
        for key in list(self.rows):
            if key.value not in wanted:
                self.remove_row(key)
        shown = getattr(self, "_shown", {})
        for r in rows:
            error = r.Error
            if r.State == "Timeout" and not error:  # the others stay live; this one is named as slow
                error = f"no answer within {r.ResponseTime:g} s"
            cells = ("●" if r.Name in marked else " ", r.Name, r.Active, r.DriverName,
                     Text(r.State, style=STATE_STYLE.get(r.State, "")), r.URL, r.DockerVersion, error)
            plain = tuple(str(c) for c in cells)
            if r.Name in self.rows:
                if shown.get(r.Name) != plain:  # only rows that changed cost a redraw
                    for col, value in zip(self.columns, cells, strict=True):
                        self.update_cell(r.Name, col, value)
            else:
                self.add_row(*cells, key=r.Name)
            shown[r.Name] = plain
        self._shown = {k: v for k, v in shown.items() if k in wanted}
