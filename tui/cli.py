"""`machine-tui`: with no command, the full-screen app; with a command, docker-machine's CLI.

Output, exit codes and the stdout/stderr split follow docker-machine v0.16.2 (info on stdout, errors on
stderr). Each command imports only what it needs, so `--version`, `ls -q` and `env --unset` stay fast."""

from __future__ import annotations

import os
import sys

from ..core import VERSION
from ..core.drivers import Flag
from ..core.errors import MachineError, program_name
from .cliparse import Command, HelpRequested, Opt, UsageError, app_help, command_help, parse_args

PROG = program_name()
VERSION_LINE = f"{PROG} version {VERSION}, build python"


def _o(name, usage, kind="string", default="", env="", short=""):
    return Opt(Flag(name, usage, kind, default, env), short)


def _global_opts(store_default: str) -> list[Opt]:
    return [
        _o("debug", "Enable debug mode", "bool", False, "", "D"),
        _o("storage-path", "Configures storage path", "string", store_default, "MACHINE_STORAGE_PATH", "s"),
        _o("tls-ca-cert", "CA to verify remotes against", env="MACHINE_TLS_CA_CERT"),
        _o("tls-ca-key", "Private key to generate certificates", env="MACHINE_TLS_CA_KEY"),
        _o("tls-client-cert", "Client cert to use for TLS", env="MACHINE_TLS_CLIENT_CERT"),
        _o("tls-client-key", "Private key used in client TLS auth", env="MACHINE_TLS_CLIENT_KEY"),
        _o("github-api-token", "Token to use for requests to the Github API", env="MACHINE_GITHUB_API_TOKEN"),
        _o("native-ssh", "Use the native (Go-based) SSH implementation.", "bool", False, "MACHINE_NATIVE_SSH"),
        _o("bugsnag-api-token", "BugSnag API token for crash reporting", env="MACHINE_BUGSNAG_API_TOKEN"),
        _o("help", "show help", "bool", False, "", "h"),
        _o("version", "print the version", "bool", False, "", "v"),
    ]


ONE = "Argument is a machine name."
MANY = "Argument(s) are one or more machine names."
JSON_OPT = _o("json", "Print the result as JSON (machine-tui)", "bool")
TIMEOUT_OPT = _o("timeout", "Timeout in seconds, default to 10s", "int", 10, "", "t")

COMMANDS = [
    Command("active", "Print which machine is active", "", [TIMEOUT_OPT]),
    Command("config", "Print the connection config for machine", ONE,
            [_o("swarm", "Display the Swarm config instead of the Docker daemon", "bool")]),
    Command("create", "Create a machine",
            "Run '{prog} create --driver name --help' to include the create flags for that driver in the help text."),
    Command("env", "Display the commands to set up the environment for the Docker client", ONE, [
        _o("swarm", "Display the Swarm config instead of the Docker daemon", "bool"),
        _o("shell", "Force environment to be configured for a specified shell: [fish, cmd, powershell, tcsh, emacs], "
                    "default is auto-detect"),
        _o("unset", "Unset variables instead of setting them", "bool", short="u"),
        _o("no-proxy", "Add machine IP to NO_PROXY environment variable", "bool"),
    ]),
    Command("inspect", "Inspect information about a machine", ONE,
            [_o("format", "Format the output using the given go template.", short="f"), JSON_OPT]),
    Command("ip", "Get the IP address of a machine", MANY),
    Command("kill", "Kill a machine", MANY),
    Command("ls", "List machines", "", [
        _o("quiet", "Enable quiet mode", "bool", short="q"),
        _o("filter", "Filter output based on conditions provided", "list", []),
        TIMEOUT_OPT,
        _o("format", "Pretty-print machines using a Go template", short="f"),
        JSON_OPT,
    ]),
    Command("provision", "Re-provision existing machines", MANY),
    Command("regenerate-certs", "Regenerate TLS Certificates for a machine", MANY, [
        _o("force", "Force rebuild and do not prompt", "bool", short="f"),
        _o("client-certs", "Also regenerate client certificates and CA.", "bool"),
    ]),
    Command("restart", "Restart a machine", MANY),
    Command("rm", "Remove a machine", MANY, [
        _o("force", "Remove local configuration even if machine cannot be removed, also implies an automatic yes "
                    "(`-y`)", "bool", short="f"),
        _o("y", "Assumes automatic yes to proceed with remove, without prompting further user confirmation", "bool"),
    ]),
    Command("ssh", "Log into or run a command on a machine with SSH.", "Arguments are [machine-name] [command]",
            skip_flag_parsing=True),
    Command("scp", "Copy files between machines", "Arguments are [[user@]machine:][path] [[user@]machine:][path].", [
        _o("recursive", "Copy files recursively (required to copy directories)", "bool", short="r"),
        _o("delta", "Reduce amount of data sent over network by sending only the differences (uses rsync)", "bool",
           short="d"),
        _o("quiet", "Disables the progress meter as well as warning and diagnostic messages from ssh", "bool",
           short="q"),
    ]),
    Command("mount", "Mount or unmount a directory from a machine with SSHFS.",
            "Arguments are [machine:][path] [mountpoint]",
            [_o("unmount", "Unmount instead of mount", "bool", short="u")]),
    Command("start", "Start a machine", MANY),
    Command("status", "Get the status of a machine", ONE, [JSON_OPT]),
    Command("stop", "Stop a machine", MANY),
    Command("upgrade", "Upgrade a machine to the latest version of Docker", MANY),
    Command("url", "Get the URL of a machine", ONE),
    Command("version", "Show the Docker Machine version or a machine docker version", ""),
    Command("build-image", "Build machine-tui's fast local VM image for the qemu driver (machine-tui)",
            "Needs root, debootstrap, e2fsprogs and qemu-utils; prints the folder for --qemu-local-image.", [
                _o("cloud-init", "Also build cloud.qcow2, the same system configured by cloud-init", "bool"),
                _o("output", "Folder to keep images in (default: the store's cache/images)"),
            ]),
    Command("completion", "Print a shell completion script (bash, zsh, fish) (machine-tui)",
            "Argument is a shell: bash, zsh or fish. Example: source <(machine-tui completion bash)"),
    Command("help", "Shows a list of commands or help for one command", ""),
]
COMMANDS_BY_NAME = {c.name: c for c in COMMANDS}


