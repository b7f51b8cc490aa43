"""The cloud's garbage collector: resources tagged with this store's id that no machine of the store owns (a create
killed before its journal was written, a machine folder deleted by hand, a store restored from a backup)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import MachineError
from ..store import Store


@dataclass(frozen=True)
class Orphan:
    kind: str
    id: str
    machine: str
    detail: str
    why: str  # "no machine <name> in the store", "<name> holds another instance"


def cloud_driver_names() -> list[str]:
    from ..drivers import driver_class, driver_names
    from ..drivers.cloud import CloudDriver

    return [name for name in driver_names() if issubclass(driver_class(name), CloudDriver)]


async def find(store: Store, driver_name: str, values: dict[str, Any]) -> list[Orphan]:
    """Every resource the cloud (reached with the create flags' values) tags with this store's id, less those a
    machine of the store owns. One listing per kind of resource."""
    from ..drivers import driver_class, driver_for
    from ..drivers.cloud import CloudDriver

    cls = driver_class(driver_name)
    if not issubclass(cls, CloudDriver):
        raise MachineError(f"orphans looks in a cloud: -d {' or -d '.join(cloud_driver_names())}")
    cls.check_needs()
    tagged = await cls.tagged(values, store.identity())
    owners: dict[str, Any] = {}
    found = []
    # names as a key pair's name can hold them (OpenStack's turn "." into "_")
    spelled = {n.replace(".", "_"): n for n in store.list_names()}
    for leftover in tagged:
        name = leftover.machine
        if name and not store.exists(name) and name in spelled:
            name = spelled[name]
        if name not in owners:
            try:
                host = store.load(name) if name and store.exists(name) else None
            except MachineError:
                host = None  # a machine that cannot be read owns nothing it can show: its resources are listed
            owners[name] = driver_for(host) if host is not None and host.driver_name == driver_name else None
        owner = owners[name]
        if owner is None:
            why = f"no {driver_name} machine {name} in the store" if name else "no machine named by its tags"
        elif owner.owns(leftover):
            continue
        else:
            why = f"{name}'s config.json holds another {leftover.kind}"
        found.append(Orphan(leftover.kind, leftover.id, leftover.machine, leftover.detail, why))
    return found


async def remove(driver_name: str, values: dict[str, Any], orphans: list[Orphan]) -> list[str]:
    """Remove the orphans found; what could not be removed, one line each."""
    from ..drivers import driver_class
    from ..drivers.cloud import CloudDriver, Leftover

    cls = driver_class(driver_name)
    driver = cls.from_form(values)
    assert isinstance(driver, CloudDriver)
    return await driver.discard([Leftover(o.kind, o.id, o.machine, o.detail) for o in orphans])
