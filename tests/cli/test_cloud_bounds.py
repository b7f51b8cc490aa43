"""A cloud endpoint that accepts and never answers: each API call gives up within the driver's bound, in one line
naming the endpoint (issue 22: one EC2 call could hang 6 minutes, a DigitalOcean call 5, an OpenStack one for ever)."""

from __future__ import annotations

import socket

import pytest
from machine_tui.core import operations
from machine_tui.core.errors import MachineError
from machine_tui.core.store import Store


@pytest.fixture
def silent():
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)  # connections are accepted by the kernel; nothing ever answers them
    yield f"http://127.0.0.1:{hole.getsockname()[1]}"
    hole.close()


@pytest.mark.parametrize("driver,flags", [
    ("amazonec2", lambda url: {"amazonec2-endpoint": url, "amazonec2-ami": "ami-785db401",
                               "amazonec2-access-key": "AKIDEXAMPLE", "amazonec2-secret-key": "s"}),
    ("digitalocean", lambda url: {"digitalocean-access-token": "t"}),
    ("openstack", lambda url: {"openstack-auth-url": url + "/v3", "openstack-username": "u",
                               "openstack-password": "p", "openstack-tenant-name": "t",
                               "openstack-flavor-name": "m1.small", "openstack-image-name": "debian-12"}),
])
async def test_a_silent_endpoint_fails_the_create_in_bound_naming_it(store, silent, monkeypatch, driver, flags):
    monkeypatch.setenv("MACHINE_TUI_DIGITALOCEAN_API", silent)
    opts = flags(silent)
    _host, made = operations.build_host(Store(store), "m", driver, opts, operations.TLSFiles(), explicit=set(opts))
    made.api_bound = 1.0
    with pytest.raises(MachineError) as caught:
        await made.pre_create_check()
    said = str(caught.value)
    assert "\n" not in said and silent.split("//")[1] in said, said  # one line, naming the endpoint
    # the driver's bound, or the client's own timeout inside it (whichever a busy machine lets come first)
    assert "no answer from" in said and "within 1 s" in said or "timed out" in said.lower() or "timeout" in said.lower()