class Context:
    """What every command gets: the store, the global options, the output streams."""

    def __init__(self, gopts: dict, argv: list[str], out=None, err=None, stdin=None):
        from ..core.store import Store

        self.gopts = gopts
        self.argv = argv
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.stdin = stdin or sys.stdin
        self.store = Store(gopts.get("storage-path") or None)
        self.debug = bool(gopts.get("debug"))

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")
        self.err.flush()

    def live_reporter(self):
        """A Reporter with Rich progress bars on a terminal, plain docker-machine lines otherwise.
        Use as a context manager: the bars are drawn while it is open."""
        import contextlib

        if hasattr(self.out, "isatty") and self.out.isatty() and not os.environ.get("NO_COLOR"):
            from ..core.events import Reporter
            from .progress import RichProgressSink

            @contextlib.contextmanager
            def rich_reporter():
                with RichProgressSink(self.out, self.err, self.debug) as sink:
                    yield Reporter(sink)

            return rich_reporter()
        return contextlib.nullcontext(self.reporter())

    def reporter(self):
        from ..core.events import Reporter

        shown: dict[str, int] = {}

        def sink(event):
            if event.kind == "progress" and event.message and event.fraction:
                # a log or a pipe gets a line per tenth of a measured progress, not one per chunk
                tenth = int(event.fraction * 10)
                if shown.get(event.step) == tenth:
                    return
                shown[event.step] = tenth
            if event.kind in ("info", "warn", "step") or (event.kind == "progress" and event.message):
                self.say(event.message)
            elif event.kind == "error":
                self.warn(event.message)
            elif event.kind == "debug" and self.debug:
                self.warn(event.message)
            if event.message:
                log_event(event)

        return Reporter(sink)

    def tls_files(self):
        from ..core.operations import TLSFiles

        g = self.gopts
        return TLSFiles(g.get("tls-ca-cert") or "", g.get("tls-ca-key") or "", g.get("tls-client-cert") or "",
                        g.get("tls-client-key") or "")


def log_event(event) -> None:
    from ..core.logfile import get_logger

    get_logger().info("%s %s", event.machine or "-", event.message)


# ---------------------------------------------------------------- helpers


def target_name(ctx: Context, args: list[str]) -> str:
    if not args:
        if ctx.store.exists("default"):
            return "default"
        raise MachineError('Error: No machine name(s) specified and no "default" machine exists')
    if len(args) > 1:
        raise MachineError("Error: Expected one machine name as an argument")
    return args[0]


def target_names(ctx: Context, args: list[str]) -> list[str]:
    if not args:
        return [target_name(ctx, args)]
    return args


