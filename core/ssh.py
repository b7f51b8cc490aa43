"""SSH to machines, on asyncssh: one pooled connection per machine reused for every command (docker-machine
starts a new `ssh` process, ~0.3 s, per command), commands with timeouts and exit status, sudo, uploads,
interactive sessions, keepalive and one reconnect.

Host keys are pinned at first contact in the machine's folder (`known_hosts`) and checked on every later
connection: a changed key is refused. To trust a rebuilt host again, delete that file
(`rm <store>/machines/NAME/known_hosts`) and connect once more."""

from __future__ import annotations

import asyncio
import os
import shlex
from typing import TYPE_CHECKING, Any

import asyncssh

from .aio import wait_for
from .errors import MachineError
from .remote_command import CommandFailed, Result
from .remote_command import short as _short
from .ssh_target import Target, target_of

if TYPE_CHECKING:
    from .drivers import Driver
    from .events import Reporter

CONNECT_TIMEOUT = 15.0


class SSHUnreachable(MachineError):
    """No SSH session could be opened (refused, reset, timed out): worth another try, unlike a refused key."""


class HostKeyChanged(MachineError):
    pass


def _pin_line(host: str, port: int, key: asyncssh.SSHKey) -> str:
    name = host if port == 22 else f"[{host}]:{port}"
    return f"{name} {key.export_public_key().decode().strip()}\n"


class Connection:
    """One machine's pooled connection. Safe to share between concurrent tasks."""

    def __init__(self, target: Target):
        self.target = target
        self._conn: asyncssh.SSHClientConnection | None = None
        self._lock = asyncio.Lock()

    async def _open(self, timeout: float) -> asyncssh.SSHClientConnection:
        t = self.target
        if not t.key_path or not os.path.exists(t.key_path):
            raise MachineError(f"SSH key {t.key_path or '(none)'} does not exist")
        pinned = os.path.exists(t.known_hosts)
        try:
            conn = await wait_for(
                asyncssh.connect(
                    t.host, t.port, username=t.user, client_keys=[t.key_path],
                    known_hosts=t.known_hosts if pinned else None, agent_path=None, config=[],
                    keepalive_interval=30, keepalive_count_max=3, connect_timeout=timeout,
                ),
                timeout + 5,
            )
        except asyncssh.HostKeyNotVerifiable:
            raise HostKeyChanged(
                f"The host key of {t.label} is not the one pinned at first contact: refusing to connect "
                f"(possible man-in-the-middle). If the machine was rebuilt, trust it again with: rm {t.known_hosts}"
            ) from None
        except asyncssh.KeyImportError as err:
            raise MachineError(f"SSH key {t.key_path} cannot be used: {err}") from None
        except asyncssh.PermissionDenied:
            raise MachineError(f"SSH authentication to {t.label} refused for key {t.key_path}") from None
        except (OSError, asyncssh.Error, asyncio.TimeoutError) as err:
            raise SSHUnreachable(f"SSH connection to {t.label} failed: {_describe(err)}") from None
        if not pinned:
            key = conn.get_server_host_key()
            if key is not None:
                from .store import write_atomic

                write_atomic(t.known_hosts, _pin_line(t.host, t.port, key).encode(), 0o600)
        return conn

    async def connection(self, timeout: float = CONNECT_TIMEOUT) -> asyncssh.SSHClientConnection:
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                self._conn = await self._open(timeout)
            return self._conn

    async def run(self, command: str, timeout: float | None = 600, check: bool = True,
                  input: str | None = None) -> Result:
        from .logfile import get_logger

        # --debug shows each command as sent (the log redacts keys and tokens; file contents go on stdin)
        get_logger().debug("SSH cmd on %s: %s", self.target.label, command)
        for attempt in (1, 2):
            conn = await self.connection()
            try:
                proc = await wait_for(conn.run(command, input=input, check=False), timeout)
                break
            except (asyncssh.ConnectionLost, asyncssh.ChannelOpenError, BrokenPipeError, ConnectionResetError):
                self._conn = None  # reconnect once: keepalive may have noticed a dead link
                if attempt == 2:
                    raise MachineError(
                        f"SSH connection to {self.target.label} lost running `{_short(command)}`") from None
            except asyncio.TimeoutError:
                raise MachineError(f"`{_short(command)}` did not finish within {timeout:.0f} s on "
                                   f"{self.target.label}") from None
        status = proc.exit_status if proc.exit_status is not None else 255
        result = Result(status, _text(proc.stdout), _text(proc.stderr))
        if check and status != 0:
            raise CommandFailed(command, result)
        return result

    async def sudo(self, command: str, timeout: float | None = 600, check: bool = True,
                   input: str | None = None) -> Result:
        """Run as root; `sudo -n` so a sudo that wants a password fails at once instead of hanging."""
        if self.target.user != "root":
            command = f"sudo -n sh -c {shlex.quote(command)}"
        return await self.run(command, timeout=timeout, check=check, input=input)

    async def write_file(self, path: str, data: str, mode: str = "0644", root: bool = True) -> None:
        folder = os.path.dirname(path)
        cmd = f"mkdir -p {shlex.quote(folder)} && cat > {shlex.quote(path)} && chmod {mode} {shlex.quote(path)}"
        await (self.sudo(cmd, input=data) if root else self.run(cmd, input=data))

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            try:
                await self._conn.wait_closed()
            except Exception:
                pass
            self._conn = None


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _describe(err: BaseException) -> str:
    if isinstance(err, asyncio.TimeoutError):
        return "timed out"
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    return str(err) or type(err).__name__


