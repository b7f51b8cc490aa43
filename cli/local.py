"""The commands that need no SSH: ls, inspect, status, url, ip, config, env, rm, create, start/stop/kill/restart,
version, completion, build-image."""

from __future__ import annotations

import os

from ..core.errors import MachineError
from .commands import COMMANDS_BY_NAME, PROG, version_text
from .context import (
    driver_from_argv,
    fleet_names,
    load_hosts,
    run,
    run_at_once,
    run_verb_on_hosts,
    target_name,
    target_names,
    terminal_line,
)
from .parse import Command, HelpRequested, Opt, UsageError, command_help, parse_args


def cmd_version(ctx, opts, args):
    if not args:
        ctx.say(f"{PROG} version {version_text()}")
        return 0
    ctx.say(run(ctx.machines.docker_version(target_name(ctx, args))))
    return 0


def cmd_ls(ctx, opts, args):
    from ..core.service import listing

    filters = listing.parse_filters(opts["filter"])
    if opts["quiet"]:
        for name in listing.quiet_names(ctx.store, filters):
            ctx.say(name)
        return 0
    fmt = opts["format"]
    if fmt and not opts["json"]:
        from ..core.gotemplate import Template, TemplateError

        try:
            Template(fmt.strip().removeprefix("table").replace("\\t", "\t").replace("\\n", "\n"), funcs={})
        except TemplateError as err:
            raise MachineError(str(err)) from None
    rows = listing.list_machines_at_once(ctx.store, float(opts["timeout"]), filters)  # none machines: no loop
    if rows is None:
        rows = run(listing.list_machines(ctx.store, float(opts["timeout"]), filters))
    if opts["json"]:
        import json

        ctx.out.write(json.dumps([r.to_json() for r in rows], indent=2) + "\n")
        return 0
    from ..core.gotemplate import TemplateError

    try:
        ctx.out.write(listing.render(rows, fmt))
    except TemplateError as err:
        raise MachineError(str(err)) from None
    return 0


def cmd_active(ctx, opts, args):
    from ..core.service import listing

    if args:
        raise MachineError("Error: Too many arguments given")
    found = ctx.machines.active_at_once()  # none machines: no event loop, no TLS check (none can time out)
    if found is not None:
        if not found:
            raise MachineError("No active host found")
        ctx.say(found)
        return 0
    rows = run(listing.list_machines(ctx.store, float(opts["timeout"])))
    for row in rows:
        if row.ActiveHost or row.ActiveSwarm:
            ctx.say(row.Name)
            return 0
    if any(r.State == "Timeout" for r in rows):
        raise MachineError("Error getting active host: timeout")
    raise MachineError("No active host found")


def cmd_inspect(ctx, opts, args):
    from ..core import gojson

    if len(args) > 1:
        ctx.out.write(command_help(PROG, COMMANDS_BY_NAME["inspect"]))
        raise MachineError("Error: Expected one machine name as an argument")
    host = ctx.store.load(target_name(ctx, args))
    if opts["json"] or not opts["format"]:
        ctx.out.write(gojson.marshal_indent(host.doc) + "\n")
        return 0
    import json

    from ..core.gotemplate import Template, TemplateError

    data = json.loads(gojson.marshal(host.doc))
    try:
        ctx.out.write(Template(opts["format"]).execute(data) + "\n")
    except TemplateError as err:
        raise MachineError(f"template parsing error: {err}") from None
    return 0


def cmd_status(ctx, opts, args):
    from ..core.service.access import machine_state
    from ..core.store import LoadError, create_problem

    name = target_name(ctx, args)
    try:
        host = ctx.store.load(name)
    except LoadError:
        if not create_problem(ctx.store.machine_dir(name)):
            raise
        # a create killed before it wrote the config: the machine is in Error, as ls says
        ctx.say(json_state(name, "Error") if opts["json"] else "Error")
        return 0

    async def state():
        try:
            return str(await machine_state(host))
        except MachineError as err:
            raise MachineError(f"error getting state for host {host.name}: {err}") from None

    value = run_at_once(state) if ctx.machines.answers_at_once(name) else run(state())
    if create_problem(host.dir):
        value = "Error"
    ctx.say(json_state(host.name, value) if opts["json"] else value)
    return 0


def json_state(name: str, state: str) -> str:
    import json

    return json.dumps({"Name": name, "State": state})


def cmd_url(ctx, opts, args):
    name = target_name(ctx, args)
    if ctx.machines.answers_at_once(name):
        ctx.say(run_at_once(lambda: ctx.machines.url(name)))
    else:
        ctx.say(run(ctx.machines.url(name)))
    return 0


