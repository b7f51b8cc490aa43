"""CLI commands that reach into machines over SSH: ssh, scp, mount, provision, regenerate-certs, upgrade.
Imported only when one of them runs (asyncssh is not cheap to import)."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import subprocess
import sys
from typing import Any

from ..core.errors import MachineError
from .commands import COMMANDS_BY_NAME, PROG
from .context import run, target_name
from .parse import command_help

SSH_OPTS = ["-F", "/dev/null", "-o", "ConnectionAttempts=3", "-o", "ConnectTimeout=10", "-o", "ControlMaster=no",
            "-o", "ControlPath=none", "-o", "LogLevel=quiet", "-o", "PasswordAuthentication=no",
            "-o", "ServerAliveInterval=60"]


async def _running_target(host, pin: bool = True):
    from ..core.service.access import running_ssh_target

    return await running_ssh_target(host, pin)


def _pinned_opts(target) -> list[str]:
    # docker-machine turns host key checking off; machine-tui checks against the key pinned at first contact
    return ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={target.known_hosts}"]


def cmd_ssh(ctx, opts, args):
    name = target_name(ctx, args[:1])
    rest = args[1:]
    if rest and rest[0] == "--":
        rest = rest[1:]
    host = ctx.store.load(name)
    native = ctx.gopts.get("native-ssh") or not shutil.which("ssh")
    if native:
        return run(_native_ssh(host, rest))
    target = run(_running_target(host))
    argv = ["ssh", *SSH_OPTS, *_pinned_opts(target), f"{target.user}@{target.host}", "-o", "IdentitiesOnly=yes",
            "-i", target.key_path, "-p", str(target.port), *rest]
    if ctx.debug:
        ctx.warn("Using SSH client type: external")
        ctx.warn(" ".join(shlex.quote(a) for a in argv))
    rc = subprocess.call(argv)
    if rc == 255:
        _explain_ssh_failure(ctx, target)
    return rc


def _explain_ssh_failure(ctx, target) -> None:
    """ssh runs quiet (LogLevel=quiet) and exits 255 for any failure of its own: when the cause is a changed
    host key, say so in the words the other paths use."""
    from ..core.service.access import check_host_key

    problem = run(check_host_key(target))
    if problem:
        ctx.warn(problem)


async def _native_ssh(host, command: list[str]) -> int:
    from ..core.service.access import ssh_connection

    target = await _running_target(host, pin=False)
    conn = await ssh_connection(target)
    if command:
        import stat

        # asyncssh closes the streams it is given when the command ends: hand it duplicates, never our own
        stdin: Any = None
        data: bytes | None = None
        if not sys.stdin.isatty():
            mode = os.fstat(sys.stdin.fileno()).st_mode
            if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                stdin = os.fdopen(os.dup(sys.stdin.fileno()), "rb")
            else:  # a file or /dev/null: the event loop cannot watch those, so read them whole
                data = sys.stdin.buffer.read()
                if not data:
                    import asyncssh

                    stdin, data = asyncssh.DEVNULL, None  # an empty input still ends the remote's stdin
        sys.stdout.flush()
        sys.stderr.flush()
        proc = await conn.run(" ".join(command), stdin=stdin, input=data,
                              stdout=os.fdopen(os.dup(sys.stdout.fileno()), "wb"),
                              stderr=os.fdopen(os.dup(sys.stderr.fileno()), "wb"), check=False, encoding=None)
        return proc.exit_status if proc.exit_status is not None else 255
    return await interactive_shell(conn)


async def interactive_shell(conn) -> int:
    """A login shell on the local terminal: PTY of the terminal's size, raw mode, resize forwarded."""
    if sys.platform == "win32":  # no termios, no reader on the console: OpenSSH's ssh.exe does it there
        raise MachineError("an interactive --native-ssh shell needs a POSIX terminal: on Windows drop --native-ssh, "
                           "and machine-tui runs OpenSSH's ssh.exe")
    import signal
    import termios
    import tty

    fd = sys.stdin.fileno()
    size = os.get_terminal_size() if sys.stdin.isatty() else os.terminal_size((80, 24))
    proc = await conn.create_process(term_type=os.environ.get("TERM", "xterm"),
                                     term_size=(size.columns, size.lines), encoding=None)
    saved = termios.tcgetattr(fd) if sys.stdin.isatty() else None
    loop = asyncio.get_running_loop()
    if saved:
        tty.setraw(fd)
        loop.add_signal_handler(signal.SIGWINCH, lambda: proc.change_terminal_size(*os.get_terminal_size()))
    reader_done = asyncio.Event()

    def on_input():
        data = os.read(fd, 4096)
        if not data:
            loop.remove_reader(fd)
            proc.stdin.write_eof()
            return
        proc.stdin.write(data)

    loop.add_reader(fd, on_input)

    async def pump():
        while True:
            data = await proc.stdout.read(65536)
            if not data:
                break
            os.write(sys.stdout.fileno(), data)
        reader_done.set()

    try:
        await asyncio.gather(pump(), proc.wait())
    finally:
        loop.remove_reader(fd)
        if saved:
            loop.remove_signal_handler(signal.SIGWINCH)
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
    return proc.exit_status if proc.exit_status is not None else 255


