"""Per-machine SSH key pairs kept as docker-machine keeps them (id_rsa / id_rsa.pub, 0600)."""

from __future__ import annotations

import os
import shutil

from . import hostos


def make_key_pair(private_path: str) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    from .store import write_atomic

    write_atomic(private_path, pem, 0o600)
    hostos.owner_only(private_path)
    write_atomic(private_path + ".pub", pub + b"\n", 0o600)
    return private_path


def adopt_or_make_key(source: str, machine_dir: str) -> str:
    """Copy the user's key into the machine folder (as docker-machine does) or make id_rsa."""
    if not source:
        return make_key_pair(os.path.join(machine_dir, "id_rsa"))
    dest = os.path.join(machine_dir, os.path.basename(source))
    shutil.copyfile(source, dest)
    os.chmod(dest, 0o600)
    hostos.owner_only(dest)
    if os.path.exists(source + ".pub"):
        shutil.copyfile(source + ".pub", dest + ".pub")
        os.chmod(dest + ".pub", 0o600)
    return dest
