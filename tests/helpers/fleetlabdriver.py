"""A driver for the app's cluster tests: machines that need no VM, each one's engine a loopback FakeEngine whose port
the test registers in ENGINES under the machine's name (a node of the test's FakeSwarm)."""

from __future__ import annotations

from machine_tui.core.drivers import Driver, State


class FleetLabDriver(Driver):
    name = "fleetlab"
    provisions = False
    flags = []
    ENGINES: dict[str, int] = {}

    async def state(self) -> State:
        return State.RUNNING

    async def get_ip(self) -> str:
        return "127.0.0.1"

    async def get_url(self) -> str:
        return f"tcp://127.0.0.1:{self.ENGINES[self.machine_name]}"
