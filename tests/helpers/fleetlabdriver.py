"""A driver for the app's cluster tests: machines that need no VM, each one's engine a loopback FakeEngine whose port
the test registers in ENGINES under the machine's name (a node of the test's FakeSwarm)."""

from __future__ import annotations

import contextlib
from typing import Any

from machine_tui.core.drivers import Driver, State


class FleetLabDriver(Driver):
    name = "fleetlab"
    provisions = False
    flags = []
    ENGINES: dict[str, int] = {}
    PACE: dict[str, float] = {}  # machine -> seconds its create takes (the screenshots' creates in progress)
    FAIL: dict[str, str] = {}  # machine -> the error its create ends with

    async def create(self, report) -> None:
        import asyncio

        pace = self.PACE.get(self.machine_name, 0.0)
        if pace:
            report.step("create", "Booting the lab machine...")
            for tenth in range(1, 11):
                await asyncio.sleep(pace / 10)
                report.progress("create", tenth / 10, f"Booting the lab machine ({tenth * 10} %)")
                if tenth == 6 and self.machine_name in self.FAIL:
                    from machine_tui.core.errors import MachineError

                    raise MachineError(self.FAIL[self.machine_name])
            report.done("create")

    async def state(self) -> State:
        return State.RUNNING

    async def get_ip(self) -> str:
        return "127.0.0.1"

    async def get_url(self) -> str:
        return f"tcp://127.0.0.1:{self.ENGINES[self.machine_name]}"


@contextlib.contextmanager
def lab_engines(store: str, names: tuple[str, ...], swarm: Any):
    """The store's CA made, and a loopback engine per machine name, nodes of `swarm`, registered for the driver."""
    from fakeengine import FakeEngine
    from machine_tui.core import certs
    from vmrig import free_port

    certs.bootstrap(*(f"{store}/certs/{f}" for f in ("ca.pem", "ca-key.pem", "cert.pem", "key.pem")), lambda _: None)
    engines = []
    try:
        for name in names:
            FleetLabDriver.ENGINES[name] = free_port()
            engines.append(FakeEngine(store, "127.0.0.1", FleetLabDriver.ENGINES[name], swarm=swarm,
                                      hostname=name).__enter__())
        yield engines
    finally:
        for engine in engines:
            engine.__exit__(None, None, None)