def cmd_ip(ctx, opts, args):
    from ..core.service.access import machine_ip

    hosts = load_hosts(ctx, target_names(ctx, args))

    async def all_ips():
        errors = []

        async def one(h):
            try:
                ctx.say(await machine_ip(h))
            except MachineError as err:
                errors.append(f"Error getting IP address: {err}")

        import asyncio

        await asyncio.gather(*(one(h) for h in hosts))
        if errors:
            raise MachineError("\n".join(errors))

    if ctx.machines.answers_at_once(*(h.name for h in hosts)):
        for h in hosts:  # each answers from its record: one after the other, no event loop
            try:
                ctx.say(run_at_once(lambda h=h: machine_ip(h)))
            except MachineError as err:
                raise MachineError(f"Error getting IP address: {err}") from None
        return 0
    run(all_ips())
    return 0


def run_verb(name: str, ctx, opts, args):
    """A verb of the core's table on every named machine at once (docker-machine's runAction), with the verb's
    own question, announcement and closing line."""
    from ..core.verbs import verb

    v = verb(name)
    if v.prompt and not opts.get("force"):
        ctx.out.write(v.prompt)
        ctx.out.flush()
        line = ctx.stdin.readline()
        if not line:
            raise MachineError("Error reading answer: EOF")
        if not line.strip().lower().startswith("y"):
            return 0
    names = fleet_names(ctx, opts, args)
    if v.announce:
        ctx.say(v.announce)
    run_verb_on_hosts(ctx, name, names, opts, opts.get("parallel") or 0)
    if v.after:
        ctx.say(v.after.format(prog=PROG))
    return 0


def cmd_config(ctx, opts, args):
    name = target_name(ctx, args)
    if ctx.machines.answers_at_once(name):
        ctx.out.write(run_at_once(lambda: ctx.machines.docker_flags(name, opts["swarm"], prog=PROG, at_once=True)))
    else:
        ctx.out.write(run(ctx.machines.docker_flags(name, opts["swarm"], prog=PROG)))
    return 0


def cmd_env(ctx, opts, args):
    from ..core.service import shellenv

    if opts["unset"]:
        if args:
            raise MachineError("Error: Expected no machine name when the -u flag is present")
        shell = _shell(ctx, opts)
        names = list(shellenv.UNSET_NAMES)
        if opts["no-proxy"]:
            names.append(shellenv.no_proxy_var()[0])
        ctx.out.write(shellenv.render_unset(shell, names, [PROG] + ctx.argv))
        return 0
    if len(args) > 1:
        raise MachineError("Error: Expected one machine name as an argument")
    name = target_name(ctx, args)
    ctx.store.load(name)  # a missing machine is said before the shell is
    shell = _shell(ctx, opts)  # a shell we cannot write for is refused before any connection
    if ctx.machines.answers_at_once(name):  # the TLS check on a blocking socket, no event loop
        ctx.out.write(run_at_once(lambda: ctx.machines.env(name, shell, opts["swarm"], opts["no-proxy"], prog=PROG,
                                                           argv=[PROG] + ctx.argv, at_once=True)))
    else:
        ctx.out.write(run(ctx.machines.env(name, shell, opts["swarm"], opts["no-proxy"], prog=PROG,
                                           argv=[PROG] + ctx.argv)))
    return 0


def _shell(ctx, opts) -> str:
    from ..core.service import shellenv

    try:
        return shellenv.detect_shell(opts["shell"])
    except shellenv.UnknownShell:
        ctx.out.write(shellenv.NO_SHELL_NOTICE)
        raise MachineError("Error: Unknown shell") from None


def cmd_rm(ctx, opts, args):
    from ..core.errors import RemoveFailed, printable

    if not args:
        ctx.out.write(command_help(PROG, COMMANDS_BY_NAME["rm"]))
        raise MachineError("Error: Expected to get one or more machine names as arguments")
    force = opts["force"]
    ctx.say(f"About to remove {', '.join(printable(n) for n in args)}")
    ctx.say("WARNING: This action will delete both local reference and remote instance.")
    if not (force or opts["y"]):
        ctx.out.write("Are you sure? (y/n): ")
        ctx.out.flush()
        line = ctx.stdin.readline() if ctx.stdin else ""
        if not line.strip().lower().startswith("y"):
            return 0
    report = ctx.reporter()
    errors = []
    for name in args:
        try:
            run(ctx.machines.remove(name, force, report))
        except MachineError as err:
            if force and not isinstance(err, RemoveFailed):
                ctx.warn(str(err))
            else:
                errors.append(str(err))
    if errors:
        raise MachineError("\n".join(errors))
    return 0


