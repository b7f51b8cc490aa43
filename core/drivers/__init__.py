"""Drivers: how a machine comes to exist and is switched on and off. One async interface modelled on
libmachine's Driver; each driver declares its flags so the CLI options and the TUI's create forms are
generated from the same schema. Adding a driver = one module + one line in DRIVERS; a driver in another Python package
is one entry point in the `machine_tui.drivers` group (name = "package.module:Class"); any other name runs the
docker-machine plugin binary docker-machine-driver-NAME from PATH (plugin.py)."""

from __future__ import annotations

import importlib

from ..errors import DriverNotFound, MachineError
from ..states import State
from .base import Driver, Setting

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    from typing import Any

# name -> "module:Class" (a module of this package, or "package.module:Class" for a driver from elsewhere);
# imported only when a machine of that driver is touched.
DRIVERS: dict[str, str] = {
    "none": "none:NoneDriver",
    "qemu": "qemu:QemuDriver",
    "generic": "generic:GenericDriver",
    "virtualbox": "virtualbox:VirtualBoxDriver",
    "amazonec2": "amazonec2:AmazonEC2Driver",
    "digitalocean": "digitalocean:DigitalOceanDriver",
    "openstack": "openstack:OpenStackDriver",
}


ENTRY_POINTS = "machine_tui.drivers"
_from_packages: dict[str, tuple[str, str, str]] | None = None  # name -> (spec, distribution, its version)


def package_drivers() -> dict[str, tuple[str, str, str]]:
    """Drivers other installed Python packages provide (entry points of the `machine_tui.drivers` group): name ->
    ("module:Class", distribution, version), read from their metadata without importing them. A built-in name is
    never replaced."""
    global _from_packages
    if _from_packages is None:
        from importlib.metadata import entry_points

        found: dict[str, tuple[str, str, str]] = {}
        for point in entry_points(group=ENTRY_POINTS):
            if point.name not in DRIVERS and ":" in point.value:
                dist = point.dist
                found[point.name] = (point.value, dist.name if dist else "", dist.version if dist else "")
        _from_packages = found
    return _from_packages


def driver_class(name: str) -> type[Driver]:
    spec = DRIVERS.get(name)
    if spec is None and name in package_drivers():
        spec = package_drivers()[name][0]
    if spec is None:
        from .plugin import plugin_driver_class  # any docker-machine-driver-NAME on PATH

        plugin = plugin_driver_class(name)
        if plugin is None:
            raise DriverNotFound(name, driver_names())
        return plugin
    module, cls = spec.split(":")
    if name in DRIVERS:
        # "qemu:QemuDriver" is one of ours; "package.module:Class" a driver from another package
        path = module if "." in module else f"{__name__}.{module}"
        found: type[Driver] = getattr(importlib.import_module(path), cls)
        return found
    try:  # another package's: its failure to load is one line naming it, never a traceback
        loaded = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as err:
        raise MachineError(f'Driver "{name}" (from the Python package {package_drivers()[name][1]}) cannot be '
                           f"loaded: {err}") from None
    if not (isinstance(loaded, type) and issubclass(loaded, Driver)):
        raise MachineError(f'Driver "{name}": {spec} is not a machine-tui driver (a subclass of Driver)')
    return loaded


def driver_names() -> list[str]:
    return sorted({*DRIVERS, *package_drivers()})


class UnknownDriver(Driver):
    """A machine made by a driver we do not have: shown, never rewritten (its JSON stays verbatim)."""

    def __init__(self, config: dict[str, Any], name: str):
        super().__init__(config)
        self.name = name

    async def state(self) -> State:
        raise MachineError(f'Driver "{self.name}" not found. Do you have the plugin binary '
                           f'"docker-machine-driver-{self.name}" accessible in your PATH?')

    async def get_url(self) -> str:
        return str(await self.state())


def driver_for(host: Any) -> Driver:
    """The driver of a stored machine; a plugin's is not asked for its flags (no process until an operation)."""
    name = host.driver_name
    if name not in DRIVERS and name not in package_drivers():
        from .plugin import plugin_driver_class

        plugin = plugin_driver_class(name, with_flags=False)
        return plugin(host.driver_config) if plugin else UnknownDriver(host.driver_config, name)
    return driver_class(name)(host.driver_config)


__all__ = ["DRIVERS", "Driver", "DriverNotFound", "Setting", "State", "UnknownDriver", "driver_class", "driver_for",
           "driver_names"]
