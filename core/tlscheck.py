"""The TLS check env and config run before they print (docker-machine's ConfigureAuth-free check), on a plain
blocking socket: a command line with nothing else to do pays for no event loop. The engine's asyncio client uses
the same contexts and words."""

from __future__ import annotations

import errno
import os
import re
import socket
import ssl

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


# tcp://host:port as machines' URLs are, read without urllib.parse (with ipaddress, some 3 ms of `env`'s start)
_PLAIN_URL = re.compile(r"[a-z][a-z0-9+.-]*://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):([0-9]{1,5})/?")


def split_hostport(url: str, default_port: int = 2376) -> tuple[str, int]:
    plain = _PLAIN_URL.fullmatch(url)
    if plain and int(plain.group(2)) <= 65535:
        return plain.group(1).strip("[]").lower(), int(plain.group(2)) or default_port
    from urllib.parse import urlparse

    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError as err:
        raise MachineError(f'the machine\'s URL "{url}" is not valid: {err}') from None
    if not parsed.hostname:
        # the none driver keeps any --url, as docker-machine does; one without a host is told here, never dialled
        raise MissingAddress(f'dial tcp: missing address (the machine\'s URL is "{url}")')
    return parsed.hostname, port or default_port


def go_dial_error(addr: str, err: BaseException) -> str:
    """The words Go's net/tls packages use, which users of docker-machine search for."""
    if isinstance(err, TimeoutError) or type(err).__name__ == "TimeoutError":  # asyncio's too, not imported here
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
    if isinstance(err, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):  # hung up in the handshake: as asyncio says it
        return f"read tcp {addr}: read: connection reset by peer"
    if isinstance(err, ssl.SSLError):
        return f"remote error: tls: {err.reason or err}".lower() if err.reason else f"tls: {err}"
    if isinstance(err, ConnectionRefusedError) or getattr(err, "errno", None) == errno.ECONNREFUSED:
        return f"dial tcp {addr}: connect: connection refused"
    if isinstance(err, ConnectionResetError) or type(err).__name__ == "IncompleteReadError":
        return f"read tcp {addr}: read: connection reset by peer"  # a reset in the handshake: Go's words
    if isinstance(err, OSError) and err.strerror:
        return f"dial tcp {addr}: connect: {err.strerror.lower()}"
    return f"dial tcp {addr}: {err or type(err).__name__}"


def mismatch_names(host: str, port: int, ctx: ssl.SSLContext) -> str:
    """On a name mismatch, fetch the names the certificate does cover, for the message."""
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



def check_tls_now(url: str, ca: str, cert: str, key: str, timeout: float = 20.0, prog: str = "") -> None:
    """A TLS handshake with the client certs, or one MachineError in docker-machine's words."""
    try:
        host, port = split_hostport(url)
    except MissingAddress as err:
        raise MachineError("Error checking and/or regenerating the certs: There was an error validating certificates "
                           f'for host "": {err}\n' + REGEN_ADVICE.format(prog=prog or program_name())) from None
    ctx = None
    try:
        ctx = client_context(ca, cert, key)
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with ctx.wrap_socket(raw, server_hostname=host):
                pass
    except FileNotFoundError as err:
        raise MachineError("Error checking and/or regenerating the certs: "
                           f"open {err.filename}: no such file or directory") from None
    except (OSError, ssl.SSLError) as err:
        raise tls_failure(err, ctx, ca, cert, key, host, port, prog) from None


def tls_failure(err: BaseException, ctx: ssl.SSLContext | None, ca: str, cert: str, key: str, host: str, port: int,
                prog: str) -> MachineError:
    """A failed check, said as docker-machine says it: the local files, or the connection and its certificate."""
    if ctx is None and isinstance(err, ssl.SSLError):  # the local files, not the connection
        return MachineError("Error checking and/or regenerating the certs: " + tls_files_problem(ca, cert, key, err))
    mismatch = isinstance(err, ssl.SSLCertVerificationError) and "mismatch" in (err.verify_message or "")
    if mismatch and ctx is not None:
        err.__dict__["_valid_for"] = mismatch_names(host, port, ctx)
    return MachineError(
        "Error checking and/or regenerating the certs: There was an error validating certificates for host "
        f'"{host}:{port}": {go_dial_error(f"{host}:{port}", err)}\n' + REGEN_ADVICE.format(prog=prog or program_name()))
