"""Certificates as docker-machine makes them, and the TLS check env/config run against an engine."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import stat

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fakeengine import FakeEngine
from machine_tui.core import certs
from machine_tui.core.engine import check_tls, docker_version
from machine_tui.core.errors import MachineError


def load(path):
    return x509.load_pem_x509_certificate(open(path, "rb").read())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_create_bootstraps_ca_and_client_cert_like_docker_machine(cli, store):
    r = cli("create", "-d", "none", "--url", "tcp://127.0.0.1:1", "m1")
    assert r.returncode == 0, r.stderr
    d = os.path.join(store, "certs")
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(store, "machines", "m1")).st_mode) == 0o700
    for name, mode in (("ca.pem", 0o644), ("ca-key.pem", 0o600), ("cert.pem", 0o644), ("key.pem", 0o600)):
        assert stat.S_IMODE(os.stat(os.path.join(d, name)).st_mode) == mode, name
    assert open(os.path.join(d, "ca-key.pem")).read().startswith("-----BEGIN RSA PRIVATE KEY-----")
    ca, client = load(os.path.join(d, "ca.pem")), load(os.path.join(d, "cert.pem"))
    assert ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "unknown"
    assert client.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "unknown.<bootstrap>"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ExtendedKeyUsageOID.CLIENT_AUTH in client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ca.public_key().key_size == 2048
    assert (ca.not_valid_after_utc - ca.not_valid_before_utc) == dt.timedelta(days=1080)
    assert ca.not_valid_before_utc.second == 0
    # a second create reuses the CA
    r2 = cli("create", "-d", "none", "--url", "tcp://127.0.0.1:1", "m2")
    assert "Creating CA" not in r2.stdout
    assert load(os.path.join(d, "ca.pem")).serial_number == ca.serial_number


def test_user_names_the_certificate_organisation(cli, store):
    cli("create", "-d", "none", "--url", "tcp://127.0.0.1:1", "m1", USER="alice")
    ca = load(os.path.join(store, "certs", "ca.pem"))
    assert ca.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "alice"


def test_server_cert_sans(tmp_path):
    ca, ca_key = str(tmp_path / "ca.pem"), str(tmp_path / "ca-key.pem")
    certs.make_ca(ca, ca_key, "u")
    certs.make_signed(str(tmp_path / "s.pem"), str(tmp_path / "s-key.pem"), ca, ca_key, "u.m1",
                      ["foo.example", "10.0.0.9", "127.0.0.1", "localhost"], server=True)
    assert certs.server_cert_sans(str(tmp_path / "s.pem")) == ["10.0.0.9", "127.0.0.1", "foo.example", "localhost"]


def test_expired_ca_is_regenerated(tmp_path):
    ca, ca_key = str(tmp_path / "ca.pem"), str(tmp_path / "ca-key.pem")
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    said = []
    certs.bootstrap(ca, ca_key, cert, key, said.append)
    assert said == [f"Creating CA: {ca}", f"Creating client certificate: {cert}"]
    certs.VALID_DAYS, old = 0, certs.VALID_DAYS
    try:
        certs.make_ca(ca, ca_key, "u")  # validity ended 5 minutes ago
    finally:
        certs.VALID_DAYS = old
    said.clear()
    certs.bootstrap(ca, ca_key, cert, key, said.append)
    assert said[0] == "CA certificate is outdated and needs to be regenerated"
    assert not certs.is_expired(ca)


def test_tls_check_against_a_mutual_tls_engine(cli, store):
    port = free_port()
    cli("create", "-d", "none", "--url", f"tcp://127.0.0.1:{port}", "m1")
    c = os.path.join(store, "certs")
    args = (f"tcp://127.0.0.1:{port}", f"{c}/ca.pem", f"{c}/cert.pem", f"{c}/key.pem")
    with FakeEngine(store, "127.0.0.1", port):
        asyncio.run(check_tls(*args))
        assert asyncio.run(docker_version(*args))["Version"] == "19.03.5"
        r = cli("env", "m1")
        assert r.returncode == 0
        assert f'export DOCKER_HOST="tcp://127.0.0.1:{port}"' in r.stdout


def test_engine_cert_for_another_ip_names_regenerate_certs(cli, store):
    port = free_port()
    cli("create", "-d", "none", "--url", f"tcp://127.0.0.1:{port}", "m1")
    with FakeEngine(store, "127.0.0.1", port, sans=["10.9.9.9"]):
        r = cli("env", "m1")
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert first.endswith("x509: certificate is valid for 10.9.9.9, not 127.0.0.1")
    assert "machine-tui regenerate-certs [name]" in r.stderr


def test_client_without_our_certificates_is_refused_by_the_engine(cli, store, tmp_path):
    port = free_port()
    cli("create", "-d", "none", "--url", f"tcp://127.0.0.1:{port}", "m1")
    other_ca, other_key = str(tmp_path / "oca.pem"), str(tmp_path / "oca-key.pem")
    certs.make_ca(other_ca, other_key, "intruder")
    certs.make_signed(str(tmp_path / "c.pem"), str(tmp_path / "k.pem"), other_ca, other_key, "x", [""], server=False)
    c = os.path.join(store, "certs")
    with FakeEngine(store, "127.0.0.1", port):
        with pytest.raises(MachineError):
            asyncio.run(docker_version(f"tcp://127.0.0.1:{port}", f"{c}/ca.pem", str(tmp_path / "c.pem"),
                                       str(tmp_path / "k.pem")))
