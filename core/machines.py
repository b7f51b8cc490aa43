"""The application layer's door for the front ends: everything the CLI and the app do to a machine beyond the verbs
(core/verbs.py), so neither imports a driver, the SSH layer or a provisioner itself. Each function imports what it
needs when called: the CLI's hot paths stay light."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .states import State

if TYPE_CHECKING:
    from .choices import Choices
    from .flags import Flag
    from .hostconfig import Host
    from .shell_session import ShellSession
    from .ssh import Target

__all__ = ["State", "driver_names", "driver_flags", "check_driver", "offers_choices", "live_choices",
           "machine_state", "machine_ip", "console_log_path", "open_shell", "running_ssh_target", "check_host_key",
           "ssh_connection"]


def driver_names() -> list[str]:
    """Every driver a create can name: built in, from Python packages, and plugins found on PATH."""
    return [name for name, _, _ in available_drivers()]


def available_drivers() -> list[tuple[str, str, str]]:
    """Every driver a create can name, as (name, where it comes from, its version), without importing any: those
    built in, those of other Python packages (entry points), docker-machine plugin binaries found on PATH, and
    docker-machine's own built-in drivers where the docker-machine binary is on PATH."""
    from . import VERSION
    from .drivers import DRIVERS, package_drivers

    found = [(name, "built in", VERSION) for name in sorted(DRIVERS)]
    found += [(name, f"Python package {dist}", version or "-")
              for name, (_spec, dist, version) in sorted(package_drivers().items())]
    known = {name for name, _, _ in found}
    prefix = "docker-machine-driver-"
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        try:
            entries = sorted(os.listdir(folder or "."))
        except OSError:
            continue
        for entry in entries:
            name = entry[len(prefix):]
            path = os.path.join(folder or ".", entry)
            if entry.startswith(prefix) and name and name not in known and os.access(path, os.X_OK):
                known.add(name)
                found.append((name, f"plugin binary {path}", "-"))
    import shutil

    from .drivers.plugin import DOCKER_MACHINE_DRIVERS

    host = shutil.which("docker-machine")
    if host:
        found += [(name, f"docker-machine's built-in driver ({host})", "-")
                  for name in DOCKER_MACHINE_DRIVERS if name not in known]
    return found


def driver_form(name: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """What the create form says of a driver: its one-line summary, the options shown first, those never offered."""
    from .drivers import driver_class

    cls = driver_class(name)
    return cls.summary, cls.essential_flags, cls.obsolete_flags


def driver_flags(name: str) -> list[Flag]:
    """The create options of a driver (DriverNotFound, one line, for an unknown name)."""
    from .drivers import driver_class

    return list(driver_class(name).flags)


def check_driver(name: str) -> None:
    driver_flags(name)


CREATE_STEPS = ("precreate", "create", "state", "ssh", "detect", "hostname", "install", "certs", "restart", "listen",
                "tlscheck")


def create_steps(name: str) -> list[str]:
    """The steps a create with this driver reports, in order (a front end's progress bar counts them)."""
    from .drivers import driver_class

    return list(CREATE_STEPS if driver_class(name).provisions else CREATE_STEPS[:2])


def offers_choices(name: str) -> bool:
    """Whether the driver's provider lists choices for its create options (the cloud drivers)."""
    from .drivers import Driver, driver_class

    return driver_class(name).live_choices.__func__ is not Driver.live_choices.__func__  # type: ignore[attr-defined]


async def live_choices(store_path: str, name: str, values: dict[str, Any], refresh: bool = False) -> Choices:
    """The driver's choices for the form's values so far: cached an hour, the last good answer when offline."""
    from .choices import driver_choices
    from .drivers import driver_class

    return await driver_choices(store_path, driver_class(name), values, refresh)


async def machine_state(host: Host) -> State:
    from .drivers import driver_for

    return await driver_for(host).state()


async def machine_ip(host: Host) -> str:
    from .drivers import driver_for

    return await driver_for(host).get_ip()


def console_log_path(host: Host) -> str:
    """The serial console or hypervisor log the machine's driver keeps ("" if none)."""
    from .drivers import driver_for

    return driver_for(host).log_path()


async def open_shell(host: Host, columns: int, lines: int) -> ShellSession:
    from .shell_session import ShellSession

    return await ShellSession.open(host, columns, lines)


async def running_ssh_target(host: Host, pin: bool = True) -> Target:
    """Where to SSH to a running machine; with `pin`, its host key is pinned (first contact) before an external
    client is handed the target."""
    import os

    from . import ssh
    from .drivers import driver_for
    from .errors import MachineError

    driver = driver_for(host)
    if await driver.state() != State.RUNNING:
        raise MachineError(f'Error: Cannot run SSH command: Host "{host.name}" is not running')
    target = await ssh.target_of(driver)
    if pin and not os.path.exists(target.known_hosts):
        await ssh.connection_for(target).run("exit 0", timeout=60)
    return target


async def check_host_key(target: Target) -> str:
    """Why SSH to the target fails for its host key ("" when it does not): the words every SSH path uses."""
    from . import ssh
    from .errors import MachineError

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
    from . import ssh

    return await ssh.connection_for(target).connection()


def machine_details(host: Host) -> list[tuple[str, str]]:
    """What the app's detail pane shows of a machine, read from the store alone (no request to the machine):
    driver, address and ports, image and size, when it was made, the certificates' expiry, its swarm role."""
    import datetime
    import os

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
