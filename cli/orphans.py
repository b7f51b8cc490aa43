"""`machine-tui orphans -d DRIVER [--remove]`: what the cloud holds for this store that no machine owns."""

from __future__ import annotations

from ..core.errors import MachineError
from .commands import COMMANDS_BY_NAME, PROG
from .context import run
from .parse import Command, HelpRequested, Opt, UsageError, command_help, parse_args


def cmd_orphans(ctx, opts_unused, args):
    from ..core.flags import Flag
    from ..core.service import orphans
    from ..core.service.catalog import driver_flags
    from .context import driver_from_argv

    clouds = orphans.cloud_driver_names()
    named = any(a in ("-d", "--driver", "-driver") or a.startswith(("-d=", "--driver=", "-driver=")) for a in args)
    driver_name = driver_from_argv(args) if named else ""
    flags = driver_flags(driver_name) if driver_name in clouds else []
    opts = [Opt(Flag("driver", f"Cloud driver: {', '.join(clouds)}"), "d"),
            Opt(Flag("remove", "Remove what is listed (asks first unless -y)", "bool", False)),
            Opt(Flag("y", "Assumes yes to the removal, without prompting", "bool", False))]
    opts += [Opt(f) for f in flags]
    cmd = COMMANDS_BY_NAME["orphans"]
    shown = Command(cmd.name, cmd.usage, cmd.description)
    try:
        values, positional, _ = parse_args(args, opts)
    except HelpRequested:
        ctx.out.write(command_help(PROG, shown, opts))
        return 0
    except UsageError as err:
        raise MachineError(str(err)) from None
    if positional:
        raise MachineError(f"Invalid command line. Found extra arguments [{' '.join(positional)}]")
    if driver_name not in clouds:
        raise MachineError(f"orphans looks in a cloud: give -d {' or -d '.join(clouds)}")
    found = run(orphans.find(ctx.store, driver_name, values))
    if not found:
        ctx.err.write(f"No orphans: every {driver_name} resource tagged with this store belongs to one of its "
                      "machines\n")
        return 0
    from ..core.tabwriter import tabwrite

    rows = ["KIND\tID\tMACHINE\tDETAIL\tWHY"] + [
        f"{o.kind}\t{o.id}\t{o.machine or '-'}\t{o.detail or '-'}\t{o.why}" for o in found]
    ctx.out.write(tabwrite("\n".join(rows) + "\n", padding=3))
    if not values.get("remove"):
        ctx.err.write(f"{len(found)} orphaned: {PROG} orphans -d {driver_name} --remove removes them\n")
        return 0
    if not values.get("y"):
        ctx.err.write(f"Remove these {len(found)}? [y/N]: ")
        ctx.err.flush()
        if ctx.stdin.readline().strip().lower() not in ("y", "yes"):
            ctx.err.write("Nothing was removed\n")
            return 1
    problems = run(orphans.remove(driver_name, values, found))
    if problems:
        raise MachineError("; ".join(problems))
    ctx.err.write(f"Removed {len(found)} orphaned resource{'s' if len(found) != 1 else ''}\n")
    return 0
