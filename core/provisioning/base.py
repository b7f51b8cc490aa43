"""What every provisioner does on a systemd host with a package manager; distro families override the rest."""

from __future__ import annotations

import asyncio
import shlex
from typing import TYPE_CHECKING

from ..errors import MachineError
from .commander import Commander
from .engineconfig import DOCKER_DIR, DROP_IN, drop_in

if TYPE_CHECKING:
    from ..events import Reporter
    from ..hostconfig import Host

# a login user other than root has no sbin folders on its PATH, where dockerd lives
# systemd answers in seconds on a quiet host, but a TCG guest sharing two cores with two others was seen to take
# more than 120 s over one daemon-reload: bounded, yet past what a loaded emulated host needs
SYSTEMD_WAIT = 600
# dockerd that gives up on a slow containerd under load starts on a later try (docker's own unit restarts it too)
SERVICE_TRIES = 3
SERVICE_RETRY_DELAY = 5.0
SBIN = 'PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; '


class Provisioner:
    """Systemd hosts with a package manager; subclasses name their package commands."""

    name = "generic"
    ids: tuple[str, ...] = ()
    install_from_packages = ""  # install docker from the distro instead of the install script

    docker_dir = DOCKER_DIR  # where the engine's TLS files go

    def __init__(self, conn: Commander, os_info: dict[str, str]):
        self.conn = conn
        self.os = os_info

    @property
    def config_path(self) -> str:
        return DROP_IN

    def engine_config(self, host: Host, driver_name: str, dockerd: str, port: int, extras: list[str]) -> str:
        return drop_in(host, driver_name, dockerd, port, extras, self.docker_dir)

    async def enable(self) -> None:
        await self.conn.sudo("systemctl -f enable docker", timeout=SYSTEMD_WAIT, check=False)

    def package_install(self, pkg: str) -> str:
        raise NotImplementedError

    def package_upgrade(self, pkg: str) -> str:
        return self.package_install(pkg)

    async def service(self, action: str, report: Reporter | None = None) -> None:
        if action in ("start", "restart"):
            await self.conn.sudo("systemctl daemon-reload", timeout=SYSTEMD_WAIT)
        tries = SERVICE_TRIES if action in ("start", "restart") else 1
        for attempt in range(1, tries + 1):
            try:
                await self.conn.sudo(f"systemctl -f {action} docker", timeout=SYSTEMD_WAIT)
                return
            except MachineError as err:
                said = await self._what_dockerd_said() or str(err)
                if attempt == tries:
                    raise MachineError(f"systemctl {action} docker failed: {said}") from None
                if report:
                    report.info(f"Docker did not {action} ({said}): trying again ({attempt + 1}/{tries})...")
                # systemd refuses a unit that failed too often in a minute until told to forget it
                await self.conn.sudo("systemctl reset-failed docker.service docker.socket", check=False)
                await asyncio.sleep(SERVICE_RETRY_DELAY)

    async def _what_dockerd_said(self) -> str:
        """systemctl only says "see journalctl": the last lines dockerd wrote, else what systemd said of it
        (such as "Start request repeated too quickly")."""
        log = await self.conn.sudo("journalctl -u docker.service -n 20 --no-pager -o cat 2>/dev/null",
                                   timeout=SYSTEMD_WAIT, check=False)
        lines = [line.strip() for line in log.stdout.splitlines() if line.strip()]
        own = [line for line in lines if not line.startswith("docker.service")]
        return " / ".join((own or lines)[-2:])

    async def set_hostname(self, name: str) -> None:
        q = shlex.quote(name)
        await self.conn.sudo(
            f"hostname {q} && echo {q} > /etc/hostname && "
            f"if ! grep -xq '.*\\s{name}' /etc/hosts; then "
            f"if grep -xq '127.0.1.1\\s.*' /etc/hosts; then sed -i 's/^127.0.1.1\\s.*/127.0.1.1 {name}/g' /etc/hosts; "
            f"else echo '127.0.1.1 {name}' >> /etc/hosts; fi; fi"
        )
