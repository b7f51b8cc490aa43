"""The terminal behind the TUI's SSH console: a pyte screen with the alternate screen and a scrollback, and the
keys and mouse reports a terminal sends (the remote shell session is core/shell_session.py). No Textual or Rich
here: the widget only draws this.

pyte lacks the alternate screen (vim, htop and less would leave their frame over the shell) and keeps no
scrollback of its own that is cheap to use; both are added here. pyte parses about 0.5 MB/s in pure Python, so a
flood of plain text (`cat` of a big log) takes a fast path: the lines that scroll out of sight go to the scrollback
as plain text runs without passing through pyte, with the same result on screen."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

import pyte
from pyte import modes as pyte_modes

ALT_SCREEN_MODES = {47 << 5, 1047 << 5, 1049 << 5}
DECCKM = 1 << 5
BRACKETED_PASTE = 2004 << 5
SCROLLBACK = 10_000
# printable ASCII, CR LF and colour/attribute changes (SGR): what logs and build output are made of
_PLAIN = re.compile(rb"(?:[\x20-\x7e\r\n]++|\x1b\[[0-9;]*+m)*+\Z")  # possessive: no backtracking
_SGR = re.compile(r"\x1b\[([0-9;]*)m")


class TerminalModel(pyte.Screen):
    """pyte.Screen plus alternate screen and scrollback; rows changed since the last draw are in `dirty`.

    Scrollback entries are either a row dict (column -> Char) copied off the screen, or a list of (text, Char)
    runs from the fast path."""

    def __init__(self, columns: int, lines: int, scrollback: int = SCROLLBACK):
        super().__init__(columns, lines)
        self.scrollback: deque[Any] = deque(maxlen=scrollback)
        self.scrolled_out = 0  # lines ever pushed to the scrollback (a stable key for caches)
        self._saved_main: tuple[Any, ...] | None = None
        self._sgr_cache: dict[tuple[Any, str], Any] = {}
        self.replies: list[bytes] = []  # answers to the remote's queries (cursor position, attributes)
        self.stream = pyte.ByteStream(self)

    # ----- feeding
    def feed(self, data: bytes) -> None:
        split = self._fast_split(data)
        if split is None:
            self.stream.feed(data)
            return
        head, body, tail = split
        if head:
            self.stream.feed(head)
        self._feed_plain(body)
        if tail:
            self.stream.feed(tail)

    def takes_fast_path(self, data: bytes) -> bool:
        return self._fast_split(data) is not None

    def _fast_split(self, data: bytes) -> tuple[bytes, bytes, bytes] | None:
        """(head, body, tail) when `body` can take the fast path; a CR LF or an escape sequence cut in two by the
        reads stays out of it (head/tail go through pyte)."""
        if len(data) <= 4096:
            return None
        head = b"\n" if data.startswith(b"\n") else b""
        tail = b"\r" if data.endswith(b"\r") else b""
        esc = data.rfind(b"\x1b", max(0, len(data) - 32))
        if esc >= 0 and b"m" not in data[esc:]:
            tail = data[esc:]
        body = data[len(head):len(data) - len(tail)]
        return (head, body, tail) if self._can_take_fast_path(body) else None

    def _can_take_fast_path(self, data: bytes) -> bool:
        return (
            _PLAIN.match(data) is not None
            and data.count(b"\n") == data.count(b"\r\n") == data.count(b"\r")
            and self._saved_main is None
            and self.margins is None
            and pyte_modes.DECAWM in self.mode
            and pyte_modes.IRM not in self.mode
            and pyte_modes.LNM not in self.mode
            and self.charset == 0
            and self.g0_charset is pyte.charsets.LAT1_MAP
            and getattr(self.stream, "_taking_plain_text", True) is not False
        )

    def _feed_plain(self, data: bytes) -> None:
        """CR LF separated printable ASCII: lines that only pass through go straight to the scrollback."""
        lines = data.split(b"\r\n")
        head, middle, tail = lines[0], lines[1:-1], lines[-1]
        self.stream.feed(head + b"\r\n")
        # through pyte until the cursor rests at the start of an empty bottom row
        while middle and (self.cursor.y < self.lines - 1 or self._bottom_row_used()):
            self.stream.feed(middle.pop(0) + b"\r\n")
        if len(middle) > self.lines:
            rows = []
            for raw in middle:
                rows.extend(self._wrapped_runs(raw.decode("ascii")))
            keep = self.lines - 1
            virtual = [dict(self.buffer[y]) for y in range(keep)] + rows
            out, stay = virtual[:-keep], virtual[-keep:]
            self.scrollback.extend(out)
            self.scrolled_out += len(out)
            self.buffer.clear()
            for y, row in enumerate(stay):
                line = self.buffer[y]
                if isinstance(row, dict):
                    line.update(row)
                    continue
                x = 0
                for text, attrs in row:
                    for ch in text:
                        line[x] = attrs._replace(data=ch)
                        x += 1
            self.cursor.x, self.cursor.y = 0, self.lines - 1
            self.dirty.update(range(self.lines))
            middle = []
        for raw in middle:
            self.stream.feed(raw + b"\r\n")
        if tail:
            self.stream.feed(tail)

    def _wrapped_runs(self, text: str) -> list[list[Any]]:
        """One line of output as screen rows of (text, style) runs, SGR applied by pyte's own code (remembered
        per style and sequence: logs repeat a few) and wrapped at the right margin as autowrap does."""
        runs: list[Any] = []
        width, cache = 0, self._sgr_cache
        for i, part in enumerate(_SGR.split(text)):
            if i % 2:
                key = (self.cursor.attrs, part)
                after = cache.get(key)
                if after is None:
                    self.select_graphic_rendition(*[int(p) for p in part.split(";") if p])
                    if len(cache) > 4096:
                        cache.clear()
                    cache[key] = self.cursor.attrs
                else:
                    self.cursor.attrs = after
            elif part:
                runs.append((part, self.cursor.attrs))
                width += len(part)
        cols = self.columns
        if width <= cols:
            return [runs]
        rows: list[list[Any]] = []
        row: list[Any] = []
        used = 0
        for part, attrs in runs:
            while part:
                if used == cols:
                    rows.append(row)
                    row, used = [], 0
                piece, part = part[:cols - used], part[cols - used:]
                row.append((piece, attrs))
                used += len(piece)
        rows.append(row)
        return rows

    def _bottom_row_used(self) -> bool:
        return any(c.data not in (" ", "") for c in self.buffer[self.lines - 1].values())

    # ----- scrollback and alternate screen
    def index(self) -> None:
        top, bottom = self.margins or pyte.screens.Margins(0, self.lines - 1)
        if self.cursor.y == bottom and top == 0 and self._saved_main is None:
            self.scrollback.append(dict(self.buffer[top]))
            self.scrolled_out += 1
        super().index()

    def set_mode(self, *modes: Any, **kwargs: Any) -> None:
        private = kwargs.get("private", False)
        if private and any((m << 5) in ALT_SCREEN_MODES for m in modes) and self._saved_main is None:
            self._saved_main = ({y: dict(self.buffer[y]) for y in range(self.lines)},
                                (self.cursor.x, self.cursor.y, self.cursor.attrs))
            self.buffer.clear()
            self.dirty.update(range(self.lines))
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: Any, **kwargs: Any) -> None:
        private = kwargs.get("private", False)
        if private and any((m << 5) in ALT_SCREEN_MODES for m in modes) and self._saved_main is not None:
            rows, (x, y, attrs) = self._saved_main
            self._saved_main = None
            self.buffer.clear()
            for row, cells in rows.items():
                if row < self.lines:
                    self.buffer[row].update({c: v for c, v in cells.items() if c < self.columns})
            self.cursor.x, self.cursor.y = min(x, self.columns - 1), min(y, self.lines - 1)
            self.cursor.attrs = attrs
            self.dirty.update(range(self.lines))
        super().reset_mode(*modes, **kwargs)

    @property
    def in_alternate_screen(self) -> bool:
        return self._saved_main is not None

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        lines, columns = max(1, lines or self.lines), max(1, columns or self.columns)
        if lines < self.lines and self._saved_main is None:
            # rows cut off the top on shrinking are kept, as terminals do
            drop = max(0, self.cursor.y - (lines - 1))
            for y in range(drop):
                self.scrollback.append(dict(self.buffer[y]))
            self.scrolled_out += drop
        super().resize(lines, columns)
        self.dirty.update(range(self.lines))

    def write_process_input(self, data: str) -> None:
        self.replies.append(data.encode())

    # ----- reading
    def take_dirty(self) -> set[int]:
        rows = set(self.dirty)
        self.dirty.clear()
        return rows

    @property
    def total_lines(self) -> int:
        return len(self.scrollback) + self.lines

    def line(self, index: int) -> Any:
        """Row `index` counted from the oldest scrollback line: a dict of Chars or a list of (text, Char) runs."""
        if index < len(self.scrollback):
            return self.scrollback[index]
        return self.buffer[index - len(self.scrollback)]

    def line_text(self, index: int) -> str:
        """Row `index` (counted as in line()) as plain text, trailing blanks dropped."""
        row = self.line(index)
        if isinstance(row, list):
            return "".join(text for text, _ in row).rstrip()
        return "".join(row[x].data if x in row else " " for x in range(self.columns)).rstrip()

    def text_lines(self) -> list[str]:
        """What a user sees, scrollback included, as plain text (tests and copy)."""
        return [self.line_text(i) for i in range(self.total_lines)]

    def text_between(self, start: tuple[int, int], end: tuple[int, int]) -> str:
        """The text from (line, column) to (line, column), both included, in either order: a selection."""
        (l1, c1), (l2, c2) = sorted((start, end))
        lines = []
        for index in range(max(0, l1), min(l2, self.total_lines - 1) + 1):
            text = self.line_text(index)
            lo = c1 if index == l1 else 0
            hi = c2 + 1 if index == l2 else len(text)
            lines.append(text[lo:hi].rstrip())
        return "\n".join(lines)


# ----- keys
_CSI_LETTER = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}
_TILDE = {"insert": 2, "delete": 3, "pageup": 5, "pagedown": 6, "f5": 15, "f6": 17, "f7": 18, "f8": 19,
          "f9": 20, "f10": 21, "f11": 23, "f12": 24}
_SS3_F = {"f1": "P", "f2": "Q", "f3": "R", "f4": "S"}
_UNMODIFIED = {"enter": b"\r", "tab": b"\t", "backspace": b"\x7f", "escape": b"\x1b", "space": b" "}
_CTRL_SYMBOL = {"@": 0x00, "space": 0x00, "\\": 0x1C, "]": 0x1D, "^": 0x1E, "_": 0x1F}


def encode_key(name: str, text: str | None = None, *, shift: bool = False, alt: bool = False, ctrl: bool = False,
               screen_mode: set[int] | frozenset[int] = frozenset()) -> bytes:
    """The bytes an xterm sends for a key: `name` is the key's name ("up", "f5", "enter", "pageup") or, for a key
    that types, its character ("a", "]"); `text` is what it types. Modifiers as xterm's 1 + shift + 2·alt + 4·ctrl."""
    special = name in _CSI_LETTER or name in _TILDE or name in _SS3_F
    if alt and not special:  # meta sends ESC before what the key sends alone
        inner = encode_key(name, text if text and text != "\x1b" else None, shift=shift, ctrl=ctrl,
                           screen_mode=screen_mode)
        return b"\x1b" + inner if inner else b""
    m = 1 + shift + 2 * alt + 4 * ctrl
    if name in _CSI_LETTER:
        if m > 1:
            return f"\x1b[1;{m}{_CSI_LETTER[name]}".encode()
        return (b"\x1bO" if DECCKM in screen_mode else b"\x1b[") + _CSI_LETTER[name].encode()
    if name in _TILDE:
        return (f"\x1b[{_TILDE[name]};{m}~" if m > 1 else f"\x1b[{_TILDE[name]}~").encode()
    if name in _SS3_F:
        return (f"\x1b[1;{m}{_SS3_F[name]}" if m > 1 else f"\x1bO{_SS3_F[name]}").encode()
    if name == "tab" and shift and not ctrl:
        return b"\x1b[Z"
    if ctrl and not shift:
        if len(name) == 1 and name.isascii() and name.isalpha():
            return bytes([ord(name.lower()) & 0x1F])
        if name in _CTRL_SYMBOL:
            return bytes([_CTRL_SYMBOL[name]])
    if not (shift or ctrl) and name in _UNMODIFIED:
        return _UNMODIFIED[name]
    if text:
        return text.encode()
    return b""


