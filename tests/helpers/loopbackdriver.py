"""A driver for tests: a machine that is always running on 127.0.0.1, its engine on --loopback-engine-port.
Registered by a test as "tests' package.module:Class", as any out-of-tree driver would be."""

from __future__ import annotations

from machine_tui.core.drivers import Driver, Setting, State
from machine_tui.core.flags import PORT, Flag


class LoopbackDriver(Driver):
    name = "loopback"
    flags = [Flag("loopback-engine-port", "Port of the engine on 127.0.0.1", "int", 2376, bounds=PORT)]
    ip_address = Setting("IPAddress", str, "127.0.0.1")
    engine_port = Setting("EnginePort", int, flag="loopback-engine-port")

    async def create(self, report) -> None:
        report.info("Nothing to create: the loopback host is always there")

    async def state(self) -> State:
        return State.RUNNING

    async def get_url(self) -> str:
        return f"tcp://127.0.0.1:{self.engine_port}"
