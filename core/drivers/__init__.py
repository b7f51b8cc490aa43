"""Drivers: how a machine comes to exist and is switched on and off. One async interface modelled on
libmachine's Driver; each driver declares its flags so the CLI options and the TUI's create forms are
generated from the same schema. Adding a driver = one module + one line in DRIVERS."""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import DriverNotFound, MachineError
from ..states import State
from .base import Driver, Setting

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


def driver_class(name: str) -> type[Driver]:
    spec = DRIVERS.get(name)
    if spec is None:
        raise DriverNotFound(name, sorted(DRIVERS))
    module, cls = spec.split(":")
    # "qemu:QemuDriver" is one of ours; "package.module:Class" a driver from another package
    path = module if "." in module else f"{__name__}.{module}"
    found: type[Driver] = getattr(importlib.import_module(path), cls)
    return found


def driver_names() -> list[str]:
    return sorted(DRIVERS)


class UnknownDriver(Driver):
    """A machine made by a driver we do not have: shown, never rewritten (its JSON stays verbatim)."""

    def __init__(self, config: dict[str, Any], name: str):
        super().__init__(config)
        self.name = name

    async def state(self) -> State:
        raise MachineError(f'Driver "{self.name}" not found. Do you have the plugin binary accessible in your PATH?')

    async def get_url(self) -> str:
        return str(await self.state())


def driver_for(host: Any) -> Driver:
    try:
        return driver_class(host.driver_name)(host.driver_config)
    except DriverNotFound:
        return UnknownDriver(host.driver_config, host.driver_name)


__all__ = ["DRIVERS", "Driver", "DriverNotFound", "Setting", "State", "UnknownDriver", "driver_class", "driver_for",
           "driver_names"]
