"""A machine's Docker Engine API over its mutual TLS, for views that keep asking (the drill-down's containers, their
stats, logs and exec) and the swarm commands: kept-alive connections, responses read by their length or chunks,
streams read as they come, and the upgraded connection an exec runs on."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .aio import wait_for
from .engine import EngineError
from .errors import MachineError
from .tlscheck import client_context, go_dial_error, split_hostport, tls_files_problem

if TYPE_CHECKING:
    from .hostconfig import Host

API = "/v1.41"  # Docker 20.10 (Debian 12's docker.io) and every later engine speak it
MAX_IDLE = 4  # kept-alive connections per engine


class Response:
    """A response whose head has been read; its body is read with `json()`, `read()` or `chunks()`."""

    def __init__(self, version: str, status: int, reason: str, headers: dict[str, str],
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.version, self.status, self.reason, self.headers = version, status, reason, headers
        self.reader, self.writer = reader, writer
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        self.length = int(length) if length and length.isdigit() else None
        self.complete = False  # the whole body was read: the connection can serve another request

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives (a followed log, a stats stream); ends with the body."""
        reader = self.reader
        if self.chunked:
            while True:
                size_line = await reader.readline()
                if not size_line:
                    return
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    await reader.readline()  # the empty trailer
                    self.complete = True
                    return
                data = await reader.readexactly(size)
                await reader.readline()
                yield data
        elif self.length is not None:
            left = self.length
            while left:
                data = await reader.read(min(left, 65536))
                if not data:
                    return
                left -= len(data)
                yield data
            self.complete = True
        else:
            while data := await reader.read(65536):
                yield data

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    async def json(self) -> Any:
        payload = await self.read()
        try:
            return json.loads(payload) if payload.strip() else None
        except ValueError:
            return payload.decode(errors="replace").strip()

    def close(self) -> None:
        self.writer.close()


def error_message(answer: Any, status: int, reason: str) -> str:
    """The engine's own message for an error status; a body that is not the engine's JSON (a proxy's or a load
    balancer's HTML page) is named for what it is, in one line, not shown as markup."""
    if isinstance(answer, dict) and str(answer.get("message", "")).strip():
        return " ".join(str(answer["message"]).split())
    text = str(answer or "").strip()
    if not text or text.startswith("<") or "<html" in text[:200].lower():
        what = " (an HTML page: something other than the Docker engine answered)" if text else ""
        return f"HTTP {status} {reason}{what}".strip()
    line = " ".join(text.split())
    return line if len(line) <= 200 else line[:199] + "…"


class EngineClient:
    """One machine's engine: its address and TLS files resolved once, connections kept alive between requests."""

    def __init__(self, name: str, url: str, ca: str, cert: str, key: str, timeout: float = 15.0):
        self.name, self.url, self.timeout = name, url, timeout
        self.host, self.port = split_hostport(url)
        self.files = (ca, cert, key)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    @classmethod
    async def of(cls, host: Host, timeout: float = 15.0) -> EngineClient:
        from .reach import machine_url

        auth = host.auth
        return cls(host.name, await machine_url(host), auth.get("CaCertPath", ""), auth.get("ClientCertPath", ""),
                   auth.get("ClientKeyPath", ""), timeout)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            ctx = client_context(*self.files)
        except (OSError, ssl.SSLError) as err:
            raise MachineError(f"Cannot reach the engine of {self.name}: {tls_files_problem(*self.files, err)}") \
                from None
        try:
            return await wait_for(
                asyncio.open_connection(self.host, self.port, ssl=ctx, server_hostname=self.host,
                                        limit=1 << 20), self.timeout)
        except (OSError, asyncio.TimeoutError) as err:
            raise MachineError(f"Cannot reach the engine of {self.name} at {self.address}: "
                               f"{go_dial_error(self.address, err)}") from None

    async def request(self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None,
                      keep: bool = True) -> Response:
        """Send one request and read the answer's head; an error status is an EngineError with the engine's words.
        `keep=False` for a stream that will not end by itself (its connection is closed after)."""
        data = b"" if body is None else json.dumps(body).encode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (f"{method} {API}{path} HTTP/1.1\r\nHost: {self.address}\r\n"
                f"Connection: {'keep-alive' if keep else 'close'}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\n{extra}\r\n").encode()
        for attempt in (0, 1):  # a kept-alive connection the engine closed meanwhile is tried once more, anew
            reused = bool(self._idle) and attempt == 0
            reader, writer = self._idle.pop() if reused else await self._connect()
            try:
                writer.write(head + data)
                await writer.drain()
                response = await wait_for(self._head(reader, writer), self.timeout)
                break
            except (OSError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.TimeoutError) as err:
                writer.close()
                if reused:
                    continue
                raise MachineError(f"{method} {path} on {self.name} ({self.address}): "
                                   f"{go_dial_error(self.address, err)}") from None
        if not 200 <= response.status < 300 and response.status != 101:
            answer = await response.json()
            response.close()
            raise EngineError(response.status, error_message(answer, response.status, response.reason))
        return response

    @staticmethod
    async def _head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Response:
        line = await reader.readline()
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return Response(parts[0], status, parts[2] if len(parts) > 2 else "", headers, reader, writer)

    def _release(self, response: Response) -> None:
        if response.complete and len(self._idle) < MAX_IDLE and response.version == "HTTP/1.1" and \
                response.headers.get("connection", "").lower() != "close":
            self._idle.append((response.reader, response.writer))
        else:
            response.close()

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """A request and its JSON answer (None when empty)."""
        response = await self.request(method, path, body)
        try:
            answer = await wait_for(response.json(), self.timeout)
        except (OSError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.TimeoutError) as err:
            response.close()
            raise MachineError(f"{method} {path} on {self.name}: {go_dial_error(self.address, err)}") from None
        self._release(response)
        return answer

    def close(self) -> None:
        for _, writer in self._idle:
            try:
                writer.close()
            except RuntimeError:  # its event loop has ended: the connection went with it
                pass
        self._idle.clear()


def quoted(value: str) -> str:
    return quote(value, safe="")
