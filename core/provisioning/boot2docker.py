"""boot2docker: Docker ships in the ISO."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from ..errors import MachineError
from .base import Provisioner

if TYPE_CHECKING:
    from ..events import Reporter
    from ..hostconfig import Host


class Boot2Docker(Provisioner):
    """boot2docker: no package manager; Docker is in the ISO, configured by its profile file, certificates in
    /var/lib/boot2docker (the persistent disk), started by its init script."""

    name, ids = "boot2docker", ("boot2docker",)
    docker_dir = "/var/lib/boot2docker"

    @property
    def config_path(self) -> str:
        return "/var/lib/boot2docker/profile"

    def engine_config(self, host: Host, driver_name: str, dockerd: str, port: int, extras: list[str]) -> str:
        e = host.engine
        args = [f"--label provider={driver_name}"]
        args += [f"--label {shlex.quote(label)}" for label in e.get("Labels") or []]
        args += [f"--insecure-registry {shlex.quote(r)}" for r in e.get("InsecureRegistry") or []]
        args += [f"--registry-mirror {shlex.quote(m)}" for m in e.get("RegistryMirror") or []]
        args += [shlex.quote(f"--{opt}") for opt in e.get("ArbitraryFlags") or []]
        env = "".join(f"export {shlex.quote(v)}\n" for v in e.get("Env") or [])
        d = self.docker_dir
        return ("EXTRA_ARGS='\n" + "\n".join(args) + "\n\n'\n"
                f"CACERT={d}/ca.pem\nDOCKER_HOST='-H tcp://0.0.0.0:{port}'\n"
                f"DOCKER_STORAGE={e.get('StorageDriver') or 'overlay2'}\nDOCKER_TLS=auto\n"
                f"SERVERKEY={d}/server-key.pem\nSERVERCERT={d}/server.pem\n\n{env}")

    async def enable(self) -> None:
        return None  # its init script always starts Docker

    def package_install(self, pkg: str) -> str:
        raise MachineError("boot2docker has no package manager: upgrade by replacing its ISO")

    async def service(self, action: str, report: Reporter | None = None) -> None:
        await self.conn.sudo(f"/etc/init.d/docker {action}", timeout=180)

    async def set_hostname(self, name: str) -> None:
        q = shlex.quote(name)
        await self.conn.sudo(f"/usr/bin/sethostname {q} && echo {q} > /var/lib/boot2docker/etc/hostname")
