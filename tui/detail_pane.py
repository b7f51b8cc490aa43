"""The detail pane beside the machine table: what the store says of the machine under the cursor (its driver's own
facts: region, size, address, ports...), with the live table's state, URL, Docker version and error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import VerticalScroll
from textual.widgets import Static

if TYPE_CHECKING:
    from ..core.service.listing import Row
    from ..core.store import Store


class DetailPane(VerticalScroll):
    def compose(self):
        yield Static(id="details-text")

    def on_mount(self) -> None:
        self.display = False

    def show(self, store: Store, name: str | None, row: Row | None) -> None:
        """The machine's facts, when the pane is open (a closed pane reads nothing)."""
        if not self.display:
            return
        from rich.text import Text

        from ..core.errors import MachineError
        from ..core.service.access import machine_details

        text = Text()
        if name:
            text.append(name + "\n\n", style="bold")
            try:
                facts = machine_details(store.load(name))
            except MachineError as err:
                facts = [("Error", str(err))]
            if row is not None:
                facts[1:1] = [("State", row.State), ("URL", row.URL or "-"), ("Docker", row.DockerVersion or "-")]
                if row.Error:
                    facts.append(("Error", row.Error))
            for label, value in facts:
                text.append(f"{label}\n", style="dim")
                text.append(f"  {value}\n")
        self.query_one("#details-text", Static).update(text)


def machine_log(store: Store, name: str, history: list[str]) -> str:
    """What the app's operations said of a machine, then the tail of its serial console where its driver keeps one
    (the log view, `l`)."""
    import os

    lines = list(history) or ["(no operation run from this app yet)"]
    try:
        from ..core.service.access import console_log_path

        console = console_log_path(store.load(name))
    except Exception:  # noqa: BLE001 - a machine that cannot be read still has its history
        console = ""
    if console and os.path.exists(console):
        with open(console, errors="replace") as fh:
            tail = fh.read()[-8000:]
        lines += ["", f"--- serial console ({console}) ---", tail]
    return "\n".join(lines)
