"""Talking to a Docker Engine over mutual TLS: the connection check of env/config/create and the
version query of ls. Plain sockets + ssl in threads, so `ls` never pays for an HTTP library's import and its
handshakes use every core."""

from __future__ import annotations

import json
import ssl

from .errors import MachineError
from .tlscheck import (
    client_context,
    go_dial_error,
    split_hostport,
    tls_files_problem,
)

TYPE_CHECKING = False  # typing and asyncio are not loaded at run time: `ls` over none machines asks without a loop
if TYPE_CHECKING:
    from typing import Any


async def check_tls(url: str, ca: str, cert: str, key: str, timeout: float = 20.0, prog: str = "") -> None:
    """docker-machine's check.ConfigureAuth-free connection check, off the event loop: a handshake in a thread."""
    import asyncio

    from .tlscheck import check_tls_now

    await asyncio.to_thread(check_tls_now, url, ca, cert, key, timeout, prog)


async def docker_version(url: str, ca: str, cert: str, key: str, timeout: float = 10.0) -> dict[str, Any]:
    """GET /version over mutual TLS. Raises MachineError with ls's wording on failure.

    On a blocking socket in one of a bounded set of threads: the TLS handshakes (most of `ls`) then run on every core
    (OpenSSL lets go of the GIL), at most IN_FLIGHT at once, and each host's deadline starts at its own connect, so a
    long listing never reads "no answer" for hosts that were merely waiting their turn."""
    import asyncio

    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_version_pool(), docker_version_now, url, ca, cert, key, timeout)


IN_FLIGHT = 32  # engines asked at once: enough to fill the cores with handshakes, few enough for any ulimit
_pool: Any = None


def _version_pool() -> Any:
    global _pool
    if _pool is None:
        from concurrent.futures import ThreadPoolExecutor

        _pool = ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="engine-version")
    return _pool


def docker_version_now(url: str, ca: str, cert: str, key: str, timeout: float = 10.0,
                       raise_timeouts: bool = False) -> dict[str, Any]:
    """docker_version on a blocking socket, in the calling thread. raise_timeouts: an engine that does not answer
    within `timeout` raises TimeoutError (as the event loop's deadline would) rather than ls's error line."""
    import socket
    import time

    try:
        host, port = split_hostport(url)
    except MachineError as err:
        raise MachineError(f"Unable to query docker version: {err}") from None
    try:
        ctx = client_context(ca, cert, key)
    except (OSError, ssl.SSLError) as err:
        raise MachineError(f"Unable to query docker version: {tls_files_problem(ca, cert, key, err)}") from None
    deadline = time.monotonic() + timeout
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as err:
        if raise_timeouts and isinstance(err, TimeoutError):
            raise
        raise MachineError("Cannot connect to the docker engine endpoint") from None
    try:
        raw.settimeout(max(0.01, deadline - time.monotonic()))
        tls = ctx.wrap_socket(raw, server_hostname=host)
    except OSError as err:
        raw.close()
        if raise_timeouts and isinstance(err, TimeoutError):
            raise
        if isinstance(err, ssl.SSLError):
            raise MachineError(f'Get "https://{host}:{port}/version": {go_dial_error(f"{host}:{port}", err)}') \
                from None
        raise MachineError("Cannot connect to the docker engine endpoint") from None
    chunks: list[bytes] = []
    try:
        with tls:
            tls.sendall(f"GET /version HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out")
                tls.settimeout(left)
                data = tls.recv(65536)
                if not data:
                    break
                chunks.append(data)
    except OSError as err:
        if raise_timeouts and isinstance(err, TimeoutError):
            raise
        raise MachineError(f'Get "https://{host}:{port}/version": {go_dial_error(f"{host}:{port}", err)}') from None
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].decode("latin-1")
    if status.split(" ")[1:2] != ["200"]:
        raise MachineError(f"Error response from daemon: {status}")
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    try:
        answer: dict[str, Any] = json.loads(body)
        return answer
    except ValueError:
        raise MachineError("Unable to query docker version: invalid response from the engine") from None


class EngineError(MachineError):
    """The engine answered with an error status; its own message."""

    def __init__(self, status: int, message: str):
        super().__init__(f"Error response from daemon: {message}")
        self.status, self.message = status, message


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return bytes(out)
