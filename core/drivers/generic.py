"""The generic driver: an existing Linux host reached over SSH, provisioned with Docker by machine-tui."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from ..aio import wait_for
from ..errors import HostNotRunning, MachineError, PreCreateError
from ..flags import PORT, Flag
from ..states import State
from .base import Driver, Setting

if TYPE_CHECKING:
    from ..events import Reporter


class GenericDriver(Driver):
    name = "generic"
    summary = "a host you already run, reached over SSH: Docker installed and secured on it"
    flags = [
        Flag("generic-engine-port", "Docker engine port", "int", 2376, "GENERIC_ENGINE_PORT", bounds=PORT),
        Flag("generic-ip-address", "IP Address of machine", env="GENERIC_IP_ADDRESS", required=True),
        Flag("generic-ssh-key", "SSH private key path (if not provided, default SSH key will be used)",
             env="GENERIC_SSH_KEY"),
        Flag("generic-ssh-port", "SSH port", "int", 22, "GENERIC_SSH_PORT", bounds=PORT),
        Flag("generic-ssh-user", "SSH user", default="root", env="GENERIC_SSH_USER"),
    ]

    engine_port = Setting("EnginePort", int, flag="generic-engine-port")
    ssh_key = Setting("SSHKey", str, flag="generic-ssh-key")
    ip_address = Setting("IPAddress", str, flag="generic-ip-address")
    ssh_user_setting = Setting("SSHUser", str, flag="generic-ssh-user")
    ssh_port_setting = Setting("SSHPort", int, flag="generic-ssh-port")

    def set_config_from_flags(self, opts: dict[str, Any]) -> None:
        super().set_config_from_flags(opts)
        if self.ssh_key:
            self.ssh_key = os.path.abspath(os.path.expanduser(self.ssh_key))
        if not self.ip_address:
            raise MachineError("generic driver requires the --generic-ip-address option")

    async def pre_create_check(self) -> None:
        key = self.ssh_key
        if key and not os.path.exists(key):
            raise PreCreateError(f'Error with pre-create check: "SSH key does not exist: \\"{key}\\""')

    async def create(self, report: Reporter) -> None:
        from ..sshkeys import adopt_or_make_key

        if self.ssh_key:
            report.info("Importing SSH key...")
        self.ssh_key_setting = adopt_or_make_key(self.ssh_key, self.resolve_store_path())

    async def get_url(self) -> str:
        if await self.state() != State.RUNNING:
            raise HostNotRunning()
        ip = await self.get_ip()
        return f"tcp://{_bracket(ip)}:{self.engine_port}"

    async def state(self) -> State:
        """Running when an SSH server answers. docker-machine only dials the port, which a NAT port forward
        (QEMU, VirtualBox) accepts even while the host is down, so the banner is read too."""
        try:
            reader, writer = await wait_for(
                asyncio.open_connection(self.ip_address, self.ssh_port()), 15
            )
        except (OSError, asyncio.TimeoutError):
            return State.STOPPED
        try:
            banner = await wait_for(reader.read(4), 10)
        except (OSError, asyncio.TimeoutError):
            banner = b""
        finally:
            writer.close()
        return State.RUNNING if banner == b"SSH-" else State.STOPPED

    async def start(self) -> None:
        # the host's power is not ours: a stopped generic host must be switched on by its owner
        raise MachineError("generic driver does not support start")

    async def stop(self) -> None:
        raise MachineError("generic driver does not support stop")

    async def kill(self) -> None:
        raise MachineError("generic driver does not support kill")

    async def restart(self) -> None:
        from ..ssh import run_on_machine_driver

        await run_on_machine_driver(self, "shutdown -r now", expect_disconnect=True)


def _bracket(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip
