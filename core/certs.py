"""TLS material as docker-machine makes it: one CA per store, a client cert, one server cert per machine.

RSA 2048, PKCS#1 PEM keys written 0600, Subject with only O=, notBefore = now - 5 min (to the minute),
valid 1080 days, random 128-bit serials."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import MachineError
from .store import hold_lock, makedirs_private, recover_pair, replace_pair

VALID_DAYS = 1080


def cert_org_user() -> str:
    # docker-machine uses $USER and falls back to "unknown"; getpass would find root even without $USER.
    return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def _validity() -> tuple[dt.datetime, dt.datetime]:
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    start = now - dt.timedelta(minutes=5)
    return start, start + dt.timedelta(days=VALID_DAYS)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key: Any) -> bytes:
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    return pem


def _builder(org: str, pubkey: Any) -> tuple[x509.CertificateBuilder, x509.Name]:
    start, end = _validity()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .public_key(pubkey)
        .serial_number(secrets.randbits(127) + 1)
        .not_valid_before(start)
        .not_valid_after(end)
    ), name


def _usage(digital: bool = True, encipher: bool = False, agreement: bool = False,
           cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital, content_commitment=False, key_encipherment=encipher, data_encipherment=False,
        key_agreement=agreement, key_cert_sign=cert_sign, crl_sign=False, encipher_only=False, decipher_only=False,
    )


def write_pair(cert_path: str, key_path: str, cert: Any, key: Any) -> None:
    makedirs_private(os.path.dirname(cert_path))
    replace_pair(cert_path, key_path, cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def load_key(path: str) -> Any:
    try:
        with open(path, "rb") as fh:
            return serialization.load_pem_private_key(fh.read(), password=None)
    except (ValueError, TypeError):
        raise MachineError(f"{path} is not a PEM private key without a passphrase") from None


def load_cert(path: str) -> x509.Certificate:
    try:
        with open(path, "rb") as fh:
            return x509.load_pem_x509_certificate(fh.read())
    except ValueError:
        raise MachineError(f"{path} is not a PEM certificate") from None


def make_ca(cert_path: str, key_path: str, org: str, key: Any | None = None) -> None:
    key = key or _new_key()
    builder, name = _builder(org, key.public_key())
    cert = (
        builder.issuer_name(name)
        .add_extension(_usage(True, True, True, True), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    write_pair(cert_path, key_path, cert, key)


def _load_ca(ca_cert_path: str, ca_key_path: str) -> tuple[x509.Certificate, Any]:
    return load_cert(ca_cert_path), load_key(ca_key_path)


def make_signed(cert_path: str, key_path: str, ca_cert_path: str, ca_key_path: str, org: str,
                hosts: list[str], server: bool, client_auth_too: bool = False, key: Any | None = None) -> None:
    ca_cert, ca_key = _load_ca(ca_cert_path, ca_key_path)
    key = key or _new_key()
    builder, _ = _builder(org, key.public_key())
    builder = builder.issuer_name(ca_cert.subject)
    if server:
        eku = [ExtendedKeyUsageOID.SERVER_AUTH] + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client_auth_too else [])
        builder = builder.add_extension(_usage(True, True, True), critical=True)
    else:
        eku = [ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(_usage(True), critical=True)
    builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    sans: list[x509.GeneralName] = []
    for h in hosts:
        if not h:
            continue
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    write_pair(cert_path, key_path, cert, key)


def is_expired(cert_path: str) -> bool:
    cert = load_cert(cert_path)
    now = dt.datetime.now(dt.timezone.utc)
    return not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc)


def bootstrap(ca_cert: str, ca_key: str, client_cert: str, client_key: str, say: Callable[[str], None]) -> None:
    """Make the store's CA and client certificate when missing or expired (BootstrapCertificates).
    Held under the certs folder's lock: two creates at once make one CA, not two."""
    folder = os.path.dirname(ca_cert)
    makedirs_private(folder)
    user = cert_org_user()
    with hold_lock(os.path.join(folder, ".machine-tui.lock")):
        _renew(ca_cert, ca_key, "CA certificate", "certificate authority key", "Creating CA", say,
               lambda key=None: make_ca(ca_cert, ca_key, user, key))
        _renew(client_cert, client_key, "Client certificate", "client key", "Creating client certificate", say,
               lambda key=None: make_signed(client_cert, client_key, ca_cert, ca_key, f"{user}.<bootstrap>", [""],
                                            server=False, key=key))


def regenerate_client(ca_cert: str, ca_key: str, client_cert: str, client_key: str, say: Callable[[str], None]) -> None:
    """regenerate-certs --client-certs: a new client pair, replaced as one (the old pair until it is whole)."""
    with hold_lock(os.path.join(os.path.dirname(client_cert), ".machine-tui.lock")):
        say("Regenerating local certificates")
        make_signed(client_cert, client_key, ca_cert, ca_key, f"{cert_org_user()}.<bootstrap>", [""], server=False)


def _renew(cert: str, key: str, what: str, key_what: str, creating: str, say: Callable[[str], None], make: Any) -> None:
    recover_pair(cert)
    if os.path.exists(cert) and is_expired(cert):
        say(f"{what} is outdated and needs to be regenerated")
        make()  # replaces both files as one pair
        return
    if os.path.exists(cert):
        return
    if os.path.exists(key):
        if os.path.dirname(key) != os.path.dirname(cert):
            raise MachineError(f"{key_what} already exists at {key} but its certificate {cert} is missing")
        # a key left alone by an interrupted create of an older version: certify that key rather than refuse
        say(f"{what} is missing for the existing {key_what}: making one for it: {cert}")
        try:
            existing = load_key(key)
        except (MachineError, OSError):
            existing = None
        make(existing)
        return
    say(f"{creating}: {cert}")
    make()


def server_cert_sans(cert_path: str) -> list[str]:
    cert = load_cert(cert_path)
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    names: list[str] = ext.get_values_for_type(x509.DNSName)
    return [str(v) for v in ext.get_values_for_type(x509.IPAddress)] + names


