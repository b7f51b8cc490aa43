"""Reaching one machine, for the front ends: its state and address, SSH (target, pinned host key, pooled
connection, an interactive shell), its console log and the detail pane's facts. Each function imports what it needs
when called."""

from __future__ import annotations

import os

from ..states import State

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    from typing import Any

    from ..hostconfig import Host
    from ..shell_session import ShellSession
    from ..ssh_target import Target


async def machine_state(host: Host) -> State:
    from ..drivers import driver_for

    return await driver_for(host).state()


async def machine_ip(host: Host) -> str:
    from ..drivers import driver_for

    return await driver_for(host).get_ip()


def console_log_path(host: Host) -> str:
    """The serial console or hypervisor log the machine's driver keeps ("" if none)."""
    from ..drivers import driver_for

    return driver_for(host).log_path()


async def open_shell(host: Host, columns: int, lines: int) -> ShellSession:
    from ..shell_session import ShellSession

    return await ShellSession.open(host, columns, lines)


async def running_ssh_target(host: Host, pin: bool = True) -> Target:
    """Where to SSH to a running machine; with `pin`, its host key is pinned (first contact) before an external
    client is handed the target."""

    from ..drivers import driver_for
    from ..errors import MachineError
    from ..ssh_target import target_of

    driver = driver_for(host)
    if await driver.state() != State.RUNNING:
        raise MachineError(f'Error: Cannot run SSH command: Host "{host.name}" is not running')
    target = await target_of(driver)
    if pin and not os.path.exists(target.known_hosts):
        from .. import ssh

        await ssh.connection_for(target).run("exit 0", timeout=60)
    return target


async def check_host_key(target: Target) -> str:
    """Why SSH to the target fails for its host key ("" when it does not): the words every SSH path uses."""
    from .. import ssh
    from ..errors import MachineError

    conn = ssh.Connection(target)
    try:
        await conn.run("exit 0", timeout=20)
    except ssh.HostKeyChanged as err:
        return str(err)
    except MachineError:
        return ""
    finally:
        await conn.close()
    return ""


async def ssh_connection(target: Target) -> Any:
    """The machine's pooled asyncssh connection."""
    from .. import ssh

    return await ssh.connection_for(target).connection()


def machine_details(host: Host) -> list[tuple[str, str]]:
    """What the app's detail pane shows of a machine, read from the store alone (no request to the machine):
    driver, address and ports, image and size, when it was made, the certificates' expiry, its swarm role."""
    import datetime

    from .swarm import recorded_role

    cfg = host.driver_config
    details = [("Driver", host.driver_name)]
    ip = str(cfg.get("IPAddress") or "")
    details.append(("IP", ip or "-"))
    ports = []
    if cfg.get("SSHPort"):
        ports.append(f"ssh {cfg.get('SSHUser') or 'root'}@:{cfg['SSHPort']}")
    engine_port = cfg.get("EnginePort") or cfg.get("EngineHostPort")
    url = str(cfg.get("URL") or "")
    ports.append(f"docker {engine_port or (url.rsplit(':', 1)[-1] if url.count(':') == 2 else 2376)}")
    details.append(("Ports", ", ".join(ports)))
    image = next((str(cfg[k]) for k in ("ImageURL", "Boot2DockerURL", "Image", "ImageName", "AMI", "ImageId",
                                         "DiskImage") if cfg.get(k)), "")
    details.append(("Image", image or "-"))
    size = [f"{cfg[k]} {unit}" for k, unit in (("CPU", "CPU"), ("Memory", "MB"), ("DiskSize", "MB disk"))
            if cfg.get(k)]
    if size:
        details.append(("Size", ", ".join(size)))
    try:
        made = min(os.stat(os.path.join(host.dir, f)).st_mtime for f in os.listdir(host.dir))
        details.append(("Created", datetime.datetime.fromtimestamp(made).strftime("%Y-%m-%d %H:%M")))
    except (OSError, ValueError):
        details.append(("Created", "-"))
    auth = host.auth
    for label, path in (("Server cert", os.path.join(host.dir, "server.pem")),
                        ("Client cert", auth.get("ClientCertPath", "")), ("CA", auth.get("CaCertPath", ""))):
        details.append((label, certificate_expiry(path)))
    role, cluster = recorded_role(host)
    details.append(("Swarm", f"{role} of {cluster}'s swarm" if role else "-"))
    labels = host.engine.get("Labels") or []
    if labels:
        details.append(("Labels", ", ".join(map(str, labels))))
    return details


def certificate_expiry(path: str) -> str:
    """"expires 2029-11-30 (1094 days)", "expired 2026-01-02", or why it cannot be read."""
    import datetime

    if not path:
        return "-"
    try:
        from cryptography import x509

        with open(path, "rb") as fh:
            cert = x509.load_pem_x509_certificate(fh.read())
    except FileNotFoundError:
        return "missing"
    except (OSError, ValueError):
        return "unreadable"
    until = cert.not_valid_after_utc
    days = (until - datetime.datetime.now(datetime.timezone.utc)).days
    if days < 0:
        return f"expired {until:%Y-%m-%d}"
    return f"expires {until:%Y-%m-%d} ({days} days)"
