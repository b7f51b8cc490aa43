"""Machines saved straight into a store, without a create: a generic machine on a loopback sshd (the fleet tests'
and benches' stand-in for a host that answers SSH), and none machines by the dozen (the tables' tests and benches)."""

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


def add_none_machines(store: str, names, url: str = "tcp://127.0.0.1:1") -> Store:
    """none machines pointing at url, as `create -d none` saves them (without a CLI run each)."""
    from machine_tui.core import hostconfig
    from machine_tui.core.drivers import driver_class
    from machine_tui.core.hostconfig import Host

    st = Store(store)
    for name in names:
        cfg = driver_class("none").new_config(name, st.path)
        cfg["URL"] = url
        doc = hostconfig.new_host(name, "none", cfg, hostconfig.engine_options(), hostconfig.swarm_options(),
                                  hostconfig.auth_options(st.path, name))
        st.create_machine_dir(name)
        st.save(Host(name, doc, st.machine_dir(name)))
    return st
