"""The none driver: an existing Docker Engine reached at --url. Nothing to create or provision."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from ..errors import MachineError
from ..flags import Flag
from ..states import State
from .base import Driver, Setting


class NoneDriver(Driver):
    name = "none"
    provisions = False
    flags = [Flag("url", "URL of host when no driver is selected", required=True)]

    ssh_user_setting = Setting("SSHUser", str, "")
    ssh_port_setting = Setting("SSHPort", int, 0)
    url = Setting("URL", str, flag="url")

    def set_config_from_flags(self, opts: dict[str, Any]) -> None:
        # only its own flag, as docker-machine's none driver: the swarm options are not its business
        url = self.url = opts.get("url") or ""
        if not url:
            raise MachineError("--url option is required when no driver is selected")
        problem = url_problem(url)
        if problem:
            raise MachineError(f'--url "{url}": {problem}')
        self.ip_address = urlparse(url).netloc  # host:port, as docker-machine stores it

    async def state(self) -> State:
        return State.RUNNING

    async def get_url(self) -> str:
        return self.url

    async def start(self) -> None:
        return None

    async def ssh_hostname(self) -> str:
        # docker-machine retries SSH for 3 minutes here; there is nothing to reach, so say so at once
        raise MachineError(f'"{self.machine_name}" uses the none driver, which has no SSH access')

    async def stop(self) -> None:
        raise MachineError("hosts without a driver cannot be stopped")

    async def restart(self) -> None:
        raise MachineError("hosts without a driver cannot be restarted")

    async def kill(self) -> None:
        raise MachineError("hosts without a driver cannot be killed")


def url_problem(url: str) -> str:
    """Why a Docker URL cannot be used ("" when it can): checked at create, not when ls trips over it."""
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError as err:
        return f"not a valid URL ({err})"
    if parsed.scheme not in ("tcp", "http", "https", "unix", "ssh", "npipe"):
        return "not a valid URL (expected tcp://HOST:PORT)"
    if parsed.scheme != "unix" and not parsed.hostname:
        return "not a valid URL: no host (expected tcp://HOST:PORT)"
    if port == 0:
        return "port 0 is not a port (1-65535)"
    return ""
