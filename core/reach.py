"""How a machine is reached: its state awaited, its Docker URL, the TLS check of that URL. Below both the
operations and provisioning, so neither has to import the other to reach a machine."""

from __future__ import annotations

from . import hostconfig
from .drivers import Driver, State, driver_for
from .errors import HostNotRunning, MachineError
from .events import Reporter
from .hostconfig import Host
from .settings import WAIT_SECONDS, wait_tries


async def wait_for_state(driver: Driver, wanted: State, tries: int | None = None, delay: float = WAIT_SECONDS,
                         report: Reporter | None = None) -> None:
    tries = tries or wait_tries()
    state = State.NONE
    for attempt in range(1, tries + 1):
        state = await driver.state()
        if state == wanted:
            return
        if report is not None:
            report.progress("state", attempt / tries, f"Waiting for {wanted} ({attempt}/{tries}): {state}")
        import asyncio  # here: the quick commands that reach a URL never load it

        await asyncio.sleep(delay)
    raise MachineError(f"Error waiting for the machine to be {wanted} (last state {state}): "
                       f"Maximum number of retries ({tries}) exceeded")


async def machine_url(host: Host, swarm: bool = False) -> str:
    """URL the docker client should use; raises `Host is not running` like docker-machine."""
    driver = driver_for(host)
    url = await driver.get_url()
    if not url:
        raise HostNotRunning()
    if swarm:
        if not host.swarm.get("Master"):
            raise MachineError(
                f'"{host.name}" is not a swarm master. The --swarm flag is intended for use with swarm masters'
            )
        from urllib.parse import urlparse

        swarm_port = urlparse(host.swarm.get("Host") or hostconfig.DEFAULT_SWARM_HOST).port or 3376
        url = f"tcp://{urlparse(url).hostname}:{swarm_port}"
    return url


async def checked_url(host: Host, swarm: bool = False, prog: str = "", at_once: bool = False) -> str:
    """The connection check env and config run first: URL, then a TLS handshake with the client certs. at_once: the
    handshake on a plain blocking socket (a command line with nothing else to do), not through an event loop."""
    url = await machine_url(host, swarm)
    auth = host.auth
    files = (auth.get("CaCertPath", ""), auth.get("ClientCertPath", ""), auth.get("ClientKeyPath", ""))
    if at_once:
        from .tlscheck import check_tls_now

        check_tls_now(url, *files, prog=prog)
    else:
        from .engine import check_tls

        await check_tls(url, *files, prog=prog)
    return url
