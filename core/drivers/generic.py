"""The generic driver: an existing Linux host reached over SSH, provisioned with Docker by machine-tui."""

from __future__ import annotations

import asyncio
import os

from ..errors import MachineError, PreCreateError
from . import PORT, Driver, Flag, State


class GenericDriver(Driver):
    name = "generic"
    flags = [
        Flag("generic-engine-port", "Docker engine port", "int", 2376, "GENERIC_ENGINE_PORT", bounds=PORT),
        Flag("generic-ip-address", "IP Address of machine", env="GENERIC_IP_ADDRESS", required=True),
        Flag("generic-ssh-key", "SSH private key path (if not provided, default SSH key will be used)",
             env="GENERIC_SSH_KEY"),
        Flag("generic-ssh-port", "SSH port", "int", 22, "GENERIC_SSH_PORT", bounds=PORT),
        Flag("generic-ssh-user", "SSH user", default="root", env="GENERIC_SSH_USER"),
    ]

    @classmethod
    def new_config(cls, machine_name: str, store_path: str) -> dict:
        cfg = super().new_config(machine_name, store_path)
        cfg.update({"EnginePort": 2376, "SSHKey": ""})
        return cfg

    def set_config_from_flags(self, opts: dict) -> None:
        super().set_config_from_flags(opts)
        self.config["EnginePort"] = int(opts.get("generic-engine-port", 2376))
        self.config["IPAddress"] = opts.get("generic-ip-address", "")
        self.config["SSHUser"] = opts.get("generic-ssh-user", "root")
        self.config["SSHPort"] = int(opts.get("generic-ssh-port", 22))
        key = opts.get("generic-ssh-key", "")
        self.config["SSHKey"] = os.path.abspath(os.path.expanduser(key)) if key else ""
        if not self.config["IPAddress"]:
            raise MachineError("generic driver requires the --generic-ip-address option")

    async def pre_create_check(self) -> None:
        key = self.config.get("SSHKey")
        if key and not os.path.exists(key):
            raise PreCreateError(f'Error with pre-create check: "SSH key does not exist: \\"{key}\\""')

    async def create(self, report) -> None:
        from ..sshkeys import adopt_or_make_key

        key = self.config.get("SSHKey")
        if key:
            report.info("Importing SSH key...")
        self.config["SSHKeyPath"] = adopt_or_make_key(key or "", self.resolve_store_path())

    async def get_url(self) -> str:
        if await self.state() != State.RUNNING:
            raise MachineError("Host is not running")
        ip = await self.get_ip()
        return f"tcp://{_bracket(ip)}:{self.config.get('EnginePort', 2376)}"

    async def state(self) -> State:
        """Running when an SSH server answers. docker-machine only dials the port, which a NAT port forward
        (QEMU, VirtualBox) accepts even while the host is down, so the banner is read too."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.config.get("IPAddress"), self.ssh_port()), 15
            )
        except (OSError, asyncio.TimeoutError):
            return State.STOPPED
        try:
            banner = await asyncio.wait_for(reader.read(4), 10)
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
