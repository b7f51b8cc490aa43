"""Modal screens of the app: confirm a removal by typing the name, show text (env, inspect), help."""

from __future__ import annotations

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
    BINDINGS = [Binding("escape,q", "close", "Close", id="text-close")]

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


def help_text(bindings, keymap: dict[str, str] | None = None) -> str:
    """The keys, generated from the app's bindings and the user's keymap, so the help never disagrees with them."""
    keymap = keymap or {}
    lines = []
    for b in bindings:
        if not b.description:
            continue
        lines.append(f"{keymap.get(b.id, b.key):<12} {b.description:<28} ({b.id})")
    from .console import SshConsole

    for b in SshConsole.BINDINGS:  # the console's own key, from its bindings too
        key = keymap.get(b.id, b.key).replace("right_square_bracket", "]")
        lines.append(f"{key:<12} {b.description + ' (in a console)':<28} ({b.id})")
    lines.append(f"{'ctrl+p':<12} {'Command palette':<28} (every action on every machine by name)")
    lines.append(f"{'mouse drag':<12} {'Select and copy (console)':<28} (shift+drag when the program uses the mouse)")
    lines.append("")
    lines.append("Keys can be remapped in keys.toml in the machine-tui config folder: [keys] binding-id = \"key\"")
    return "\n".join(lines)
