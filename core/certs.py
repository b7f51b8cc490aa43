"""TLS material as docker-machine makes it: one CA per store, a client cert, one server cert per machine.

RSA 2048, PKCS#1 PEM keys written 0600, Subject with only O=, notBefore = now - 5 min (to the minute),
valid 1080 days, random 128-bit serials."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .store import makedirs_private, write_atomic

VALID_DAYS = 1080


def cert_org_user() -> str:
    # docker-machine uses $USER and falls back to "unknown"; getpass would find root even without $USER.
    return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def _validity():
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    start = now - dt.timedelta(minutes=5)
    return start, start + dt.timedelta(days=VALID_DAYS)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


def _builder(org: str, pubkey):
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


def _usage(digital=True, encipher=False, agreement=False, cert_sign=False):
    return x509.KeyUsage(
        digital_signature=digital, content_commitment=False, key_encipherment=encipher, data_encipherment=False,
        key_agreement=agreement, key_cert_sign=cert_sign, crl_sign=False, encipher_only=False, decipher_only=False,
    )


def write_pair(cert_path: str, key_path: str, cert, key) -> None:
    makedirs_private(os.path.dirname(cert_path))
    write_atomic(key_path, _key_pem(key), 0o600)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def make_ca(cert_path: str, key_path: str, org: str) -> None:
    key = _new_key()
    builder, name = _builder(org, key.public_key())
    cert = (
        builder.issuer_name(name)
        .add_extension(_usage(True, True, True, True), critical=True)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    write_pair(cert_path, key_path, cert, key)


def _load_ca(ca_cert_path: str, ca_key_path: str):
    with open(ca_cert_path, "rb") as fh:
        ca_cert = x509.load_pem_x509_certificate(fh.read())
    with open(ca_key_path, "rb") as fh:
        ca_key = serialization.load_pem_private_key(fh.read(), password=None)
    return ca_cert, ca_key


def make_signed(cert_path: str, key_path: str, ca_cert_path: str, ca_key_path: str, org: str,
                hosts: list[str], server: bool, client_auth_too: bool = False) -> None:
    ca_cert, ca_key = _load_ca(ca_cert_path, ca_key_path)
    key = _new_key()
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
    sans = []
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
    with open(cert_path, "rb") as fh:
        cert = x509.load_pem_x509_certificate(fh.read())
    now = dt.datetime.now(dt.timezone.utc)
    return not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc)


def bootstrap(ca_cert: str, ca_key: str, client_cert: str, client_key: str, say) -> None:
    """Make the store's CA and client certificate when missing or expired (BootstrapCertificates)."""
    makedirs_private(os.path.dirname(ca_cert))
    user = cert_org_user()
    _renew(ca_cert, ca_key, "CA certificate", "certificate authority key", "Creating CA", say,
           lambda: make_ca(ca_cert, ca_key, user))
    _renew(client_cert, client_key, "Client certificate", "client key", "Creating client certificate", say,
           lambda: make_signed(client_cert, client_key, ca_cert, ca_key, f"{user}.<bootstrap>", [""], server=False))


def _renew(cert: str, key: str, what: str, key_what: str, creating: str, say, make) -> None:
    if os.path.exists(cert) and is_expired(cert):
        say(f"{what} is outdated and needs to be regenerated")
        os.remove(key)
        os.remove(cert)
    if not os.path.exists(cert):
        if os.path.exists(key):
            from .errors import MachineError

            raise MachineError(f"{key_what} already exists")
        say(f"{creating}: {cert}")
        make()


def server_cert_sans(cert_path: str) -> list[str]:
    with open(cert_path, "rb") as fh:
        cert = x509.load_pem_x509_certificate(fh.read())
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(v) for v in ext.get_values_for_type(x509.IPAddress)] + ext.get_values_for_type(x509.DNSName)


