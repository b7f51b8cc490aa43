"""The driver catalog, as the front ends see it: every driver a create can name (built in, from Python packages,
docker-machine plugins), its create options, its form, its create steps and its live choices. Each function imports
what it needs when called: the CLI's hot paths stay light."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..choices import Choices
    from ..flags import Flag

def driver_names() -> list[str]:
    """Every driver a create can name: built in, from Python packages, and plugins found on PATH."""
    return [name for name, _, _ in available_drivers()]


def available_drivers() -> list[tuple[str, str, str]]:
    """Every driver a create can name, as (name, where it comes from, its version), without importing any: those
    built in, those of other Python packages (entry points), docker-machine plugin binaries found on PATH, and
    docker-machine's own built-in drivers where the docker-machine binary is on PATH."""
    from .. import VERSION
    from ..drivers import DRIVERS, package_drivers

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

    from ..drivers.plugin import DOCKER_MACHINE_DRIVERS

    host = shutil.which("docker-machine")
    if host:
        found += [(name, f"docker-machine's built-in driver ({host})", "-")
                  for name in DOCKER_MACHINE_DRIVERS if name not in known]
    return found


def driver_form(name: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """What the create form says of a driver: its one-line summary, the options shown first, those never offered."""
    from ..drivers import driver_class

    cls = driver_class(name)
    return cls.summary, cls.essential_flags, cls.obsolete_flags


def driver_flags(name: str) -> list[Flag]:
    """The create options of a driver (DriverNotFound, one line, for an unknown name)."""
    from ..drivers import driver_class

    return list(driver_class(name).flags)


def check_driver(name: str) -> None:
    driver_flags(name)


CREATE_STEPS = ("precreate", "create", "state", "ssh", "detect", "hostname", "install", "certs", "restart", "listen",
                "tlscheck")


def create_steps(name: str) -> list[str]:
    """The steps a create with this driver reports, in order (a front end's progress bar counts them)."""
    from ..drivers import driver_class

    return list(CREATE_STEPS if driver_class(name).provisions else CREATE_STEPS[:2])


def offers_choices(name: str) -> bool:
    """Whether the driver's provider lists choices for its create options (the cloud drivers)."""
    from ..drivers import Driver, driver_class

    return driver_class(name).live_choices.__func__ is not Driver.live_choices.__func__  # type: ignore[attr-defined]


async def live_choices(store_path: str, name: str, values: dict[str, Any], refresh: bool = False) -> Choices:
    """The driver's choices for the form's values so far: cached an hour, the last good answer when offline."""
    from ..choices import driver_choices
    from ..drivers import driver_class

    return await driver_choices(store_path, driver_class(name), values, refresh)