def _split_location(ctx, arg: str):
    """`[user@]machine:path` -> (target or None, user, path); `localhost:path` is local."""
    if ":" not in arg:
        return None, "", arg
    machine, path = arg.split(":", 1)
    user = ""
    if "@" in machine:
        user, machine = machine.split("@", 1)
    if machine == "localhost":
        return None, "", path
    host = ctx.store.load(machine)
    target = run(_running_target(host))
    return target, user or target.user, path


def cmd_scp(ctx, opts, args):
    if len(args) != 2:
        ctx.out.write(command_help(PROG, COMMANDS_BY_NAME["scp"]))
        raise MachineError("Improper number of arguments.")
    ends = [_split_location(ctx, a) for a in args]
    remotes = [t for t, _, _ in ends if t is not None]
    # each end carries its own port in an scp:// URI: `-o Port` would apply the first machine's port to both
    # ends of a machine-to-machine copy (docker-machine's bug: two qemu machines share 127.0.0.1)
    ssh_opts = ["-o", "StrictHostKeyChecking=yes",
                "-o", "UserKnownHostsFile=" + " ".join(dict.fromkeys(t.known_hosts for t in remotes))]
    for key in dict.fromkeys(t.key_path for t in remotes):
        ssh_opts += ["-o", f"IdentityFile={key}"]
    locs = []
    for target, user, path in ends:
        locs.append(path if target is None else _scp_uri(user, target, path))
    if opts["delta"]:
        if not shutil.which("rsync"):
            raise MachineError("You must have a copy of the rsync binary locally to use the --delta option.")
        remote = [t for t, _, _ in ends if t is not None]
        if len(remote) != 1:
            raise MachineError("--delta copies between this computer and one machine")
        t = remote[0]
        rsh = " ".join(shlex.quote(a) for a in ["ssh", *SSH_OPTS, *_pinned_opts(t), "-o", "IdentitiesOnly=yes",
                                                 "-i", t.key_path, "-p", str(t.port)])
        rsync_locs = [path if target is None else f"{user}@{_uri_host(target.host)}:{path}"
                      for target, user, path in ends]
        argv = ["rsync", *([] if opts["quiet"] else ["--progress"]), "-e", rsh, *(["-r"] if opts["recursive"] else []),
                *rsync_locs]
    else:
        if not shutil.which("scp"):
            raise MachineError("You must have a copy of the scp binary locally to use the scp feature")
        argv = ["scp", "-o", "LogLevel=quiet", "-3", *(["-r"] if opts["recursive"] else []),
                *(["-q"] if opts["quiet"] else []), "-o", "IdentitiesOnly=yes", *ssh_opts, *locs]
    if ctx.debug:
        ctx.warn(" ".join(shlex.quote(a) for a in argv))
    rc = subprocess.call(argv)
    if rc != 0:
        for target in remotes:
            _explain_ssh_failure(ctx, target)
        raise MachineError(f"exit status {rc}")
    return 0


def _uri_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _scp_uri(user: str, target, path: str) -> str:
    """scp://user@host:port/path; an absolute path keeps its slash (scp://h//etc/x), a relative one is in $HOME."""
    from urllib.parse import quote

    return f"scp://{quote(user, safe='')}@{_uri_host(target.host)}:{target.port}/{quote(path, safe='/~')}"


