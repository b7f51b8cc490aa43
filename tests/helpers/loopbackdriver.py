"""A driver for tests: a machine that is always running on 127.0.0.1, its engine on --loopback-engine-port.
Registered by a test as "tests' package.module:Class", as any out-of-tree driver would be."""

from __future__ import annotations

from machine_tui.core.drivers import Driver, Setting, State
from machine_tui.core.flags import PORT, Flag

# Debian's docker.io unit, as machine-tui's image records it for the seed
UNIT_EXECSTART = "/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock"


class LoopbackDriver(Driver):
    name = "loopback"
    flags = [Flag("loopback-engine-port", "Port of the engine on 127.0.0.1", "int", 2376, bounds=PORT),
             Flag("loopback-seed", "Hand the engine's seed to the host before it boots, as the QEMU driver does "
                  "with machine-tui's own image", "bool", False),
             Flag("loopback-seed-names-no-dockerd", "With --loopback-seed, leave the dockerd for the guest to name, as "
                  "the QEMU driver does for a cloud image", "bool", False)]
    ip_address = Setting("IPAddress", str, "127.0.0.1")
    engine_port = Setting("EnginePort", int, flag="loopback-engine-port")
    seed = Setting("Seed", bool, flag="loopback-seed")
    guest_names_dockerd = Setting("SeedNamesNoDockerd", bool, flag="loopback-seed-names-no-dockerd")

    async def create(self, report) -> None:
        report.info("Nothing to create: the loopback host is always there")
        if self.seed and self.seed_engine is not None:
            known = ("", "") if self.guest_names_dockerd else ("/usr/sbin/dockerd", UNIT_EXECSTART)
            self.engine_seed = await self.seed_engine(f"tcp://127.0.0.1:{self.engine_port}", *known)

    async def state(self) -> State:
        return State.RUNNING

    async def get_url(self) -> str:
        return f"tcp://127.0.0.1:{self.engine_port}"
