"""Command-line parsing and help in docker-machine's (codegangsta/cli) style, so that its users' scripts,
habits and help pages carry over. Kept free of heavy imports: `--version` must start fast."""

from __future__ import annotations

from ..core.errors import MachineError
from ..core.flags import Flag, parse_flag_value
from ..core.tabwriter import tabwrite

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    from typing import Any


class Opt:
    """A command-line option: a Flag plus its one-letter alias."""

    __slots__ = ("flag", "short")

    def __init__(self, flag: Flag, short: str = ""):
        self.flag, self.short = flag, short

    @property
    def name(self) -> str:
        return self.flag.name

    def help_cell(self) -> str:
        f = self.flag
        names = f"--{f.name}" + (f", -{self.short}" if self.short else "")
        if f.kind == "bool":
            text = names
        elif f.kind == "list":
            text = f"{names} [--{f.name} option --{f.name} option]"
        else:
            text = f'{names} "{f.default}"' if f.default not in ("", None) else f"{names} "
        usage = f.usage + (f" [${f.env}]" if f.env else "")
        return f"{text}\t{usage}"


class Command:
    __slots__ = ("name", "usage", "description", "opts", "skip_flag_parsing", "handler")

    def __init__(self, name: str, usage: str, description: str = "", opts: list | None = None,
                 skip_flag_parsing: bool = False, handler: str = ""):
        self.name, self.usage, self.description = name, usage, description
        self.opts = opts or []
        self.skip_flag_parsing = skip_flag_parsing
        self.handler = handler  # "module:function" in machine_tui.cli, imported when the command runs


class UsageError(MachineError):
    """Bad flags: docker-machine prints `Incorrect Usage.` and the command's help."""


def command_help(prog: str, cmd: Command, opts: list[Opt] | None = None) -> str:
    opts = cmd.opts if opts is None else opts
    text = f"Usage: {prog} {cmd.name} [OPTIONS] [arg...]\n\n{cmd.usage}\n"
    if cmd.description:
        text += f"\nDescription:\n   {cmd.description}\n"
    if opts:
        text += "\nOptions:\n   " + "".join("\n   " + o.help_cell() for o in opts) + "\n"
    return tabwrite(text, 0, 8, 1, "\t")


def app_help(prog: str, version: str, global_opts: list[Opt], commands: list[Command]) -> str:
    text = (
        f"Usage: {prog} [OPTIONS] COMMAND [arg...]\n\n"
        "Create and manage machines running Docker.\n"
        f"With no command, on a terminal, {prog} opens its full-screen app; `{prog} serve` opens it in a browser."
        " (machine-tui)\n\n"
        f"Version: {version}\n\n"
        "Author:\n  machine-tui contributors\n\n"
        "Options:\n  " + "".join(o.help_cell() + "\n  " for o in global_opts) + "\n"
        "Commands:\n  " + "".join(f"{c.name}\t{c.usage}\n  " for c in commands) + "\n"
        f"Run '{prog} COMMAND --help' for more information on a command.\n"
    )
    return tabwrite(text, 0, 8, 1, "\t")


def parse_args(args: list[str], opts: list[Opt], stop_at_first_positional: bool = False):
    """Go-flag-like parsing: --name value, --name=value, -n value, -name; bools take no value.
    Flags may follow positional arguments; `--` ends the flags."""
    by_name: dict[str, Opt] = {}
    for o in opts:
        by_name[o.name] = o
        if o.short:
            by_name[o.short] = o
    values: dict[str, Any] = {}
    explicit: set[str] = set()
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            positional.extend(args[i + 1:])
            break
        if arg.startswith("-") and len(arg) > 1 and not (stop_at_first_positional and positional):
            body = arg.lstrip("-")
            name, eq, inline = body.partition("=")
            opt = by_name.get(name)
            if opt is None:
                if name in ("h", "help"):
                    raise HelpRequested()
                raise UsageError(f"flag provided but not defined: -{name}")
            f = opt.flag
            if f.kind == "bool":
                value = parse_flag_value(f, inline) if eq else True
            else:
                if not eq:
                    i += 1
                    if i >= len(args):
                        raise UsageError(f"flag needs an argument: -{name}")
                    inline = args[i]
                value = parse_flag_value(f, inline) if f.kind != "list" else inline
            if f.kind == "list":
                if f.name not in explicit:
                    values[f.name] = []
                values[f.name].append(value)
            else:
                values[f.name] = value
            explicit.add(f.name)
        else:
            positional.append(arg)
            if stop_at_first_positional:
                positional.extend(args[i + 1:])
                break
        i += 1
    for o in opts:
        if o.name not in values:
            values[o.name] = o.flag.initial()
    return values, positional, explicit


class HelpRequested(Exception):
    pass