def load_hosts(ctx: Context, names: list[str]):
    hosts, errors = [], []
    for n in names:
        try:
            hosts.append(ctx.store.load(n))
        except MachineError as err:
            errors.append(str(err))
    if errors:
        raise MachineError("\n".join(errors))
    return hosts


def run(coro):
    import asyncio

    return asyncio.run(coro)


# ---------------------------------------------------------------- commands


def cmd_version(ctx, opts, args):
    if not args:
        ctx.say(VERSION_LINE)
        return 0
    host = ctx.store.load(target_name(ctx, args))

    async def query():
        from ..core.engine import docker_version
        from ..core.reach import machine_url

        try:
            url = await machine_url(host)
            a = host.auth
            return await docker_version(url, a.get("CaCertPath", ""), a.get("ClientCertPath", ""),
                                        a.get("ClientKeyPath", ""))
        except MachineError as err:
            raise MachineError(f"Unable to query docker version: {err}") from None

    ctx.say(str(run(query()).get("Version", "")))
    return 0


def cmd_ls(ctx, opts, args):
    from ..core import listing

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
    from ..core import listing

    if args:
        raise MachineError("Error: Too many arguments given")
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
    from ..core.gotemplate import Template, TemplateError
    import json

    data = json.loads(gojson.marshal(host.doc))
    try:
        ctx.out.write(Template(opts["format"]).execute(data) + "\n")
    except TemplateError as err:
        raise MachineError(f"template parsing error: {err}") from None
    return 0


def cmd_status(ctx, opts, args):
    from ..core.drivers import driver_for

    host = ctx.store.load(target_name(ctx, args))

    async def state():
        try:
            return str(await driver_for(host).state())
        except MachineError as err:
            raise MachineError(f"error getting state for host {host.name}: {err}") from None

    value = run(state())
    from ..core.listing import create_error_of

    if create_error_of(host):
        value = "Error"
    if opts["json"]:
        import json

        ctx.say(json.dumps({"Name": host.name, "State": value}))
    else:
        ctx.say(value)
    return 0


def cmd_url(ctx, opts, args):
    from ..core.reach import machine_url

    host = ctx.store.load(target_name(ctx, args))
    ctx.say(run(machine_url(host)))
    return 0


def cmd_ip(ctx, opts, args):
    from ..core.drivers import driver_for

    hosts = load_hosts(ctx, target_names(ctx, args))

    async def all_ips():
        errors = []

        async def one(h):
            try:
                ctx.say(await driver_for(h).get_ip())
            except MachineError as err:
                errors.append(f"Error getting IP address: {err}")

        import asyncio

        await asyncio.gather(*(one(h) for h in hosts))
        if errors:
            raise MachineError("\n".join(errors))

    run(all_ips())
    return 0


def run_on_hosts(ctx, args, action) -> None:
    """docker-machine's runAction: every named machine concurrently, errors joined, each config saved after
    (a driver may have learned a new IP or port), progress drawn live."""
    hosts = load_hosts(ctx, target_names(ctx, args))

    async def all_hosts(report):
        import asyncio

        errors = []

        async def one(h):
            try:
                await action(h, report.for_machine(h.name))
            except MachineError as err:
                errors.append(str(err))
            finally:
                try:
                    ctx.store.update(h.name, lambda fresh: fresh.doc.update(Driver=h.doc["Driver"]))
                except MachineError:
                    pass

        await asyncio.gather(*(one(h) for h in hosts))
        if errors:
            raise MachineError("\n".join(errors))

    with ctx.live_reporter() as report:
        run(all_hosts(report))


def _host_action(action_name):
    def cmd(ctx, opts, args):
        from ..core import operations

        action = getattr(operations, action_name)
        run_on_hosts(ctx, args, lambda h, report: action(ctx.store, h, report))
        if action_name in ("start", "restart"):
            verb = "Started" if action_name == "start" else "Restarted"
            ctx.say(f"{verb} machines may have new IP addresses. You may need to re-run the `{PROG} env` command.")
        return 0

    return cmd


def cmd_config(ctx, opts, args):
    from ..core.reach import checked_url

    host = ctx.store.load(target_name(ctx, args))
    try:
        url = run(checked_url(host, opts["swarm"], prog=PROG))
    except MachineError as err:
        raise MachineError(f"Error running connection boilerplate: {err}") from None
    a = host.auth
    d = a.get("StorePath") or host.dir
    ctx.out.write(
        f'--tlsverify\n--tlscacert="{os.path.join(d, "ca.pem")}"\n--tlscert="{os.path.join(d, "cert.pem")}"\n'
        f'--tlskey="{os.path.join(d, "key.pem")}"\n-H={url}\n'
    )
    return 0