_pool: dict[tuple[int, Target], Connection] = {}  # (id of the event loop, target)


def connection_for(target: Target) -> Connection:
    """The pooled connection of a target within the running event loop."""
    loop = asyncio.get_running_loop()
    key = (id(loop), target)
    conn = _pool.get(key)
    if conn is None:
        for k in [k for k in _pool if k[0] != id(loop)]:
            _pool.pop(k)  # connections of a finished loop are dead
        conn = _pool[key] = Connection(target)
    return conn


async def connect_driver(driver: Driver) -> Connection:
    return connection_for(await target_of(driver))


async def run_on_machine_driver(driver: Driver, command: str, expect_disconnect: bool = False) -> Result | None:
    conn = await connect_driver(driver)
    try:
        return await conn.sudo(command, timeout=30)
    except MachineError:
        if expect_disconnect:
            await conn.close()
            return None
        raise


async def _banner_within(host: str, port: int, seconds: float) -> bool:
    """True as soon as an SSH server greets on host:port; polled cheaply for up to `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        try:
            reader, writer = await wait_for(asyncio.open_connection(host, port), 1.0)
            try:
                if (await wait_for(reader.read(4), 1.0)).startswith(b"SSH-"):
                    return True
            finally:
                writer.close()
        except (OSError, asyncio.TimeoutError):
            pass
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.25)


async def wait_for_ssh(driver: Driver, report: Reporter, tries: int | None = None, delay: float = 3.0) -> Connection:
    """`exit 0` until it works, every retry shown, the last error named."""
    if tries is None:
        from .settings import wait_tries

        tries = wait_tries()
    await driver.ssh_hostname()  # a driver without SSH says so now, not after the retries
    last = ""
    for attempt in range(1, tries + 1):
        try:
            target = await target_of(driver)
            if not await _banner_within(target.host, target.port, delay):
                # a NAT port forward accepts TCP before the guest listens: a login would wait out its timeout
                raise MachineError(f"no SSH server answers on {target.host}:{target.port} yet")
            conn = connection_for(target)
            await conn.run("exit 0", timeout=30)
            return conn
        except HostKeyChanged:
            raise
        except MachineError as err:
            last = str(err)
            if "SSH key" in last or "authentication" in last:
                raise  # retrying cannot fix a bad or refused key
            gone = await driver.why_down()
            if gone:
                raise MachineError(f"waiting for SSH: {gone}") from None
            report.progress("ssh", attempt / tries, f"Waiting for SSH ({attempt}/{tries}): {last}")
            if not last.startswith("no SSH server answers"):
                await asyncio.sleep(delay)
    raise MachineError(f"Too many retries waiting for SSH to be available.  Last error: {last}")
