"""Where to SSH to a machine, without the SSH library: the `ssh` command hands this to OpenSSH's own client and
needs asyncssh (~130 ms to import) only to pin a host key at first contact."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .drivers import Driver

KNOWN_HOSTS = "known_hosts"  # the machine's pin file, in its own folder


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    user: str
    key_path: str
    known_hosts: str

    @property
    def label(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


async def target_of(driver: Driver) -> Target:
    host = await driver.ssh_hostname()
    return Target(host, driver.ssh_port(), driver.ssh_user(), driver.ssh_key_path(),
                  os.path.join(driver.resolve_store_path(), KNOWN_HOSTS))
