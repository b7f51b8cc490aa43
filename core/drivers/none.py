"""The none driver: an existing Docker Engine reached at --url. Nothing to create or provision."""

from __future__ import annotations

from ..errors import MachineError
from ..flags import Flag
from ..states import State
from .base import Driver, Setting

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    from typing import Any


class NoneDriver(Driver):
    name = "none"
    summary = "a Docker engine already listening at a URL: recorded, nothing installed"
    provisions = False
    answers_at_once = True
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
            raise MachineError(f'parse "{url}": {problem}')
        from urllib.parse import urlparse  # here: `url` and `env` of a none machine never parse one

        self.ip_address = urlparse(url).netloc  # host:port, as docker-machine stores it ("" for "none")

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
    """Why Go's url.Parse refuses a URL ("" when it takes it): docker-machine's none driver stores any URL it
    parses ("none", "url1" in its own tests), and the engine is only dialled later, where the URL is checked."""
    import re

    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return "net/url: invalid control character in URL"
    bad = re.search(r"%(?![0-9A-Fa-f]{2})", url)
    if bad:
        return f'invalid URL escape "{url[bad.start():bad.start() + 3]}"'
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", url)
    if url.startswith(":"):
        return "missing protocol scheme"
    if not scheme:
        first = url.split("?", 1)[0].split("/", 1)[0]
        return "first path segment in URL cannot contain colon" if ":" in first else ""
    rest = url[scheme.end():]
    if not rest.startswith("//"):
        return ""
    authority = rest[2:].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = authority.rsplit("@", 1)[-1]
    if host.startswith("["):
        if "]" not in host:
            return "missing ']' in host"
        port = host[host.index("]") + 1:]
        if port and not re.fullmatch(r":\d*", port):
            return f'invalid port "{port}" after host'
        return ""
    name, colon, port = host.rpartition(":") if ":" in host else (host, "", "")
    if colon and not port.isdigit() and port != "":
        return f'invalid port ":{port}" after host'
    for c in name:
        if not (c.isalnum() or c in "-._~!$&'()*+,;=%"):
            return f'invalid character "{c}" in host name'
    return ""
