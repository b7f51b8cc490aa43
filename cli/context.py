"""What every command gets: the store, the global options, the output streams, and the helpers commands share
(which machines an argument list names, running an async operation, errors into the log)."""

from __future__ import annotations

import contextlib
import os
import sys

from ..core.errors import MachineError


class Context:
    """What every command gets: the store, the global options, the output streams."""

    def __init__(self, gopts: dict, argv: list[str], out=None, err=None, stdin=None):
        self.gopts = gopts
        self.argv = argv
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.stdin = stdin or sys.stdin
        self.debug = bool(gopts.get("debug"))
        self._machines = None
        self._store = None

    @property
    def store(self):
        """The store, opened when a command first needs it (`env --unset` and `version` never do)."""
        if self._store is None:
            from ..core.store import Store

            self._store = Store(self.gopts.get("storage-path") or None)
        return self._store

    @property
    def machines(self):
        """The application service on this store: every use case goes through it, as the app's do."""
        if self._machines is None:
            from ..core.service import Machines

            self._machines = Machines(self.store)
        return self._machines

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
        from ..core.events import EventKind, Reporter

        shown: dict[str, int] = {}

        def sink(event):
            if event.kind == EventKind.PROGRESS and event.message and event.fraction:
                # a log or a pipe gets a line per tenth of a measured progress, not one per chunk
                tenth = int(event.fraction * 10)
                if shown.get(event.step) == tenth:
                    return
                shown[event.step] = tenth
            said = event.kind in (EventKind.INFO, EventKind.WARN, EventKind.STEP)
            if said or (event.kind == EventKind.PROGRESS and event.message):
                self.say(event.message)
            elif event.kind == EventKind.ERROR:
                self.warn(event.message)
            elif event.kind == EventKind.DEBUG and self.debug:
                self.warn(event.message)
            if event.message:
                from ..core.logfile import log_event

                log_event(event)

        return Reporter(sink)

    def tls_files(self):
        from ..core.service import tls_files

        g = self.gopts
        return tls_files(g.get("tls-ca-cert") or "", g.get("tls-ca-key") or "", g.get("tls-client-cert") or "",
                         g.get("tls-client-key") or "")


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


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a closed terminal, `timeout`, a cancelled CI job, `systemctl stop`): the command ends as
    Ctrl-C ends it, cleaning up what it made, with the shell's exit code for that signal."""

    def __init__(self, signum: int):
        import signal

        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def run(coro):
    import asyncio

    return asyncio.run(_ending_on_signals(coro))


def run_at_once(make):
    """A read (url, status, ip, env, config) of a machine whose driver answers from its record: the coroutine that
    `make` returns is run here without an event loop, so the quick commands never load asyncio. One that waits on
    something after all is carried on by a loop from where it stands; one that needs a loop before it waits is run
    again under one (a read has nothing to undo)."""
    coro = make()
    try:
        waiting_on = coro.send(None)
    except StopIteration as done:
        return done.value
    except RuntimeError as err:
        if "no running event loop" not in str(err):
            raise
        return run(make())
    import asyncio

    return asyncio.run(_ending_on_signals(_Carried(coro, waiting_on)))


class _Carried:
    """A coroutine that ran up to its first wait outside a loop, carried on by the task that awaits this."""

    def __init__(self, coro, waiting_on):
        self.coro, self.waiting_on = coro, waiting_on

    def __await__(self):
        coro, waiting_on = self.coro, self.waiting_on
        while True:
            try:
                sent = yield waiting_on
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as err:  # noqa: BLE001 - a cancellation or an error, passed in as a task does
                advance, value = coro.throw, err
            else:
                advance, value = coro.send, sent
            try:
                waiting_on = advance(value)
            except StopIteration as done:
                return done.value


async def _ending_on_signals(coro):
    """The command's coroutine, cancelled by SIGTERM and SIGHUP as asyncio cancels it on Ctrl-C."""
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    caught: list[int] = []

    def end(signum: int) -> None:
        if not caught and task is not None:
            task.cancel()
        caught.append(signum)

    watched = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]
    for signum in watched:
        try:
            loop.add_signal_handler(signum, end, signum)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # no signal handlers here (Windows, a thread): the signal's default stays
    try:
        return await coro
    except asyncio.CancelledError:
        if caught:
            raise Terminated(caught[0]) from None
        raise
    finally:
        for signum in watched:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)


# ---------------------------------------------------------------- commands


def fleet_names(ctx: Context, opts: dict, args: list[str]) -> list[str]:
    """The machines named, then those `--filter` selects (as ls --filter does), each once; the active machine when
    neither is given."""
    filters = opts.get("filter") or []
    if not filters:
        return target_names(ctx, args)
    from ..core.service import listing

    chosen = list(args) + [n for n in listing.quiet_names(ctx.store, listing.parse_filters(filters)) if n not in args]
    if not chosen:
        raise MachineError(f"No machine matches --filter {' '.join(filters)}")
    return chosen


def run_verb_on_hosts(ctx, verb_name: str, names: list[str], options: dict, parallel: int = 0) -> None:
    """docker-machine's runAction, through the application service: every named machine concurrently (at most
    `parallel` at once, when given), each one's driver state saved once after, errors joined, progress drawn live."""

    async def all_hosts(report):
        errors = await ctx.machines.run_verb_on_many(verb_name, names, report.for_machine, options, parallel)
        if errors:
            raise MachineError("\n".join(errors[n] for n in names if n in errors))

    with ctx.live_reporter() as report:
        run(all_hosts(report))


def closed_pipe() -> int:
    """The reader of our output went away (`ls -q | head -1`): stop quietly, as a SIGPIPE-killed program."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141


def log_error(text: str, trace: bool = False) -> None:
    from ..core.logfile import get_logger, note

    try:
        if trace:
            get_logger().error("%s", text, exc_info=True)
        else:
            note("ERROR", text)
    except Exception:  # noqa: BLE001 - logging never stops a command
        pass


def terminal_line(ctx):
    """A line to the terminal, if it is still there (after SIGHUP it is not): a removal never depends on it."""
    def say(line: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            ctx.err.write(line + "\n")
            ctx.err.flush()

    return say


def driver_from_argv(args: list[str]) -> str:
    for i, a in enumerate(args):
        if a in ("-d", "--driver", "-driver") and i + 1 < len(args):
            return args[i + 1]
        for p in ("-d=", "--driver=", "-driver="):
            if a.startswith(p):
                return a[len(p):]
    return os.environ.get("MACHINE_DRIVER") or "virtualbox"