def cmd_create(ctx, opts_unused, args):
    from ..core.createflags import create_flags
    from ..core.errors import DriverNotFound
    from ..core.service.catalog import check_driver
    from ..core.service.catalog import driver_flags as flags_of

    driver_name = driver_from_argv(args)
    try:
        driver_flags = flags_of(driver_name)
    except DriverNotFound:
        if any(a in ("-h", "--help", "-help") for a in args):
            driver_flags = []
        else:
            raise
    opts = [Opt(f, "d" if f.name == "driver" else "") for f in create_flags(driver_flags)]
    cmd = COMMANDS_BY_NAME["create"]
    cmd_for_help = Command(cmd.name, cmd.usage, cmd.description.format(prog=PROG))
    try:
        values, positional, explicit = parse_args(args, opts)
    except HelpRequested:
        ctx.out.write(command_help(PROG, cmd_for_help, opts))
        return 0
    except UsageError as err:
        ctx.out.write("Incorrect Usage.\n\n" + command_help(PROG, cmd_for_help, opts))
        raise MachineError(str(err)) from None
    if not positional:
        ctx.out.write(command_help(PROG, cmd_for_help, opts))
        raise MachineError("Error: No machine name specified")
    check_driver(driver_name)  # unknown driver: same error as docker-machine, before anything is written
    for flag in create_flags([]):
        if flag.name in ("count", "parallel") and flag.problem(values.get(flag.name)):
            raise MachineError(flag.problem(values.get(flag.name)))
    count, parallel = values.pop("count", 0) or 0, values.pop("parallel", 4)
    batch = values.pop("batch", False)
    if "count" in explicit and not count:
        raise MachineError("--count 0 makes no machine: give 1 or more")
    if count:
        if len(positional) != 1:
            raise MachineError(f"--count takes one name to number: {PROG} create --count 3 web makes web1, web2 "
                               "and web3")
        if not positional[0]:
            raise MachineError(f"--count needs a name to number: {PROG} create --count 3 web makes web1, web2 "
                               "and web3")
        names = [f"{positional[0]}{i}" for i in range(1, count + 1)]
    elif batch:
        names = positional
    elif len(positional) > 1:
        # docker-machine's words: a misplaced flag value must never become a second machine
        raise MachineError(f"Invalid command line. Found extra arguments [{' '.join(positional[1:])}]")
    else:
        names = positional
    if len(names) > 1:
        from .batch import create_batch

        return create_batch(ctx, names, driver_name, values, explicit, parallel)
    name = names[0]
    with ctx.live_reporter() as report:
        run(_create_with_progress(ctx, name, driver_name, values, report, explicit))
    ctx.say(
        "To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: "
        f"{PROG} env {name}"
    )
    return 0


async def _create_with_progress(ctx, name, driver_name, values, report, explicit):
    # Ctrl-C, SIGTERM, SIGHUP: nothing half-made stays behind, as the app's `z` leaves nothing
    await ctx.machines.create(name, driver_name, values, report, ctx.tls_files(),
                              context=not values.get("no-docker-context"), explicit=explicit,
                              say=terminal_line(ctx), prog=PROG)


def cmd_app(ctx, opts, args):
    """The app, also where stdin and stdout are not a terminal (a browser tab's process under `serve`)."""
    from ..tui.app import run_app

    refuse_extra_arguments(args)
    os.environ["MACHINE_STORAGE_PATH"] = ctx.store.path
    return run_app()


def cmd_drivers(ctx, opts, args):
    from ..core.service.catalog import available_drivers
    from ..core.tabwriter import tabwrite

    refuse_extra_arguments(args)
    rows = ["NAME\tORIGIN\tVERSION"] + [f"{n}\t{o}\t{v}" for n, o, v in available_drivers()]
    ctx.out.write(tabwrite("\n".join(rows) + "\n", padding=3))
    return 0


def cmd_completion(ctx, opts, args):
    from .completion import script

    if len(args) != 1:
        raise MachineError("Error: Expected one shell name (bash, zsh or fish) as an argument")
    ctx.out.write(script(args[0]))
    return 0


def refuse_extra_arguments(args) -> None:
    if args:  # docker-machine's words: a misplaced value is never silently ignored
        raise MachineError(f"Invalid command line. Found extra arguments [{' '.join(args)}]")


def cmd_build_image(ctx, opts, args):
    import subprocess
    from importlib.resources import files

    refuse_extra_arguments(args)
    script = str(files("machine_tui.core").joinpath("build-image.sh"))
    out_root = opts.get("output") or os.path.join(ctx.store.path, "cache", "images")
    argv = ["bash", script, out_root] + (["cloud-init"] if opts.get("cloud-init") else [])
    ctx.err.write(f"Building the image in {out_root} (about 75 s; packages from the Debian mirror apt uses)...\n")
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=None if ctx.debug else subprocess.PIPE, text=True)
    if proc.returncode != 0:
        last = (proc.stderr or "").strip().splitlines()[-1:] or ["see --debug for its output"]
        raise MachineError(f"Error building the image: {last[0]}")
    folder = proc.stdout.strip().splitlines()[-1]
    ctx.out.write(folder + "\n")
    ctx.err.write(f"Use it with: {PROG} create -d qemu --qemu-local-image {folder} NAME\n")
    return 0