def encode_paste(text: str, screen_mode: set[int] | frozenset[int]) -> bytes:
    data = text.replace("\r\n", "\r").replace("\n", "\r").encode()
    return b"\x1b[200~" + data + b"\x1b[201~" if BRACKETED_PASTE in screen_mode else data


# ----- mouse
MOUSE_X10, MOUSE_PRESS_RELEASE, MOUSE_DRAG, MOUSE_ANY = 9 << 5, 1000 << 5, 1002 << 5, 1003 << 5
MOUSE_SGR = 1006 << 5
_BUTTON_CODE = {1: 0, 2: 1, 3: 2}  # left, middle, right


def mouse_tracking(screen_mode: Any) -> int:
    """Which mouse reports the remote program asked for: 0 none, 9 presses, 1000 +releases, 1002 +drags,
    1003 +every move (DECSET numbers)."""
    for level, mode in ((1003, MOUSE_ANY), (1002, MOUSE_DRAG), (1000, MOUSE_PRESS_RELEASE), (9, MOUSE_X10)):
        if mode in screen_mode:
            return level
    return 0


def encode_mouse(kind: str, button: int, x: int, y: int, screen_mode: Any, shift: bool = False, meta: bool = False,
                 ctrl: bool = False) -> bytes:
    """What an xterm sends for a mouse event at cell (x, y) (0-based) when the program tracks the mouse.

    kind: "down", "up", "move" or "wheel" (button 4 up, 5 down); button: 1 left, 2 middle, 3 right, 0 none.
    Empty when the program's tracking level does not ask for this event."""
    level = mouse_tracking(screen_mode)
    moves_unwanted = kind == "move" and (level < 1002 or (level == 1002 and not button))
    if not level or (kind == "up" and level == 9) or moves_unwanted:
        return b""
    if kind == "wheel":
        code = 64 + (button - 4)
    elif kind == "move":
        code = 32 + _BUTTON_CODE.get(button, 3)
    elif kind == "up" and MOUSE_SGR not in screen_mode:
        code = 3  # the legacy encoding cannot say which button went up
    else:
        code = _BUTTON_CODE.get(button, 0)
    if level != 9:  # X10 compatibility mode reports no modifiers
        code += 4 * shift + 8 * meta + 16 * ctrl
    if MOUSE_SGR in screen_mode:
        return f"\x1b[<{code};{x + 1};{y + 1}{'m' if kind == 'up' else 'M'}".encode()
    if x > 222 or y > 222:  # beyond what one byte can carry: xterm sends nothing
        return b""
    return b"\x1b[M" + bytes([32 + code, 33 + x, 33 + y])
