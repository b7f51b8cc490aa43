"""`machine-tui`: with no command, the full-screen app; with a command, docker-machine's CLI.

Output, exit codes and the stdout/stderr split follow docker-machine v0.16.2 (info on stdout, errors on
stderr). Each command imports only what it needs, so `--version`, `ls -q` and `env --unset` stay fast."""

from __future__ import annotations

import os
import sys

from ..core.errors import MachineError
from .commands import COMMANDS, COMMANDS_BY_NAME, PROG, global_opts, version_text
from .context import Context, closed_pipe, log_error
from .parse import HelpRequested, UsageError, app_help, command_help, parse_args


def dispatch(argv: list[str], out=None, err=None, stdin=None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    from ..core.settings import default_store_path

    gopts_spec = global_opts(default_store_path())
    try:
        gopts, rest, _ = parse_args(argv, gopts_spec, stop_at_first_positional=True)
    except HelpRequested:
        gopts, rest = {"help": True}, []
    except MachineError as e:
        err.write(f"{e}\n")
        return 1
    if gopts.get("version"):
        out.write(f"{PROG} version {version_text()}\n")
        return 0
    if not rest and not gopts.get("help") and out is sys.stdout and _on_a_terminal():
        # global options and no command (`machine-tui -s ~/other-store`): the app, on that store
        from ..tui.app import run_app

        os.environ["MACHINE_STORAGE_PATH"] = gopts.get("storage-path") or default_store_path()
        return run_app()
    if gopts.get("help") or not rest:
        out.write(app_help(PROG, version_text(), gopts_spec, COMMANDS))
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
            out.write(app_help(PROG, version_text(), gopts_spec, COMMANDS))
        return 0
    cmd = COMMANDS_BY_NAME.get(name)
    if cmd is None:
        import difflib

        close = difflib.get_close_matches(name, list(COMMANDS_BY_NAME), n=1, cutoff=0.6)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        err.write(f"{PROG}: '{name}' is not a {PROG} command. See '{PROG} --help'.{hint}\n")
        return 1
    ctx = Context(gopts, argv[len(argv) - len(rest):], out, err, stdin)
    from ..core.logfile import want_logging

    want_logging(ctx.debug, err)
    try:
        handler = load_handler(cmd)
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
    except KeyboardInterrupt as e:
        from .context import Terminated

        if isinstance(e, Terminated):
            err.write(f"Ended by {e}\n")
            return 128 + e.signum
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


def load_handler(cmd):
    """The command's function, imported now: SSH commands bring asyncssh, the others never do."""
    import importlib

    module, func = cmd.handler.split(":")
    if module == "verb":  # every machine verb of the core's table runs through the same handler
        from .local import run_verb

        return lambda ctx, opts, args: run_verb(func, ctx, opts, args)
    try:
        return getattr(importlib.import_module(f"{__package__}.{module}"), func)
    except ImportError as err:
        raise MachineError(f"{cmd.name} needs a missing package: {err}") from None


def _on_a_terminal() -> bool:
    return sys.stdout.isatty() and sys.stdin.isatty()


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv and _on_a_terminal():
        from ..tui.app import run_app

        sys.exit(run_app())
    try:
        code = dispatch(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        code = closed_pipe()
    sys.exit(code)


if __name__ == "__main__":
    main()

