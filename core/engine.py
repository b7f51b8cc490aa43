"""Talking to a Docker Engine over mutual TLS: the connection check of env/config/create and the
version query of ls. Plain asyncio + ssl, so `ls` never pays for an HTTP library's import."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import ssl
from typing import Any
from urllib.parse import urlparse

from .aio import wait_for
from .errors import MachineError, program_name

REGEN_ADVICE = (
    "You can attempt to regenerate them using '{prog} regenerate-certs [name]'.\n"
    "Be advised that this will trigger a Docker daemon restart which might stop running containers.\n"
)

_contexts: dict[tuple[tuple[str, int], ...], ssl.SSLContext] = {}


def client_context(ca: str, cert: str, key: str) -> ssl.SSLContext:
    # keyed on the files' mtimes so regenerated certificates are picked up by a long-running TUI; the stat
    # also fails fast for missing files (a new SSLContext costs ~0.1 ms, 500 machines poll every few seconds)
    k = tuple((path, os.stat(path).st_mtime_ns) for path in (ca, cert, key))
    ctx = _contexts.get(k)
    if ctx is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(ca)
        ctx.load_cert_chain(cert, key)
        _contexts[k] = ctx
    return ctx


def tls_files_problem(ca: str, cert: str, key: str, err: BaseException) -> str:
    """Which TLS file failed to load, and why, in one line (ssl errors do not name the file)."""
    if isinstance(err, OSError) and not isinstance(err, ssl.SSLError) and err.filename:
        return f"open {err.filename}: {(err.strerror or str(err)).lower()}"
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        probe.load_verify_locations(ca)
    except (OSError, ssl.SSLError):
        return f"{ca or '(no CA file)'} is not a PEM CA certificate"
    try:
        probe.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as bad:
        reason = getattr(bad, "reason", "") or ""
        if "KEY_VALUES_MISMATCH" in reason.upper():
            return f"the client key {key} does not belong to the client certificate {cert}"
        return f"{cert} and {key} are not a PEM client certificate and its key"
    return str(err)


class MissingAddress(MachineError):
    """A machine URL with no host to dial ("none", "url1": the none driver keeps what it is given)."""


def split_hostport(url: str, default_port: int = 2376) -> tuple[str, int]:
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError as err:
        raise MachineError(f'the machine\'s URL "{url}" is not valid: {err}') from None
    if not parsed.hostname:
        # the none driver keeps any --url, as docker-machine does; one without a host is told here, never dialled
        raise MissingAddress(f'dial tcp: missing address (the machine\'s URL is "{url}")')
    return parsed.hostname, port or default_port


def _go_dial_error(addr: str, err: BaseException) -> str:
    """The words Go's net/tls packages use, which users of docker-machine search for."""
    if isinstance(err, (asyncio.TimeoutError, TimeoutError)):
        return f"dial tcp {addr}: i/o timeout"
    if isinstance(err, ssl.SSLCertVerificationError):
        msg = err.verify_message or str(err)
        if "IP address mismatch" in msg or "Hostname mismatch" in msg:
            valid_for = err.__dict__.get("_valid_for", "other names")
            return f"x509: certificate is valid for {valid_for}, not {addr.rsplit(':', 1)[0]}"
        if "unable to get local issuer" in msg or "self-signed" in msg or "self signed" in msg:
            return "x509: certificate signed by unknown authority"
        if "expired" in msg:
            return "x509: certificate has expired or is not yet valid"
        return f"x509: {msg}"
    if isinstance(err, ssl.SSLError):
        return f"remote error: tls: {err.reason or err}".lower() if err.reason else f"tls: {err}"
    if isinstance(err, ConnectionRefusedError) or getattr(err, "errno", None) == errno.ECONNREFUSED:
        return f"dial tcp {addr}: connect: connection refused"
    if isinstance(err, (ConnectionResetError, asyncio.IncompleteReadError)):
        return f"read tcp {addr}: read: connection reset by peer"  # a reset in the handshake: Go's words
    if isinstance(err, OSError) and err.strerror:
        return f"dial tcp {addr}: connect: {err.strerror.lower()}"
    return f"dial tcp {addr}: {err or type(err).__name__}"


async def _open(host: str, port: int, ctx: ssl.SSLContext,
                timeout: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await wait_for(
        asyncio.open_connection(host, port, ssl=ctx, server_hostname=host), timeout
    )


def _mismatch_names(host: str, port: int, ctx: ssl.SSLContext) -> str:
    """On a name mismatch, fetch the names the certificate does cover, for the message."""
    import socket

    loose = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    loose.check_hostname = False
    loose.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=5) as raw:
            with loose.wrap_socket(raw, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
    except OSError:
        return "other names"
    if not der:
        return "other names"
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "no names"
    ips = [str(v) for v in san.get_values_for_type(x509.IPAddress)]
    dns = san.get_values_for_type(x509.DNSName)
    return ", ".join(ips + dns)


async def check_tls(url: str, ca: str, cert: str, key: str, timeout: float = 20.0, prog: str = "") -> None:
    """docker-machine's check.ConfigureAuth-free connection check: a TLS handshake with the client certs."""
    try:
        host, port = split_hostport(url)
    except MissingAddress as err:
        raise MachineError("Error checking and/or regenerating the certs: There was an error validating certificates "
                           f'for host "": {err}\n' + REGEN_ADVICE.format(prog=prog or program_name())) from None
    addr = f"{host}:{port}"
    ctx = None
    try:
        ctx = client_context(ca, cert, key)
        reader, writer = await _open(host, port, ctx, timeout)
        writer.close()
        try:
            await writer.wait_closed()
        except (ssl.SSLError, OSError):
            pass
    except FileNotFoundError as err:
        raise MachineError("Error checking and/or regenerating the certs: "
                           f"open {err.filename}: no such file or directory") from None
    except (OSError, asyncio.TimeoutError, ssl.SSLError) as err:
        if ctx is None and isinstance(err, ssl.SSLError):  # the local files, not the connection
            raise MachineError("Error checking and/or regenerating the certs: "
                               + tls_files_problem(ca, cert, key, err)) from None
        mismatch = isinstance(err, ssl.SSLCertVerificationError) and "mismatch" in (err.verify_message or "")
        if mismatch and ctx is not None:
            err.__dict__["_valid_for"] = await asyncio.to_thread(_mismatch_names, host, port, ctx)
        detail = _go_dial_error(addr, err)
        raise MachineError(
            "Error checking and/or regenerating the certs: There was an error validating certificates for host "
            f'"{addr}": {detail}\n' + REGEN_ADVICE.format(prog=prog or program_name())
        ) from None


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
            detail = _go_dial_error(f"{host}:{port}", err)
            raise MachineError(f'Get "https://{host}:{port}/version": {detail}') from None
        raise MachineError("Cannot connect to the docker engine endpoint") from None
    try:
        writer.write(f"GET /version HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        raw = await wait_for(reader.read(-1), timeout)
    except (OSError, ssl.SSLError) as err:
        raise MachineError(f'Get "https://{host}:{port}/version": {_go_dial_error(f"{host}:{port}", err)}') from None
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
