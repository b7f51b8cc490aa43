"""The engine's seed: what provisioning would copy to a new machine (its TLS files, the engine's systemd drop-in,
its hostname), made before the machine first boots, for a driver whose image applies it at boot. Docker then
starts once, already on TLS, while SSH comes up, and provisioning checks it instead of restarting it."""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .engineconfig import DOCKER_DIR, DROP_IN, UNIT_EXECSTART, drop_in, engine_port, unit_extras_from

if TYPE_CHECKING:
    from ..hostconfig import Host

SEED_CONF = "engine-seed.conf"  # the drop-in's text, in the machine's folder for the VM to read at its first boot
# a cloud image's dockerd is known only inside it: its seed's drop-in names this, and the guest puts its own there
GUEST_DOCKERD = "@DOCKERD@"
UNIT_DIR = "/etc/systemd/system"


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

    def first_boot_script(self, docker_dir: str = DOCKER_DIR, drop_in_path: str = DROP_IN,
                          unit_dir: str = UNIT_DIR) -> str:
        """The seed as a shell script for cloud-init's bootcmd (a cloud image has no reader of fw_cfg): on an image
        with Docker preinstalled and never provisioned, it writes what provisioning would (the TLS files, the
        drop-in with the guest's own dockerd and its unit's --containerd, as provisioning reads them), enables
        Docker and starts it while the boot goes on. Without dockerd, or provisioned already, it does nothing and
        provisioning does the work. The paths are parameters so a test can run it in a folder."""
        import base64

        def data(path: str) -> str:
            with open(path, "rb") as fh:
                return base64.b64encode(fh.read()).decode()

        def put(local: str, remote: str, mode: str) -> str:
            return f"  (umask 077; echo {data(local)} | base64 -d > {remote}.new); chmod {mode} {remote}.new\n"

        return (
            "PATH=$PATH:/usr/sbin:/usr/bin:/sbin:/bin\n"
            # the subshell is a command of its own: `set -e` is void on the left of `||`
            f"if [ ! -e {docker_dir}/server.pem ] && d=$(command -v dockerd); then\n"
            "(\n"
            "  set -e\n"
            # engineconfig.unit_extras_from's pattern, on what provisioning reads
            f"  x=$({UNIT_EXECSTART} "
            "| grep -oE -- '--containerd(=|[[:space:]]+)[^[:space:]]+' | sed 's/^/ /' | tr -d '\\n')\n"
            "  case \"$d$x\" in *'|'*|*'&'*|*'\\'*) exit 1;; esac\n"
            f"  mkdir -p {docker_dir} {os.path.dirname(drop_in_path)}\n"
            + put(self.ca, f"{docker_dir}/ca.pem", "644")
            + put(self.key, f"{docker_dir}/server-key.pem", "600")
            + put(self.conf, drop_in_path, "644")
            + f"  sed -i -e \"s|{GUEST_DOCKERD}|$d|\" -e \"/^ExecStart=./s|\\$|$x|\" {drop_in_path}.new\n"
            + put(self.cert, f"{docker_dir}/server.pem", "644")
            + f"  for f in {docker_dir}/ca.pem {docker_dir}/server-key.pem {drop_in_path} {docker_dir}/server.pem; "
            "do mv \"$f.new\" \"$f\"; done\n"
            "  for u in docker.socket:sockets docker.service:multi-user; do\n"
            "    f=$(systemctl show --property=FragmentPath --value \"${u%%:*}\")\n"
            f"    [ -z \"$f\" ] || {{ mkdir -p {unit_dir}/${{u#*:}}.target.wants && "
            f"ln -sf \"$f\" {unit_dir}/${{u#*:}}.target.wants/${{u%%:*}}; }}\n"
            "  done\n"
            "  systemctl daemon-reload\n"
            "  systemctl start --no-block docker.socket docker.service\n"
            ")\n"
            "[ $? -eq 0 ] || echo 'machine-tui: the engine seed was not applied: provisioning configures Docker' >&2\n"
            "fi\n"
        )


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
    before it boots (a driver calls this through its `seed_engine` just before the first boot); with no dockerd,
    the drop-in is completed in the guest by `first_boot_script`."""
    from urllib.parse import urlparse

    from ..store import write_atomic

    await make_server_cert(host, urlparse(url).hostname or "")
    text = drop_in(host, host.driver_name, dockerd or GUEST_DOCKERD, engine_port(url), unit_extras_from(execstart))
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
