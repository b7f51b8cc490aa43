"""Modal screens of the app: confirm a removal by typing the name, show text (env, inspect), help."""

from __future__ import annotations

import os

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class ConfirmRemove(ModalScreen[bool]):
    """Removal deletes the VM and its files: the user types the name(s) to confirm."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm-cancel")]

    def __init__(self, names: list[str]):
        super().__init__()
        self.names = names
        self.expected = " ".join(names)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Remove {', '.join(self.names)}? This deletes both the local reference and the remote "
                        "instance.")
            yield Label(f"Type [b]{self.expected}[/] and press Enter to confirm, Escape to cancel.")
            yield Input(placeholder=self.expected, id="confirm-name")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() == self.expected)

    def action_cancel(self) -> None:
        self.dismiss(False)


class TextScreen(ModalScreen[None]):
    """A text to read (help, env, inspect): scrolled with the keys every table here moves by."""

    BINDINGS = [Binding("escape,q", "close", "Close", id="text-close"),
                Binding("j,down", "scroll('down')", "Down", show=False, id="text-down"),
                Binding("k,up", "scroll('up')", "Up", show=False, id="text-up"),
                Binding("g,home", "scroll('home')", "Top", show=False, id="text-top"),
                Binding("G,end", "scroll('end')", "Bottom", show=False, id="text-bottom"),
                Binding("ctrl+d,pagedown", "scroll('page_down')", "Page down", show=False, id="text-page-down"),
                Binding("ctrl+u,pageup", "scroll('page_up')", "Page up", show=False, id="text-page-up")]

    def action_scroll(self, where: str) -> None:
        getattr(self.query_one(VerticalScroll), f"scroll_{where}")(animate=False)

    def __init__(self, title: str, text: str):
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"[b]{self.title_text}[/]  (Escape to close)")
            with VerticalScroll():
                yield Static(self.text, markup=False, id="text-body")

    def action_close(self) -> None:
        self.dismiss(None)


def key_display(keys: str) -> str:
    """"question_mark" -> "?", "j,down" -> "j/down": the keys as they are pressed."""
    from textual.keys import key_to_character

    shown = []
    for key in keys.split(","):
        char = {"slash": "/"}.get(key) or (key_to_character(key) if len(key) > 1 and "+" not in key else None)
        shown.append(char if char and char.isprintable() and char != " " else key.replace("right_square_bracket", "]"))
    return "/".join(shown)


def help_text(bindings, keymap: dict[str, str] | None = None, sections=()) -> str:
    """The keys, generated from the live bindings and the user's keymap, so the help never disagrees with them:
    the screen's own, then each (title, bindings) section after. Each line is a key, what it does and the id that
    keys.toml remaps it by, narrow enough for an 80-column terminal."""
    from .preferences import config_folder

    keymap = keymap or {}
    lines = []

    def line(key: str, what: str, ident: str = "") -> str:
        return f"{key:<8} {what:<27} {ident}".rstrip()

    def add(group) -> None:
        for b in group:
            if not b.description:
                continue
            key = key_display(keymap.get(b.id, b.key) if b.id else b.key)
            lines.append(line(key, b.description, b.id or ""))

    add(bindings)
    from .console import SshConsole

    for title, group in (*sections, ("In a console tab", SshConsole.BINDINGS)):
        lines += ["", f"{title}:"]
        add(group)
    lines.append(line("r", "Reconnect (the session ended)"))
    lines.append(line("x", "Close the tab (the session ended)"))
    lines += ["", "Anywhere:"]
    lines.append(line("ctrl+p", "Command palette", "(every action, by name)"))
    lines.append(line("ctrl+q", "Quit"))
    lines.append(line("drag", "Select and copy (console)", "(shift: in mouse programs)"))
    lines.append("")
    lines.append("Keys are remapped by id in")
    lines.append(f"  {os.path.join(config_folder(), 'keys.toml')}")
    lines.append('  [keys] then e.g. machine-remove = "delete"')
    return "\n".join(lines)


class ConfirmAction(ModalScreen[bool]):
    """A yes/no question before an action that costs something (stop, kill, a container's removal); `a` answers yes
    and stops the app asking (settings.toml's confirm_stop, which turns it back on)."""

    BINDINGS = [Binding("y,enter", "answer(True)", "Yes", id="confirm-yes"),
                Binding("n,escape", "answer(False)", "No", id="confirm-no"),
                Binding("a", "always", "Yes, and stop asking", id="confirm-always")]

    def __init__(self, question: str, cost: str, can_stop_asking: bool = True):
        super().__init__()
        self.question, self.cost, self.can_stop_asking = question, cost, can_stop_asking

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"[b]{self.question}[/] {self.cost}", id="confirm-question")
            keys = "y or Enter: yes · n or Escape: no"
            if self.can_stop_asking:
                keys += " · a: yes, and stop asking (confirm_stop in settings.toml)"
            yield Label(keys, classes="flag-label")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_always(self) -> None:
        if not self.can_stop_asking:
            return
        prefs = self.app.preferences  # type: ignore[attr-defined]
        prefs.confirm_stop = False
        problem = prefs.save()
        if problem:
            self.notify(f"Not kept for next time: {problem}", severity="warning")
        self.dismiss(True)
