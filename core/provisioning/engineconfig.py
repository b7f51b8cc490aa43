"""The engine's configuration on the host: dockerd's flags and the systemd drop-in that carries them."""

from __future__ import annotations

import re
import shlex
from urllib.parse import urlparse

from ..hostconfig import Host

DOCKER_DIR = "/etc/docker"
DROP_IN = "/etc/systemd/system/docker.service.d/10-machine.conf"
# a shell command printing the unit's last ExecStart (a drop-in's, if any). A login user other than root reads it over
# the system bus, which an image without D-Bus lacks (Debian's minimal and cloud images): then through sudo
UNIT_EXECSTART = ("{ systemctl cat docker.service 2>/dev/null || sudo -n systemctl cat docker.service 2>/dev/null; } "
                  "| grep '^ExecStart=.' | tail -1")


def engine_port(url: str) -> int:
    return urlparse(url).port or 2376


def daemon_flags(host: Host, driver_name: str, dockerd: str, port: int, unit_extras: list[str],
                 docker_dir: str = DOCKER_DIR) -> str:
    e = host.engine
    storage = e.get("StorageDriver") or "overlay2"
    parts = [dockerd, f"-H tcp://0.0.0.0:{port}", "-H unix:///var/run/docker.sock", f"--storage-driver {storage}",
             f"--tlsverify --tlscacert {docker_dir}/ca.pem --tlscert {docker_dir}/server.pem "
             f"--tlskey {docker_dir}/server-key.pem", f"--label provider={driver_name}"]
    parts += [f"--label {shlex.quote(label)}" for label in e.get("Labels") or []]
    parts += [f"--insecure-registry {shlex.quote(r)}" for r in e.get("InsecureRegistry") or []]
    parts += [f"--registry-mirror {shlex.quote(m)}" for m in e.get("RegistryMirror") or []]
    parts += [shlex.quote(f"--{opt}") for opt in e.get("ArbitraryFlags") or []]
    parts += unit_extras
    return " ".join(parts)


def drop_in(host: Host, driver_name: str, dockerd: str, port: int, unit_extras: list[str],
            docker_dir: str = DOCKER_DIR) -> str:
    env = " ".join(_systemd_quote(v) for v in host.engine.get("Env") or [])
    return (
        "[Service]\nExecStart=\n"
        f"ExecStart={daemon_flags(host, driver_name, dockerd, port, unit_extras, docker_dir)}\n"
        f"Environment={env}\n"
    )


def _systemd_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_extras_from(execstart: str) -> list[str]:
    """Flags of the distribution's own unit that dockerd needs there (e.g. Debian's --containerd)."""
    return re.findall(r"--containerd(?:=|\s+)\S+", execstart)