def cmd_mount(ctx, opts, args):
    if not 1 <= len(args) <= 2:
        ctx.out.write(command_help(PROG, COMMANDS_BY_NAME["mount"]))
        raise MachineError("Improper number of arguments.")
    src = args[0] if ":" in args[0] else f"default:{args[0]}"
    machine, path = src.split(":", 1)
    mountpoint = args[1] if len(args) == 2 else path
    if opts["unmount"]:
        tool = shutil.which("fusermount3") or shutil.which("fusermount")
        if not tool:
            raise MachineError("You must have a copy of the fusermount binary locally to use the unmount option.")
        return _call([tool, "-u", mountpoint])
    if not shutil.which("sshfs"):
        raise MachineError("You must have a copy of the sshfs binary locally to use the mount feature.")
    target = run(_running_target(ctx.store.load(machine)))
    argv = ["sshfs", *_pinned_opts(target), "-o", "LogLevel=quiet", "-o", "IdentitiesOnly=yes",
            "-o", f"Port={target.port}", "-o", f"IdentityFile={target.key_path}",
            f"{target.user}@{target.host}:{path}", mountpoint]
    return _call(argv)


def _call(argv) -> int:
    rc = subprocess.call(argv)
    if rc != 0:
        raise MachineError(f"{argv[0]} failed: exit status {rc}")
    return 0


def cmd_run(ctx, opts_unused, args):
    """`run [NAMES...] [--filter F] -- COMMAND`: the command on each machine over its pooled SSH connection."""
    import json

    from ..core.service.fleet import run_on_machines
    from .commands import COMMANDS_BY_NAME
    from .context import fleet_names
    from .parse import HelpRequested, command_help, parse_args

    cmd = COMMANDS_BY_NAME["run"]
    split = args.index("--") if "--" in args else len(args)
    try:
        opts, names, _ = parse_args(args[:split], cmd.opts)
    except HelpRequested:
        ctx.out.write(command_help(PROG, cmd, cmd.opts))
        return 0
    words = args[split + 1:]
    # one word is a shell line ("uptime; df -h"); several are an argv, each quoted as given
    command = words[0] if len(words) == 1 else " ".join(shlex.quote(w) for w in words)
    if not command.strip():
        raise MachineError(f"Error: no command to run: {PROG} run NAME... -- COMMAND")
    if not names and not opts.get("filter"):
        raise MachineError(f"Error: name the machines, or select them with --filter: {PROG} run web1 web2 -- uptime")
    names = fleet_names(ctx, opts, names)
    width = max(map(len, names))

    def shown(outcome) -> None:
        if opts["json"]:
            return
        label = outcome.machine.ljust(width)
        if opts["group"]:
            how = f"error: {outcome.error}" if outcome.error else f"exit {outcome.exit_status}"
            ctx.say(f"=== {outcome.machine} ({how}, {outcome.seconds:.1f} s)")
            if outcome.stdout:
                ctx.out.write(outcome.stdout if outcome.stdout.endswith("\n") else outcome.stdout + "\n")
            if outcome.stderr:
                ctx.err.write(outcome.stderr if outcome.stderr.endswith("\n") else outcome.stderr + "\n")
        else:
            for line in outcome.stdout.splitlines():
                ctx.say(f"{label} | {line}")
            for line in outcome.stderr.splitlines():
                ctx.warn(f"{label} | {line}")
            if outcome.error:
                ctx.warn(f"{label} | error: {outcome.error}")
            elif outcome.exit_status:
                ctx.warn(f"{label} | exit status {outcome.exit_status}")
        ctx.out.flush()

    outcomes = run(run_on_machines(ctx.store, names, command, parallel=opts["parallel"] or 16,
                                   timeout=float(opts["timeout"] or 600), done=shown))
    failed = [o for o in outcomes if not o.ok]
    if opts["json"]:
        ctx.out.write(json.dumps([o.to_json() for o in outcomes], indent=2) + "\n")
    else:
        why = ", ".join(f"{o.machine} ({'unreachable' if o.error else f'exit {o.exit_status}'})" for o in failed)
        ctx.warn(f"{len(outcomes) - len(failed)} of {len(outcomes)} machines succeeded" +
                 (f"; failed: {why}" if failed else ""))
    return 1 if failed else 0
