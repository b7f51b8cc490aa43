"""`swarm`: Swarm mode across machines (init, join, leave, ls, drain, activate, services), through the core's
swarm module: each engine spoken to over its own TLS, join tokens never shown."""

from __future__ import annotations

import json

from ..core.errors import MachineError
from .commands import PROG, SWARM_COMMANDS
from .context import run
from .parse import HelpRequested, Opt, UsageError, parse_args

USAGE = f"""Usage: {PROG} swarm COMMAND [OPTIONS] [arg...]

Swarm mode across machines: each engine is spoken to through its Docker API over the machine's TLS

Commands:
{SWARM_COMMANDS}"""


def _opts() -> list[Opt]:
    from ..core.flags import Flag

    return [Opt(Flag("advertise-addr", "Address the other nodes reach the manager at (default: chosen per driver)")),
            Opt(Flag("manager", "Join as a manager", "bool", False)),
            Opt(Flag("force", "Leave even a manager's swarm, losing its quorum", "bool", False), "f"),
            Opt(Flag("json", "Print the result as JSON", "bool", False))]


def cmd_swarm(ctx, opts_unused, args):
    from ..core.service import swarm

    if not args or args[0] in ("-h", "--help", "help"):
        ctx.out.write(USAGE)
        return 0 if args else 1
    sub, rest = args[0], args[1:]
    if sub == "create":
        return create_cluster(ctx, rest)
    try:
        opts, names, _ = parse_args(rest, _opts())
    except HelpRequested:
        ctx.out.write(USAGE)
        return 0
    except UsageError as err:
        raise MachineError(f"{err}\n{USAGE}") from None
    report = ctx.reporter()

    def need(count: str) -> None:
        if (count == "one" and len(names) != 1) or (count == "many" and len(names) < 1) or \
                (count == "manager+many" and len(names) < 2):
            raise MachineError(f"Error: swarm {sub}: wrong number of machines\n{USAGE}")

    if sub == "init":
        need("one")
        run(swarm.init(ctx.store, names[0], report, opts.get("advertise-addr") or ""))
        ctx.say(f"Add workers with: {PROG} swarm join {names[0]} NAME...")
    elif sub == "join":
        need("manager+many")
        run(swarm.join(ctx.store, names[0], names[1:], report, as_manager=bool(opts.get("manager"))))
    elif sub == "leave":
        need("many")
        run(swarm.leave(ctx.store, names, report, force=bool(opts.get("force"))))
    elif sub in ("ls", "services"):
        manager = names[0] if names else _a_manager(ctx)
        if sub == "ls":
            found = run(swarm.nodes(ctx.store, manager))
            if opts.get("json"):
                ctx.out.write(json.dumps([n.to_json() for n in found], indent=2) + "\n")
            else:
                _table(ctx, ["MACHINE", "ROLE", "LEADER", "AVAILABILITY", "STATUS", "ENGINE", "ADDRESS"],
                       [[n.machine, n.role, "*" if n.leader else "", n.availability, n.status, n.engine, n.address]
                        for n in found])
        else:
            rows = run(swarm.services(ctx.store, manager))
            if opts.get("json"):
                ctx.out.write(json.dumps(rows, indent=2) + "\n")
            else:
                _table(ctx, ["SERVICE", "REPLICAS"], [[r["name"], f"{r['running']}/{r['desired']}"] for r in rows])
    elif sub in ("drain", "activate"):
        need("one")
        host = ctx.store.load(names[0])
        role, cluster = swarm.recorded_role(host)
        if not cluster:
            raise MachineError(f"{names[0]} is in no swarm machine-tui made (swarm join puts it in one)")
        run(swarm.set_availability(ctx.store, cluster, names[0], "drain" if sub == "drain" else "active", report))
    else:
        raise MachineError(f"Error: swarm has no command {sub!r}\n{USAGE}")
    return 0


def _a_manager(ctx) -> str:
    """The manager `swarm ls` asks when none is named: the first machine recorded as one."""
    from ..core.service.swarm import recorded_role

    for name in sorted(ctx.store.list_names()):
        try:
            if recorded_role(ctx.store.load(name))[0] == "manager":
                return name
        except MachineError:
            continue
    raise MachineError(f"No machine is a swarm manager: name one ({PROG} swarm ls MANAGER) or make one "
                       f"({PROG} swarm init NAME)")


def _table(ctx, header: list[str], rows: list[list[str]]) -> None:
    from ..core.tabwriter import tabwrite

    text = "\n".join("\t".join(r) for r in [header] + rows) + "\n"
    ctx.out.write(tabwrite(text, padding=3))


def create_cluster(ctx, args) -> int:
    """`swarm create PREFIX -d DRIVER --managers M --workers W [driver flags]`: the app's `N`, from a shell."""
    from ..core.createflags import create_flags
    from ..core.flags import Flag
    from ..core.hostconfig import invalid_name_message
    from ..core.service.catalog import driver_flags
    from .batch import batch_reporters
    from .commands import COMMANDS_BY_NAME
    from .context import driver_from_argv, terminal_line
    from .parse import command_help

    driver_name = driver_from_argv(args)
    size = [Opt(Flag("managers", "Managers of the new swarm (the first one makes it)", "int", 1, bounds=(1, 7))),
            Opt(Flag("workers", "Workers joining it", "int", 2, bounds=(0, 1000)))]
    opts = [Opt(f, "d" if f.name == "driver" else "") for f in create_flags(driver_flags(driver_name))
            if not f.name.startswith("swarm-mode") and f.name not in ("count", "batch")] + size
    try:
        values, positional, explicit = parse_args(args, opts)
    except HelpRequested:
        ctx.out.write(command_help(PROG, COMMANDS_BY_NAME["swarm"], opts))
        return 0
    except UsageError as err:
        raise MachineError(str(err)) from None
    if len(positional) != 1 or not positional[0]:
        raise MachineError(f"swarm create takes one name prefix: {PROG} swarm create sw -d DRIVER makes sw1, sw2...")
    for flag, _short in [(o.flag, o.short) for o in size]:
        if flag.problem(values.get(flag.name)):
            raise MachineError(flag.problem(values.get(flag.name)))
    managers, workers = values.pop("managers"), values.pop("workers")
    parallel = values.pop("parallel", 4) or 4
    prefix = positional[0]
    names = [f"{prefix}{i}" for i in range(1, managers + workers + 1)]
    for name in names:
        if invalid_name_message(name):
            raise MachineError(f"Error creating machine {name!r}: {invalid_name_message(name)}")
        if ctx.store.exists(name):
            raise MachineError(f'Docker machine "{name}" already exists')
    explicit = set(explicit) - {"managers", "workers", "parallel"}
    with batch_reporters(ctx, names) as (reporter_for, finished):
        failures = run(ctx.machines.create_cluster(
            prefix, driver_name, values, managers, workers, reporter_for, finished, parallel, ctx.tls_files(),
            not values.get("no-docker-context"), explicit, say=terminal_line(ctx), prog=PROG))
    made = [n for n in names if n not in failures]
    ctx.say(f"Created {len(made)} of {len(names)} machines of the swarm {prefix}" + (f": {', '.join(made)}" if made
                                                                                      else ""))
    for name, error in failures.items():
        ctx.warn(f"{name}: {error}")
    if failures:
        raise MachineError(f"{len(failures)} of {len(names)} machines failed: {', '.join(failures)}")
    ctx.say(f"See it with: {PROG} swarm ls {names[0]}")
    return 0
