"""A driver whose machine gets a new address at each start, and whose start then fails: what a front end must keep
(docker-machine's runAction saves the driver's state whatever the verb's outcome)."""

from __future__ import annotations

from machine_tui.core.drivers import Driver, State
from machine_tui.core.errors import MachineError


class MovingDriver(Driver):
    name = "moving"
    provisions = False

    async def create(self, report) -> None:
        self.ip_address = "127.0.0.10"

    async def state(self) -> State:
        return State.STOPPED

    async def get_url(self) -> str:
        raise MachineError("Host is not running")

    async def start(self) -> None:
        last = int(self.ip_address.rsplit(".", 1)[1])
        self.ip_address = f"127.0.0.{last + 1}"  # learned from the hypervisor, then the boot fails
        raise MachineError("the machine did not boot")