def cmd_env(ctx, opts, args):
    from ..core import shellenv

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
    host = ctx.store.load(target_name(ctx, args))
    from ..core.reach import checked_url
    from ..core.drivers import driver_for

    shell = _shell(ctx, opts)  # a shell we cannot write for is refused before any connection
    try:
        url = run(checked_url(host, opts["swarm"], prog=PROG))
    except MachineError as err:
        raise MachineError(f"Error checking TLS connection: {err}") from None
    ip = run(driver_for(host).get_ip()) if opts["no-proxy"] else None
    cert_path = host.auth.get("StorePath") or host.dir
    values = shellenv.docker_env(url, cert_path, host.name, ip, opts["no-proxy"])
    ctx.out.write(shellenv.render_set(shell, values, [PROG] + ctx.argv))
    return 0


def _shell(ctx, opts) -> str:
    from ..core import shellenv

    try:
        return shellenv.detect_shell(opts["shell"])
    except shellenv.UnknownShell:
        ctx.out.write(shellenv.NO_SHELL_NOTICE)
        raise MachineError("Error: Unknown shell") from None


def cmd_rm(ctx, opts, args):
    from ..core import operations

    if not args:
        ctx.out.write(command_help(PROG, COMMANDS_BY_NAME["rm"]))
        raise MachineError("Error: Expected to get one or more machine names as arguments")
    force = opts["force"]
    from ..core.hostconfig import invalid_name_message

    bad = [n for n in args if invalid_name_message(n)]
    if bad:  # refused before anything is removed, -f or not: `rm -f -y "$UNSET"` must never reach the store
        raise MachineError("\n".join(f'Error removing host "{operations.printable(n)}": {invalid_name_message(n)}'
                                      for n in bad))
    ctx.say(f"About to remove {', '.join(args)}")
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
            run(operations.remove(ctx.store, name, force, report))
        except MachineError as err:
            if force and not isinstance(err, operations.RemoveFailed):
                ctx.warn(str(err))
            else:
                errors.append(str(err))
    if errors:
        raise MachineError("\n".join(errors))
    return 0


def cmd_create(ctx, opts_unused, args):
    from ..core.createflags import create_flags
    from ..core.drivers import driver_class, DriverNotFound

    driver_name = _driver_from_argv(args)
    try:
        cls = driver_class(driver_name)
        driver_flags = cls.flags
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
    if len(positional) > 1:
        raise MachineError(f"Invalid command line. Found extra arguments [{' '.join(positional[1:])}]")
    driver_class(driver_name)  # unknown driver: same error as docker-machine, before anything is written
    name = positional[0]
    with ctx.live_reporter() as report:
        run(_create_with_progress(ctx, name, driver_name, values, report, explicit))
    ctx.say(
        "To see how to connect your Docker Client to the Docker Engine running on this virtual machine, run: "
        f"{PROG} env {name}"
    )
    return 0


async def _create_with_progress(ctx, name, driver_name, values, report, explicit):
    from ..core import operations

    await operations.create(ctx.store, name, driver_name, values, report, ctx.tls_files(),
                            context=not values.get("no-docker-context"), explicit=explicit)


def _driver_from_argv(args: list[str]) -> str:
    for i, a in enumerate(args):
        if a in ("-d", "--driver", "-driver") and i + 1 < len(args):
            return args[i + 1]
        for p in ("-d=", "--driver=", "-driver="):
            if a.startswith(p):
                return a[len(p):]
    return os.environ.get("MACHINE_DRIVER") or "virtualbox"


def cmd_completion(ctx, opts, args):
    from .completion import script

    if len(args) != 1:
        raise MachineError("Error: Expected one shell name (bash, zsh or fish) as an argument")
    ctx.out.write(script(args[0], [c.name for c in COMMANDS]))
    return 0


def cmd_build_image(ctx, opts, args):
    import subprocess
    from importlib.resources import files

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


