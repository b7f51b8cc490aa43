"""The command palette's provider: every action on every machine, by name."""

from __future__ import annotations

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ..core.verbs import VERBS


class MachineCommands(Provider):
    """The command palette (ctrl+p): every action on every machine by name, and the app-wide ones."""

    # every verb of the core's table, then what only the app does: (the command, its action, what it does)
    PER_MACHINE = [(v.palette, f"operate('{v.name}')", v.summary.replace("machines", "the machine")
                    .replace("a machine", "the machine")) for v in VERBS.values()] + [
        ("Open", "open", "into the machine: its containers, images, volumes and engine"),
        ("Details of", "details", "the detail pane: driver, IP, image, certificates' expiry"),
        ("Console on", "console", "a shell on the machine, in a tab below the table"),
        ("SSH to", "ssh", "SSH into the machine in this terminal"),
        ("Env of", "env", "the lines that point the docker client at the machine"),
        ("Inspect", "inspect", "the machine's config.json"),
        ("Log of", "log", "what operations said, and the VM's console"),
        ("Swarm of", "cluster", "the machine's swarm: nodes and services"),
        ("Remove", "remove", "delete the machine and what its driver made")]

    def _commands(self):
        yield "Create a machine", "create", "open the create wizard"
        yield "Refresh the machine list", "refresh", "poll every machine now"
        for name in sorted(self._main().rows):
            for verb, action, what in self.PER_MACHINE:
                yield f"{verb} {name}", (name, action), f"{name}: {what}"

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
