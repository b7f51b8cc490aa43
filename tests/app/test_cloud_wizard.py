"""The create wizard's cloud forms: live choices from the provider's stand-in, chosen with the keyboard, cached in
the store, and free text with the last good choices when the provider cannot be reached."""

from __future__ import annotations

import os

import pytest
from conftest import choose_driver, wait_until
from fakedigitalocean import FakeDigitalOcean
from fakeopenstack import FakeOpenStack
from machine_tui.core.store import Store
from machine_tui.tui.app import MachineTuiApp
from textual.widgets import Select


@pytest.fixture
def do(monkeypatch):
    api = FakeDigitalOcean()
    monkeypatch.setenv("MACHINE_TUI_DIGITALOCEAN_API", api.url)
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", api.token)
    yield api
    api.close()


def status(wizard) -> str:
    return str(wizard.query_one("#choices-status").render())


async def open_wizard(pilot, app, driver: str):
    await pilot.press("c")
    await pilot.pause(0.3)
    wizard = app.screen
    await choose_driver(pilot, wizard, driver)
    return wizard


async def test_digitalocean_sizes_with_price_are_chosen_by_keyboard_and_fill_the_field(store, do):
    app = MachineTuiApp(Store(store), poll_interval=5, timeout=2)
    async with app.run_test(size=(140, 45)) as pilot:
        wizard = await open_wizard(pilot, app, "digitalocean")
        assert await wait_until(pilot, lambda: "Live choices from DigitalOcean" in status(wizard), 20), status(wizard)
        sizes = wizard.query_one("#choice-digitalocean-size", Select)
        labels = [str(prompt) for prompt, _ in sizes._options[1:]]
        assert "s-2vcpu-2gb  2 vCPUs, 2 GB, 60 GB disk, $0.02679/h" in labels
        assert "s-8vcpu-16gb" not in " ".join(labels)  # not available: not offered
        assert sizes.value == "s-1vcpu-1gb"  # the field's value, preselected
        sizes.focus()
        await pilot.press("enter", "down", "enter")  # open on s-1vcpu-1gb, one down to s-2vcpu-2gb, choose
        await pilot.pause(0.2)
        assert wizard.query_one("#flag-digitalocean-size").value == "s-2vcpu-2gb"
        images = wizard.query_one("#choice-digitalocean-image", Select)
        assert ("debian-12-x64  Debian 12 x64", "debian-12-x64") in [(str(p), v) for p, v in images._options]
        assert ("GET", "/v2/sizes") in do.requests
        # the token stays out of the form and out of the cache
        assert wizard.query_one("#flag-digitalocean-access-token").value == ""
        cache = os.path.join(store, "cache", "choices")
        [name] = os.listdir(cache)
        with open(os.path.join(cache, name)) as fh:
            assert do.token not in fh.read()
        assert oct(os.stat(os.path.join(cache, name)).st_mode & 0o777) == "0o600"


async def test_offline_the_last_choices_stay_and_free_text_works(store, do):
    app = MachineTuiApp(Store(store), poll_interval=5, timeout=2)
    async with app.run_test(size=(140, 45)) as pilot:
        wizard = await open_wizard(pilot, app, "digitalocean")
        assert await wait_until(pilot, lambda: "Live choices" in status(wizard), 20)
        do.close()
        await pilot.press("ctrl+r")
        assert await wait_until(pilot, lambda: "No live choices from DigitalOcean" in status(wizard), 30)
        assert "or type values" in status(wizard) and wizard.query("#choice-digitalocean-region")
        wizard.query_one("#flag-digitalocean-region").value = "tor1"  # free text, not among the choices
        wizard.query_one("#name").value = "do1"
        request = wizard.collect()
        assert request.values["digitalocean-region"] == "tor1"


async def test_no_provider_no_choices_and_the_form_still_works(store, monkeypatch):
    monkeypatch.delenv("DIGITALOCEAN_ACCESS_TOKEN", raising=False)
    app = MachineTuiApp(Store(store), poll_interval=5, timeout=2)
    async with app.run_test(size=(140, 45)) as pilot:
        wizard = await open_wizard(pilot, app, "digitalocean")
        assert await wait_until(pilot, lambda: "No live choices from DigitalOcean (no DigitalOcean token" in
                                status(wizard), 20), status(wizard)
        assert not wizard.query(".choice")
        await choose_driver(pilot, wizard, "qemu")
        assert await wait_until(pilot, lambda: status(wizard) == "", 10)  # a local driver lists nothing


async def test_openstack_flavors_images_and_networks_from_the_typed_cloud(store, monkeypatch):
    api = FakeOpenStack()
    monkeypatch.setenv("OS_AUTH_URL", api.auth_url)
    monkeypatch.setenv("OS_USERNAME", api.user)
    monkeypatch.setenv("OS_PASSWORD", api.password)
    monkeypatch.setenv("OS_TENANT_NAME", api.project)
    monkeypatch.setenv("OS_DOMAIN_NAME", api.domain)
    try:
        app = MachineTuiApp(Store(store), poll_interval=5, timeout=2)
        async with app.run_test(size=(140, 45)) as pilot:
            wizard = await open_wizard(pilot, app, "openstack")
            assert await wait_until(pilot, lambda: "Live choices from OpenStack" in status(wizard), 30), \
                status(wizard)
            flavors = [v for _, v in wizard.query_one("#choice-openstack-flavor-name", Select)._options[1:]]
            assert flavors == ["m1.tiny", "m1.small", "m1.medium", "m1.large"]  # smallest first
            pools = [v for _, v in wizard.query_one("#choice-openstack-floatingip-pool", Select)._options[1:]]
            assert pools == ["public"]
            wizard.query_one("#choice-openstack-image-name", Select).value = "debian-12"
            await pilot.pause(0.2)
            assert wizard.query_one("#flag-openstack-image-name").value == "debian-12"
            assert wizard.query_one("#flag-openstack-password").value == ""  # set in the environment, not shown
    finally:
        api.close()