HANDLERS = {
    "build-image": cmd_build_image,
    "version": cmd_version,
    "ls": cmd_ls,
    "active": cmd_active,
    "inspect": cmd_inspect,
    "status": cmd_status,
    "url": cmd_url,
    "ip": cmd_ip,
    "config": cmd_config,
    "env": cmd_env,
    "rm": cmd_rm,
    "create": cmd_create,
    "start": _host_action("start"),
    "stop": _host_action("stop"),
    "kill": _host_action("kill"),
    "restart": _host_action("restart"),
    "completion": cmd_completion,
}


def dispatch(argv: list[str], out=None, err=None, stdin=None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    from ..core.store import default_store_path

    gopts_spec = _global_opts(default_store_path())
    try:
        gopts, rest, _ = parse_args(argv, gopts_spec, stop_at_first_positional=True)
    except HelpRequested:
        gopts, rest = {"help": True}, []
    except MachineError as e:
        err.write(f"{e}\n")
        return 1
    if gopts.get("version"):
        out.write(VERSION_LINE + "\n")
        return 0
    if gopts.get("help") or not rest:
        out.write(app_help(PROG, f"{VERSION}, build python", gopts_spec, COMMANDS))
        return 0
    debug_env = os.environ.get("MACHINE_DEBUG")
    if debug_env:
        if debug_env.lower() in ("1", "t", "true"):
            gopts["debug"] = True
        elif debug_env.lower() not in ("0", "f", "false"):
            err.write(f'Error parsing boolean value from MACHINE_DEBUG: strconv.ParseBool: parsing "{debug_env}": '
                      "invalid syntax\n")
            return 1
    name, args = rest[0], rest[1:]
    if name == "h":
        name = "help"
    if name == "help":
        if args and args[0] in COMMANDS_BY_NAME:
            out.write(command_help(PROG, COMMANDS_BY_NAME[args[0]]))
        else:
            out.write(app_help(PROG, f"{VERSION}, build python", gopts_spec, COMMANDS))
        return 0
    cmd = COMMANDS_BY_NAME.get(name)
    if cmd is None:
        err.write(f"{PROG}: '{name}' is not a {PROG} command. See '{PROG} --help'.\n")
        return 1
    ctx = Context(gopts, argv[len(argv) - len(rest):], out, err, stdin)
    from ..core.logfile import setup_logging

    setup_logging(ctx.debug, err)
    try:
        handler = HANDLERS.get(name) or _late_handler(name)
        if name == "create":
            return handler(ctx, None, args)
        if cmd.skip_flag_parsing:
            if args and args[0] in ("-h", "--help", "-help"):
                out.write(command_help(PROG, cmd))
                return 0
            return handler(ctx, {}, args)
        try:
            opts, positional, _ = parse_args(args, cmd.opts)
        except HelpRequested:
            out.write(command_help(PROG, cmd))
            return 0
        except UsageError as e:
            out.write("Incorrect Usage.\n\n" + command_help(PROG, cmd))
            err.write(f"{e}\n")
            return 1
        return handler(ctx, opts, positional)
    except MachineError as e:
        text = str(e)
        err.write(text + "\n")
        log_error(text)
        return e.exit_code
    except KeyboardInterrupt:
        err.write("Interrupted\n")
        return 130
    except BrokenPipeError:
        return closed_pipe()
    except OSError as e:
        from ..core.errors import describe_os_error

        text = f"Error: {describe_os_error(e)}"
        err.write(text + "\n")
        log_error(text)
        return 1
    except Exception as e:  # noqa: BLE001 - a bug still ends in one line; the log keeps the traceback
        text = f"Error: {e or type(e).__name__} (an unexpected failure: the log has the details; please report it)"
        err.write(text + "\n")
        log_error(text, trace=True)
        return 1


def closed_pipe() -> int:
    """The reader of our output went away (`ls -q | head -1`): stop quietly, as a SIGPIPE-killed program."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141


def log_error(text: str, trace: bool = False) -> None:
    from ..core.logfile import get_logger

    try:
        get_logger().error("%s", text, exc_info=trace)
    except Exception:  # noqa: BLE001 - logging never stops a command
        pass


def _late_handler(name: str):
    """Commands that work over SSH live in their own module, imported (with asyncssh) only when used."""
    try:
        from . import cli_remote
    except ImportError as err:
        raise MachineError(f"{name} needs the SSH layer: {err} (pip install asyncssh)") from None
    return getattr(cli_remote, "cmd_" + name.replace("-", "_"))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv and sys.stdout.isatty() and sys.stdin.isatty():
        from .app import run_app

        sys.exit(run_app())
    try:
        code = dispatch(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        code = closed_pipe()
    sys.exit(code)


if __name__ == "__main__":
    main()
