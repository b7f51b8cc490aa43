"""The app's poll over cloud machines: one listing request per account, and a cloud asked every 30 s, not at
every poll (DigitalOcean allows 5,000 requests an hour per token); `r` asks every machine now."""

from __future__ import annotations

import os

from conftest import clean_env, run_cli, wait_until
from fakedigitalocean import FakeDigitalOcean
from machine_tui.core import operations
from machine_tui.core.events import Reporter
from machine_tui.core.service import Machines
from machine_tui.core.store import Store
from machine_tui.tui.app import MachineTable, MachineTuiApp


async def make_droplets(store, api, count):
    for n in range(count):
        host, driver = operations.build_host(Store(store), f"d{n}", "digitalocean", {}, operations.TLSFiles(),
                                             explicit=set())
        os.makedirs(os.path.join(store, "machines", f"d{n}"))
        driver.wait_delay = 0.01
        await driver.pre_create_check()
        await driver.create(Reporter())
        Store(store).save(host)
        api.droplets[driver.droplet_id]["status"] = "off"  # nothing to dial


async def test_an_open_app_asks_digitalocean_once_per_30_s_for_ten_droplets(store, monkeypatch):
    api = FakeDigitalOcean()
    monkeypatch.setenv("MACHINE_TUI_DIGITALOCEAN_API", api.url)
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", api.token)
    try:
        await make_droplets(store, api, 10)
        assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "local"], clean_env(store)).returncode == 0
        polls = []
        listing = Machines.listing

        async def counted(self, *args, **kwargs):
            polls.append(len(api.requests))
            return await listing(self, *args, **kwargs)

        monkeypatch.setattr(Machines, "listing", counted)
        app = MachineTuiApp(Store(store), poll_interval=0.2, timeout=5)
        async with app.run_test(size=(120, 30)) as pilot:
            table = app.query_one(MachineTable)
            assert await wait_until(pilot, lambda: table.row_count == 11 and str(table.get_cell("d9", "STATE")) ==
                                    "Stopped", 15)
            asked = len(api.requests)
            assert api.requests[-1:] == [("GET", "/v2/droplets")] and asked - polls[0] == 1  # one poll: one request
            seen = len(polls)
            assert await wait_until(pilot, lambda: len(polls) >= seen + 5, 30)  # five more polls of the local one
            assert len(api.requests) == asked  # the droplets were not asked again within 30 s
            await pilot.press("r")
            assert await wait_until(pilot, lambda: len(api.requests) == asked + 1, 15)
            assert api.requests[-1] == ("GET", "/v2/droplets")
    finally:
        api.close()


async def test_a_token_low_on_requests_is_asked_every_five_minutes(store, monkeypatch):
    """DigitalOcean says in each answer how many requests the token has left this hour: below a tenth, the app asks
    every 5 minutes (what is left is for the user's own creates and scripts)."""
    from machine_tui.core.service.listing import CloudRows, list_machines

    api = FakeDigitalOcean()
    monkeypatch.setenv("MACHINE_TUI_DIGITALOCEAN_API", api.url)
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", api.token)
    try:
        await make_droplets(store, api, 2)
        rows = CloudRows()
        await list_machines(Store(store), 5, cloud_rows=rows)
        assert 25 < rows.next_read("d0") <= 30
        api.remaining = 300  # of 5,000
        rows.clear()
        await list_machines(Store(store), 5, cloud_rows=rows)
        assert 290 < rows.next_read("d0") <= 300
    finally:
        api.close()
