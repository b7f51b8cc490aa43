"""Work across many machines at once (the application layer's fleet verbs): a command run on each over its pooled
SSH connection, with a bound on how many run together, each machine's result kept apart; a machine that cannot be
reached is one result among the others, never a stall for them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..aio import wait_for
from ..errors import MachineError

if TYPE_CHECKING:
    from ..drivers import Driver
    from ..states import State
    from ..store import Store


class Outcome:
    """What one machine answered: its exit status, its output, or why it could not run the command."""

    __slots__ = ("machine", "exit_status", "stdout", "stderr", "error", "seconds")

    def __init__(self, machine: str, exit_status: int | None = None, stdout: str = "", stderr: str = "",
                 error: str = "", seconds: float = 0.0):
        self.machine, self.exit_status, self.stdout, self.stderr = machine, exit_status, stdout, stderr
        self.error, self.seconds = error, seconds

    @property
    def ok(self) -> bool:
        return not self.error and self.exit_status == 0

    def to_json(self) -> dict[str, object]:
        return {"machine": self.machine, "exit_code": self.exit_status, "stdout": self.stdout,
                "stderr": self.stderr, "error": self.error, "seconds": round(self.seconds, 3)}


async def run_on_machines(store: Store, names: list[str], command: str, parallel: int = 16,
                          timeout: float = 600.0, connect_timeout: float = 15.0,
                          done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """`command` on every named machine, at most `parallel` at once; each Outcome handed to `done` as it comes, and
    all of them returned in the order of `names`."""
    from .. import ssh
    from ..drivers import driver_for
    from ..ssh_target import target_of
    from ..states import State

    gate = asyncio.Semaphore(max(1, parallel))
    loop = asyncio.get_running_loop()

    async def one(name: str) -> Outcome:
        async with gate:
            started = loop.time()
            try:
                host = store.load(name)
                driver = driver_for(host)
                target = await target_of(driver)
                conn = ssh.connection_for(target)
                for attempt in range(3):  # a busy sshd drops new sessions (MaxStartups): try again shortly
                    try:
                        await wait_for(conn.connection(), connect_timeout)
                        break
                    except (ssh.SSHUnreachable, asyncio.TimeoutError):
                        if attempt == 2:
                            # straight to SSH, the state only to say why it failed: one round trip less
                            state = await _state_or_none(driver, connect_timeout)
                            if state not in (None, State.RUNNING):
                                raise MachineError(f"{name} is not running ({state or 'no state'})") from None
                            raise
                        await asyncio.sleep(0.5 * (attempt + 1))
                result = await conn.run(command, timeout=timeout, check=False)
                outcome = Outcome(name, result.exit_status, result.stdout, result.stderr)
            except asyncio.TimeoutError:
                outcome = Outcome(name, error=f"no answer within {connect_timeout:.0f} s")
            except (MachineError, OSError) as err:
                outcome = Outcome(name, error=str(err) or type(err).__name__)
            outcome.seconds = loop.time() - started
        if done is not None:
            done(outcome)
        return outcome

    return list(await asyncio.gather(*(one(n) for n in names)))


async def _state_or_none(driver: Driver, timeout: float) -> State | None:
    try:
        return await wait_for(driver.state(), timeout)
    except (MachineError, OSError, asyncio.TimeoutError):
        return None
