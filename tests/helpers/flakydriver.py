"""A driver for the batch tests: machines that exist at once, except those named in --flaky-fail, whose create fails
half-way (after the machine's folder is made), as a host refusing one machine's options would."""

from __future__ import annotations

import asyncio

from machine_tui.core.drivers import Driver, State
from machine_tui.core.errors import MachineError
from machine_tui.core.flags import Flag


class FlakyDriver(Driver):
    name = "flaky"
    provisions = False
    flags = [Flag("flaky-fail", "Names whose create fails", "list"),
             Flag("flaky-seconds", "How long each create takes", "string", "0.2")]

    async def create(self, report) -> None:
        report.step("boot", "Booting...")
        await asyncio.sleep(float(self.config.get("Seconds", "0.2")))
        if self.machine_name in self.config.get("Fail", []):
            raise MachineError(f"the host refused {self.machine_name}'s options")
        report.done("boot")

    def set_config_from_flags(self, opts) -> None:
        super().set_config_from_flags(opts)
        self.config["Fail"] = list(opts.get("flaky-fail") or [])
        self.config["Seconds"] = opts.get("flaky-seconds") or "0.2"

    async def state(self) -> State:
        return State.RUNNING

    async def get_url(self) -> str:
        return "tcp://127.0.0.1:1"
