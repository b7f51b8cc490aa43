"""The command palette's provider: every action on every machine, by name."""

from __future__ import annotations

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ..core.verbs import VERBS


class MachineCommands(Provider):
    """The command palette (ctrl+p): every action on every machine by name, and the app-wide ones."""

    # every verb of the core's table, then what only the app does
    PER_MACHINE = [(v.palette, f"operate('{v.name}')") for v in VERBS.values()] + [
        ("Console on", "console"), ("SSH to", "ssh"), ("Env of", "env"), ("Inspect", "inspect"), ("Log of", "log"),
        ("Remove", "remove")]

    def _commands(self):
        yield "Create a machine", "create", "open the create wizard"
        yield "Refresh the machine list", "refresh", "poll every machine now"
        for name in sorted(self._main().rows):
            for verb, action in self.PER_MACHINE:
                yield f"{verb} {name}", (name, action), f"{verb.split()[0].lower()} the machine {name}"

    def _main(self):
        return self.app.main_screen

    def _callback(self, target):
        main = self._main()
        if isinstance(target, tuple):
            return lambda: main.call_later(main.act_on, *target)
        return lambda: main.call_later(main.app.run_action, target, main)

    async def discover(self) -> Hits:
        for text, target, help in self._commands():
            yield DiscoveryHit(text, self._callback(target), help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, target, help in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), self._callback(target), help=help)
