"""A generic machine on a loopback sshd, saved straight into a store (no provisioning): the fleet tests' and
benches' stand-in for a host that answers SSH."""

from __future__ import annotations

from machine_tui.core.operations import TLSFiles, build_host
from machine_tui.core.store import Store


def add_generic(store: str, name: str, port: int, key: str, user: str) -> None:
    st = Store(store)
    host, driver = build_host(st, name, "generic", {"generic-ip-address": "127.0.0.1", "generic-ssh-port": port,
                                                     "generic-ssh-key": key, "generic-ssh-user": user}, TLSFiles())
    driver.config["SSHKeyPath"] = key  # the sshd's own test key, where it is (create would copy it)
    st.create_machine_dir(name)
    st.save(host)
