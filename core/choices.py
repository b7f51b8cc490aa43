"""Live choices for a driver's create options, fetched from its provider (regions, sizes with their vCPUs, memory and
hourly price, images, networks, key pairs), kept in the store's cache for an hour, and the last good answer used
when the provider cannot be reached. Free text always stays possible: a choice only fills an option in.

The cache holds what the provider lists, never a credential; its file is named by a hash of the driver, the API and
the region the choices came from."""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .drivers import Driver

CACHE_SECONDS = 3600


class Choice:
    """One value an option can take and how the app shows it ("s-1vcpu-1gb", "1 vCPU, 1 GB, $0.00893/h")."""

    __slots__ = ("value", "detail")

    def __init__(self, value: str, detail: str = ""):
        self.value, self.detail = value, detail if detail != value else ""

    @property
    def label(self) -> str:
        return f"{self.value}  {self.detail}" if self.detail else self.value

    def __repr__(self) -> str:
        return f"Choice({self.value!r}, {self.detail!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Choice) and (self.value, self.detail) == (other.value, other.detail)


class Choices:
    """What the wizard shows for one driver: choices per flag name, where they came from and how fresh."""

    def __init__(self, by_flag: dict[str, list[Choice]], source: str, fetched_at: float, problem: str = ""):
        self.by_flag, self.source, self.fetched_at, self.problem = by_flag, source, fetched_at, problem

    @property
    def summary(self) -> str:
        when = time.strftime("%H:%M", time.localtime(self.fetched_at)) if self.fetched_at else ""
        if self.problem and self.by_flag:
            return f"No live choices from {self.source} ({self.problem}): those of {when}, or type values"
        if self.problem:
            return f"No live choices from {self.source} ({self.problem}): type values"
        if not self.by_flag:
            return ""
        return f"Live choices from {self.source} ({when})"


def money(hourly: float | None) -> str:
    return f"${hourly:.5f}".rstrip("0").rstrip(".") + "/h" if hourly else ""


def memory(mib: float) -> str:
    return f"{mib / 1024:g} GB" if mib >= 1024 else f"{mib:g} MB"


def size_detail(vcpus: Any, mib: Any, hourly: float | None = None, extra: str = "") -> str:
    parts = [f"{vcpus} vCPU" + ("s" if str(vcpus) != "1" else ""), memory(float(mib or 0))]
    if extra:
        parts.append(extra)
    if hourly:
        parts.append(money(hourly))
    return ", ".join(parts)


def _cache_path(store_path: str, driver: str, scope: str) -> str:
    digest = hashlib.sha256(f"{driver}\0{scope}".encode()).hexdigest()[:16]
    return os.path.join(store_path, "cache", "choices", f"{driver}-{digest}.json")


def _read(path: str) -> tuple[dict[str, list[Choice]], float] | None:
    try:
        with open(path) as fh:
            data = json.load(fh)
        found = {flag: [Choice(c["value"], c.get("detail", "")) for c in items]
                 for flag, items in data["choices"].items()}
        return found, float(data["fetched_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: str, found: dict[str, list[Choice]], when: float) -> None:
    from .store import makedirs_private, write_atomic

    makedirs_private(os.path.dirname(path))
    data = {"fetched_at": when, "choices": {flag: [{"value": c.value, "detail": c.detail} for c in items]
                                            for flag, items in found.items()}}
    write_atomic(path, json.dumps(data).encode(), 0o600)


async def driver_choices(store_path: str, cls: type[Driver], values: dict[str, Any],
                         refresh: bool = False) -> Choices:
    """The driver's live choices for the options typed so far (credentials, API, region): from the cache if fresh,
    else from the provider; the cache's last answer, marked as such, when the provider fails."""
    from .errors import MachineError, one_line

    driver_name = cls.name
    source, scope = cls.choice_source(values)
    if not source:
        return Choices({}, "", 0)
    path = _cache_path(store_path, driver_name, scope)
    cached = _read(path)
    if cached and not refresh and time.time() - cached[1] < CACHE_SECONDS:
        return Choices(cached[0], source, cached[1])
    try:
        found = await cls.live_choices(values)
    except Exception as err:  # noqa: BLE001 - a provider's failure is the form's status line, never the app's end
        problem = str(err) if isinstance(err, MachineError) else f"{cls.choice_source(values)[0]}: {one_line(err)}"
        return Choices(cached[0], source, cached[1], problem) if cached else Choices({}, source, 0, problem)
    now = time.time()
    if found:
        _write(path, found, now)
    return Choices(found, source, now)
