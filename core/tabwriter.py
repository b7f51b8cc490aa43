"""Go's text/tabwriter (the parts docker-machine uses): tab-terminated cells aligned in column blocks."""

from __future__ import annotations


def _display_width(text: str) -> int:
    return len(text)


def tabwrite(text: str, minwidth: int = 0, tabwidth: int = 8, padding: int = 1, padchar: str = " ") -> str:
    lines = text.split("\n")
    # each line: list of cells; every cell but the last was tab-terminated
    rows = [line.split("\t") for line in lines]
    widths: list[list[int]] = [[0] * (len(r) - 1) for r in rows]
    _format(rows, widths, 0, 0, len(rows), minwidth, tabwidth, padding, padchar)
    out = []
    for r, w in zip(rows, widths, strict=True):
        parts = []
        for i, cell in enumerate(r[:-1]):
            parts.append(cell + _pad(_display_width(cell), w[i], tabwidth, padchar))
        parts.append(r[-1])
        out.append("".join(parts))
    return "\n".join(out)


def _pad(textw: int, cellw: int, tabwidth: int, padchar: str) -> str:
    if padchar == "\t":
        if tabwidth == 0:
            return ""
        cellw = (cellw + tabwidth - 1) // tabwidth * tabwidth
        n = cellw - textw
        return "\t" * ((n + tabwidth - 1) // tabwidth)
    return padchar * (cellw - textw)


def _format(rows: list[list[str]], widths: list[list[int]], column: int, line0: int, line1: int, minwidth: int,
            tabwidth: int, padding: int, padchar: str) -> None:
    """Go's recursive column-block algorithm: a block is a run of lines that have a cell in `column`."""
    this = line0
    while this < line1:
        if column >= len(rows[this]) - 1:
            this += 1
            continue
        # column block begins at `this`
        start = this
        width = minwidth
        while this < line1 and column < len(rows[this]) - 1:
            w = _display_width(rows[this][column]) + padding
            if w > width:
                width = w
            this += 1
        for i in range(start, this):
            widths[i][column] = width
        _format(rows, widths, column + 1, start, this, minwidth, tabwidth, padding, padchar)
