"""The application layer: one table of what can be done to a machine. The CLI's commands, the app's keys, footer,
command palette and help are all read from it, so a verb is added once (an entry here plus its function) and every
front end has it, with the same states it fits, the same store effects and the same options.

A verb's function is named "module:function" in the core and imported when the verb runs; it is called as
`await fn(store, host, report, options)`."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

from .flags import Flag

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    from typing import Any

    from .events import Reporter
    from .hostconfig import Host
    from .store import Store

    VerbFunction = Callable[[Store, Host, Reporter, dict[str, Any]], Awaitable[None]]


class Verb:
    """One thing a user does to a machine. A plain class: the CLI reads this table on every start."""

    __slots__ = ("name", "title", "summary", "key", "run", "fits", "busy", "options", "prompt", "announce", "after",
                 "palette", "in_footer")

    def __init__(self, name: str, title: str, summary: str, key: str, run: str | VerbFunction, *,
                 fits: Callable[[str], bool] | None = None, busy: str = "", options: tuple[tuple[Flag, str], ...] = (),
                 prompt: str = "", announce: str = "", after: str = "", palette: str = "", in_footer: bool = True):
        self.name = name  # the CLI command, and the app's binding id "machine-NAME"
        self.title = title  # the footer's and the help's word
        self.summary = summary  # the CLI's one-line help
        self.key = key  # the app's default key (keys.toml remaps it by id)
        self.run = run  # "module:function" in machine_tui.core (imported when the verb runs), or the function
        self.fits = fits  # a machine state -> does the verb make sense there (None: always); dims the footer
        self.busy = busy  # what the app's row says while the verb runs ("Starting")
        self.options = options  # ((Flag, short letter), ...): CLI options; the app runs with their defaults
        self.prompt = prompt  # a question the CLI asks first unless --force/-f is given
        self.announce = announce  # a line the CLI prints before it starts
        self.after = after  # a line the CLI prints when every machine is done ({prog} is the program's name)
        self.palette = palette or title  # "Start" -> "Start web1" in the command palette
        self.in_footer = in_footer

    @property
    def binding_id(self) -> str:
        return f"machine-{self.name}"

    def function(self) -> VerbFunction:
        if callable(self.run):
            return self.run
        module, func = self.run.split(":")
        found: VerbFunction = getattr(importlib.import_module(f"{__package__}.{module}"), func)
        return found

    def defaults(self) -> dict[str, Any]:
        return {flag.name: flag.initial() for flag, _ in self.options}

    async def __call__(self, store: Store, host: Host, report: Reporter, options: dict[str, Any] | None = None) -> None:
        await self.function()(store, host, report, {**self.defaults(), **(options or {})})


FORCE = (Flag("force", "Force rebuild and do not prompt", "bool"), "f")
CLIENT_CERTS = (Flag("client-certs", "Also regenerate client certificates and CA.", "bool"), "")
NEW_IPS = "{verb} machines may have new IP addresses. You may need to re-run the `{prog} env` command."

VERBS: dict[str, Verb] = {v.name: v for v in (
    Verb("start", "Start", "Start a machine", "s", "operations:start", fits=lambda st: st != "Running",
         busy="Starting", after=NEW_IPS.replace("{verb}", "Started")),
    Verb("stop", "Stop", "Stop a machine", "x", "operations:stop", fits=lambda st: st != "Stopped",
         busy="Stopping"),
    Verb("kill", "Kill", "Kill a machine", "K", "operations:kill", fits=lambda st: st != "Stopped",
         busy="Stopping"),
    Verb("restart", "Restart", "Restart a machine", "R", "operations:restart", busy="Starting",
         after=NEW_IPS.replace("{verb}", "Restarted")),
    Verb("provision", "Provision", "Re-provision existing machines", "P", "operations:provision"),
    Verb("regenerate-certs", "Regenerate certs", "Regenerate TLS Certificates for a machine", "C",
         "operations:regenerate_certs", options=(FORCE, CLIENT_CERTS), in_footer=False,
         prompt="Regenerate TLS machine certs?  Warning: this is irreversible. (y/n): ",
         announce="Regenerating TLS certificates",
         palette="Regenerate certs of"),
    Verb("upgrade", "Upgrade", "Upgrade a machine to the latest version of Docker", "U", "operations:upgrade",
         in_footer=False, palette="Upgrade Docker on"),
)}


def verb(name: str) -> Verb:
    return VERBS[name]
