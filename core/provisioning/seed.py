"""The engine's seed: what provisioning would copy to a new machine (its TLS files, the engine's systemd drop-in,
its hostname), made before the machine first boots, for a driver whose image applies it at boot. Docker then
starts once, already on TLS, while SSH comes up, and provisioning checks it instead of restarting it."""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .engineconfig import DOCKER_DIR, drop_in, engine_port, unit_extras_from

if TYPE_CHECKING:
    from ..hostconfig import Host

SEED_CONF = "engine-seed.conf"  # the drop-in's text, in the machine's folder for the VM to read at its first boot


@dataclass
class EngineSeed:
    hostname: str
    ca: str  # local paths of the files the guest copies to DOCKER_DIR
    cert: str
    key: str
    conf: str  # and of the engine's systemd drop-in

    def remote_certs(self) -> dict[str, str]:
        """Where each TLS file lands in the guest -> its local path."""
        return {f"{DOCKER_DIR}/ca.pem": self.ca, f"{DOCKER_DIR}/server.pem": self.cert,
                f"{DOCKER_DIR}/server-key.pem": self.key}


def server_cert_sans(host: Host, ip: str) -> list[str]:
    return list(host.auth.get("ServerCertSANs") or []) + [ip, "localhost"]


async def make_server_cert(host: Host, ip: str) -> None:
    from .. import certs

    a = host.auth
    org = f"{certs.cert_org_user()}.{host.name}"
    await asyncio.to_thread(certs.make_signed, a["ServerCertPath"], a["ServerKeyPath"], a["CaCertPath"],
                            a["CaPrivateKeyPath"], org, server_cert_sans(host, ip), True,
                            bool(host.swarm.get("Master")))


async def make_seed(host: Host, url: str, dockerd: str, execstart: str) -> EngineSeed:
    """The seed for a machine whose engine will answer at `url`, its image's dockerd and unit's ExecStart known
    before it boots (a driver calls this through its `seed_engine` just before the first boot)."""
    from urllib.parse import urlparse

    from ..store import write_atomic

    await make_server_cert(host, urlparse(url).hostname or "")
    text = drop_in(host, host.driver_name, dockerd, engine_port(url), unit_extras_from(execstart))
    conf_path = os.path.join(host.dir, SEED_CONF)
    write_atomic(conf_path, text.encode(), 0o600)
    a = host.auth
    return EngineSeed(host.name, a["CaCertPath"], a["ServerCertPath"], a["ServerKeyPath"], conf_path)


def digests(files: dict[str, str]) -> dict[str, str]:
    """remote path -> the sha256 of the local file that it must equal."""
    out = {}
    for remote, local in files.items():
        with open(local, "rb") as fh:
            out[remote] = hashlib.sha256(fh.read()).hexdigest()
    return out
