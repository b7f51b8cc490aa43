"""A docker-machine driver plugin, run as docker-machine runs it: the binary started with MACHINE_PLUGIN_TOKEN=42,
the loopback address it prints read from its first line, then Go's net/rpc over HTTP CONNECT with gob, a heartbeat
every 5 s (the plugin exits after 10 s without one), and Close at the end.

Blocking sockets and threads, not asyncio: `create -d NAME --help` asks a plugin for its flags with no event loop,
and the drivers call it through a thread as they call a cloud's SDK."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from ..errors import MachineError
from . import gob

API_VERSION = 1  # libmachine's version.APIVersion
SERVICE, OLD_SERVICE = "RPCServerDriver", "RpcServerDriver"  # plugins before docker-machine 0.5.1 use the second
ADDRESS_WAIT = 10.0  # docker-machine waits as long for the address line
HEARTBEAT_EVERY = 5.0
QUICK_CALL_BOUND = 90.0  # a state or a URL: a plugin that takes longer is hung
LONG_CALL_BOUND = 3600.0  # a create, a start, a remove: the cloud's own pace, yet not forever

REQUEST = gob.Struct("Request", [("ServiceMethod", gob.STRING), ("Seq", gob.UINT)])
EMPTY = gob.Struct("", [])
RPC_FLAGS = gob.Struct("RPCFlags", [("Values", gob.Map(gob.STRING, gob.INTERFACE))])
RPC_FLAGS_NAME = "*rpcdriver.RPCFlags"  # the name libmachine registers the type under


class PluginError(MachineError):
    """The plugin did not answer as the protocol says: it exited, hung, or speaks another version."""


class RemoteError(MachineError):
    """The driver in the plugin answered with an error (its own words)."""


def quick_bound() -> float:
    from ..settings import plugin_call_bound

    return plugin_call_bound(QUICK_CALL_BOUND)


class Plugin:
    """One running plugin process and its connection. Calls may overlap (the heartbeat runs beside a create)."""

    def __init__(self, driver: str, binary: str, on_output: Callable[[str], None] | None = None,
                 builtin_of: str = "", heartbeat_every: float = HEARTBEAT_EVERY):
        self.driver, self.binary = driver, binary
        self.label = os.path.basename(binary) + (f" ({driver})" if builtin_of else "")
        self.on_output = on_output  # lines the plugin prints after its address (its progress)
        self.stderr: deque[str] = deque(maxlen=20)  # its last debug lines: what a crash said
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.encoder = gob.Encoder()
        self.send_lock = threading.Lock()
        self.pending: dict[int, list[Any]] = {}  # seq -> [event, error, reply]
        self.seq = 0
        self.dead = ""  # why the connection ended, once it has
        self.service = SERVICE
        self.closing = threading.Event()
        self.heartbeat_every = heartbeat_every
        self.stderr_reader: threading.Thread | None = None
        self.stdout_reader: threading.Thread | None = None

    # ----- lifetime
    def start(self) -> Plugin:
        env = {**os.environ, "MACHINE_PLUGIN_TOKEN": "42", "MACHINE_PLUGIN_DRIVER_NAME": self.driver}
        try:
            self.proc = subprocess.Popen([self.binary], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, start_new_session=True)
        except OSError as err:
            raise PluginError(f"{self.label}: cannot be started: {err.strerror or err}") from None
        lines: deque[str] = deque()
        got_address = threading.Event()
        output = self.stdout_reader = threading.Thread(target=self._read_stdout, args=(lines, got_address),
                                                       daemon=True)
        output.start()
        errors = self.stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        errors.start()
        if not got_address.wait(ADDRESS_WAIT) or not lines:
            code = None
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self.proc.wait(0 if not lines and not got_address.is_set() else 2)
            self.kill()
            errors.join(2)
            said = f": {self.stderr[-1]}" if self.stderr else ""
            if code is not None:
                raise PluginError(f"{self.label} exited (status {code}) before it gave its address (is it a "
                                  f"docker-machine driver plugin?){said}")
            raise PluginError(f"{self.label}: no plugin address within {ADDRESS_WAIT:g} s (is it a docker-machine "
                              f"driver plugin?){said}")
        address = lines[0]
        try:
            self._connect(address)
            version = self._version()
        except BaseException:
            self.kill()
            raise
        if version != API_VERSION:
            self.close()
            raise PluginError(f"{self.label} uses an incompatible API version ({version}); machine-tui speaks "
                              f"version {API_VERSION}, as docker-machine 0.16 does")
        threading.Thread(target=self._heartbeat, daemon=True).start()
        return self

    def _read_stdout(self, lines: deque[str], got_address: threading.Event) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        first = True
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if first:
                lines.append(line.strip())
                got_address.set()
                first = False
            elif line.strip():
                from ..logfile import get_logger

                get_logger().info("(%s) %s", self.driver, line)  # docker-machine's pluginOut
                if self.on_output is not None:
                    self.on_output(line)
        got_address.set()

    def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        from ..logfile import get_logger

        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.strip():
                self.stderr.append(line.strip())
                get_logger().debug("(%s) DBG | %s", self.driver, line)

    def _connect(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise PluginError(f"{self.label} printed {address[:80]!r}, not an address: it is not a docker-machine "
                              "driver plugin")
        try:
            sock = socket.create_connection((host.strip("[]"), int(port)), timeout=ADDRESS_WAIT)
            sock.sendall(b"CONNECT /_goRPC_ HTTP/1.0\n\n")
            answer = b""
            while b"\n\n" not in answer and len(answer) < 1024:
                chunk = sock.recv(1)
                if not chunk:
                    break
                answer += chunk
        except OSError as err:
            raise PluginError(f"{self.label}: its RPC server at {address} did not answer: {err}") from None
        if not answer.startswith(b"HTTP/1.0 200"):
            sock.close()
            raise PluginError(f"{self.label} at {address} does not speak Go's RPC: it answered "
                              f"{answer.decode('latin-1').strip()[:80]!r}")
        sock.settimeout(None)
        self.sock = sock
        threading.Thread(target=self._read_answers, args=(sock.makefile("rb"),), daemon=True).start()

    def _version(self) -> int:
        try:
            return int(self.call("GetVersion", bound=ADDRESS_WAIT))
        except RemoteError as err:
            if "can't find service" not in str(err):
                raise
        self.service = OLD_SERVICE
        return int(self.call("GetVersion", bound=ADDRESS_WAIT))

    def _heartbeat(self) -> None:
        while not self.closing.wait(self.heartbeat_every):
            if self.dead:
                return
            with contextlib.suppress(MachineError):
                self.call("Heartbeat", bound=self.heartbeat_every * 2)

    def close(self) -> None:
        """Close, as docker-machine does at the end of each command; a plugin that does not go is killed."""
        if self.closing.is_set():
            return
        self.closing.set()
        if not self.dead and self.sock is not None:
            with contextlib.suppress(MachineError):
                self.call("Close", bound=2.0)  # the plugin exits at once: the answer may never come
        self.kill(grace=3.0)

    def kill(self, grace: float = 0.0) -> None:
        self.closing.set()
        if self.proc is not None:
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(5)
            if self.proc.returncode is not None and self.stdout_reader is not None:
                self.stdout_reader.join(2)  # every line it printed is reported before close returns
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        self._end("the plugin was closed")

    def __enter__(self) -> Plugin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- calls
    def call(self, method: str, arg_type: gob.GoType | int = EMPTY, arg: Any = None, bound: float | None = None) -> Any:
        """Call the driver's method and wait for its reply (bounded: a hung plugin is killed)."""
        if self.dead:
            raise PluginError(f"{self.label}: {self.dead}")
        bound = quick_bound() if bound is None else bound
        done = threading.Event()
        with self.send_lock:
            seq = self.seq
            self.seq += 1
            self.pending[seq] = [done, None, None]
            header = {"ServiceMethod": f"{self.service}.{method}", "Seq": seq}
            data = self.encoder.message(REQUEST, header) + self.encoder.message(arg_type, {} if arg is None else arg)
            try:
                assert self.sock is not None
                self.sock.sendall(data)
            except OSError as err:
                self.pending.pop(seq, None)
                self._end(f"the connection broke: {err}")
                raise PluginError(f"{self.label}: {self.dead}") from None
        if not done.wait(bound):
            self.pending.pop(seq, None)
            self._end(f"no answer to {method} within {bound:g} s")
            reason = self.dead
            self.kill()
            raise PluginError(f"{self.label}: {reason}: the plugin was stopped")
        _, error, reply = self.pending.pop(seq)
        if error is not None:
            raise error
        return reply

    def _read_answers(self, stream: Any) -> None:
        decoder = gob.Decoder()

        def next_message() -> bytes:
            first = stream.read(1)
            if not first:
                raise EOFError
            length = first[0]
            if length >= 0x80:
                raw = stream.read(256 - length)
                length = int.from_bytes(raw, "big")
            data = stream.read(length)
            if len(data) < length:
                raise EOFError
            return bytes(data)

        reader = gob.Reader(b"", next_message)
        try:
            while True:
                header = decoder.value(reader)
                body = decoder.value(reader)
                entry = self.pending.get(int(header.get("Seq", -1)))
                if entry is None:
                    continue
                if header.get("Error"):
                    entry[1] = RemoteError(str(header["Error"]))
                else:
                    entry[2] = body
                entry[0].set()
        except (EOFError, OSError, gob.GobError, ValueError) as err:
            if isinstance(err, gob.GobError):
                self._end(f"it sent what Go's gob encoding is not ({err})")
            else:
                self._end(self._exit_words())

    def _exit_words(self) -> str:
        if self.closing.is_set():
            return "the plugin was closed"
        code = None
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self.proc.wait(2)
        if self.stderr_reader is not None:
            self.stderr_reader.join(2)  # its last words, before they are quoted
        said = f": {self.stderr[-1]}" if self.stderr else ""
        return (f"the plugin exited (status {code}){said}" if code is not None
                else f"the plugin closed its connection{said}")

    def _end(self, why: str) -> None:
        if not self.dead:
            self.dead = why
        for entry in list(self.pending.values()):
            if entry[1] is None and entry[2] is None:
                entry[1] = PluginError(f"{self.label}: {self.dead}")
            entry[0].set()
