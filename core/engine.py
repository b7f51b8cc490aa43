"""Talking to a Docker Engine over mutual TLS: the connection check of env/config/create and the
version query of ls. Plain asyncio + ssl, so `ls` never pays for an HTTP library's import."""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

from .aio import wait_for
from .errors import MachineError
from .tlscheck import (
    client_context,
    go_dial_error,
    split_hostport,
    tls_files_problem,
)


async def _open(host: str, port: int, ctx: ssl.SSLContext,
                timeout: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await wait_for(
        asyncio.open_connection(host, port, ssl=ctx, server_hostname=host), timeout
    )


async def check_tls(url: str, ca: str, cert: str, key: str, timeout: float = 20.0, prog: str = "") -> None:
    """docker-machine's check.ConfigureAuth-free connection check, off the event loop: a handshake in a thread."""
    from .tlscheck import check_tls_now

    await asyncio.to_thread(check_tls_now, url, ca, cert, key, timeout, prog)


async def docker_version(url: str, ca: str, cert: str, key: str, timeout: float = 10.0) -> dict[str, Any]:
    """GET /version over mutual TLS. Raises MachineError with ls's wording on failure."""
    try:
        host, port = split_hostport(url)
    except MachineError as err:
        raise MachineError(f"Unable to query docker version: {err}") from None
    try:
        ctx = client_context(ca, cert, key)
    except (OSError, ssl.SSLError) as err:
        raise MachineError(f"Unable to query docker version: {tls_files_problem(ca, cert, key, err)}") from None
    try:
        reader, writer = await _open(host, port, ctx, timeout)
    except (ConnectionRefusedError, OSError) as err:
        if isinstance(err, ssl.SSLError):
            detail = go_dial_error(f"{host}:{port}", err)
            raise MachineError(f'Get "https://{host}:{port}/version": {detail}') from None
        raise MachineError("Cannot connect to the docker engine endpoint") from None
    try:
        writer.write(f"GET /version HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        raw = await wait_for(reader.read(-1), timeout)
    except (OSError, ssl.SSLError) as err:
        raise MachineError(f'Get "https://{host}:{port}/version": {go_dial_error(f"{host}:{port}", err)}') from None
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
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
