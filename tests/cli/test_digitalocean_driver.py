"""The digitalocean driver against a stand-in of DigitalOcean's API v2 on 127.0.0.1 (helpers/fakedigitalocean.py,
written from the published reference). Droplet addresses come from TEST-NET-1: nothing here dials them."""

from __future__ import annotations

import os
import re

import pytest
from conftest import FIXTURES
from fakedigitalocean import FakeDigitalOcean
from machine_tui.core import operations
from machine_tui.core.errors import MachineError, VMMissing
from machine_tui.core.events import Reporter
from machine_tui.core.states import State
from machine_tui.core.store import Store
from steps import Steps

FIXTURE = os.path.join(FIXTURES, "cloud-help", "01-create-digitalocean-help", "stdout")
CHANGED_DEFAULTS = {"digitalocean-image": ("ubuntu-16-04-x64", "ubuntu-24-04-x64")}  # 16.04 is retired
LINE = re.compile(r'^\s+--(digitalocean-[\w-]+)(?: \[[^\]]*\])?(?: "([^"]*)")?\s+(.*?)(?: \[\$(\w+)\])?$')
DOCKER_MACHINE_FIELDS = [
    "IPAddress", "MachineName", "SSHUser", "SSHPort", "SSHKeyPath", "StorePath", "SwarmMaster", "SwarmHost",
    "SwarmDiscovery", "AccessToken", "DropletID", "DropletName", "Image", "Region", "SSHKeyID", "SSHKeyFingerprint",
    "SSHKey", "Size", "IPv6", "Backups", "PrivateNetworking", "UserDataFile", "Monitoring", "Tags"]


def flag_table(text):
    return {m.group(1): (m.group(2) or "", m.group(4) or "") for m in map(LINE.match, text.splitlines()) if m}


def test_create_help_lists_docker_machines_flags_env_vars_and_defaults(cli):
    ours = flag_table(cli("create", "-d", "digitalocean", "--help").stdout)
    with open(FIXTURE) as fh:
        theirs = flag_table(fh.read())
    assert len(theirs) == 14 and set(ours) == set(theirs)
    for name, (default, env) in theirs.items():
        old, new = CHANGED_DEFAULTS.get(name, (default, default))
        assert default == old and ours[name] == (new, env), name


def test_config_json_has_docker_machines_fields_in_its_order():
    from machine_tui.core.drivers.digitalocean import DigitalOceanDriver

    assert list(DigitalOceanDriver.new_config("m", "/s")) == DOCKER_MACHINE_FIELDS


@pytest.fixture
def do(monkeypatch):
    api = FakeDigitalOcean()
    monkeypatch.setenv("MACHINE_TUI_DIGITALOCEAN_API", api.url)
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", api.token)
    yield api
    api.close()


def new_driver(store: str, name: str = "do1", **flags):
    host, driver = operations.build_host(Store(store), name, "digitalocean", flags, operations.TLSFiles(),
                                         explicit=set(flags))
    os.makedirs(os.path.join(store, "machines", name), exist_ok=True)
    driver.wait_delay = 0.01
    return host, driver


async def created(store: str, name: str = "do1", **flags):
    host, driver = new_driver(store, name, **flags)
    await driver.pre_create_check()
    await driver.create(Reporter())
    return host, driver


async def test_create_uploads_the_key_and_makes_the_droplet_and_stores_no_token(store, do):
    _, driver = await created(store, **{"digitalocean-tags": "web, prod", "digitalocean-backups": True})
    [droplet] = do.droplets.values()
    assert droplet["name"] == "do1" and droplet["region"]["slug"] == "nyc3" and droplet["size_slug"] == "s-1vcpu-1gb"
    assert droplet["image"]["slug"] == "ubuntu-24-04-x64" and droplet["tags"] == ["web", "prod"] and droplet["backups"]
    [key] = do.keys.values()
    assert droplet["ssh_keys"] == [key["id"]] == [driver.ssh_key_id] and key["name"] == "do1"
    assert driver.ip_address.startswith("192.0.2.")  # the public one, never dialled here
    assert driver.config["AccessToken"] == "" and driver.ssh_user() == "root"
    assert await driver.state() == State.RUNNING


async def test_power_actions_follow_the_droplet(store, do):
    _, driver = await created(store)
    for action, state in ((driver.stop, State.STOPPED), (driver.start, State.RUNNING), (driver.kill, State.STOPPED),
                          (driver.start, State.RUNNING), (driver.restart, State.RUNNING)):
        await action()
        assert await driver.state() == state
    await driver.stop()
    with pytest.raises(MachineError, match="Host is not running"):
        await driver.get_url()


async def test_rm_removes_key_and_droplet_and_a_droplet_deleted_behind_its_back(store, do):
    _, driver = await created(store)
    await driver.remove()
    assert not do.droplets and not do.keys
    _, other = await created(store, "do2")
    do.droplets.clear()
    with pytest.raises(VMMissing):
        await other.state()
    await other.remove()
    assert not do.keys


async def test_a_refused_droplet_removes_the_key_and_a_failed_post_is_sent_once(store, do):
    do.fail("POST", "/v2/droplets", 422, "You specified an invalid size for Droplet creation.")
    _, driver = new_driver(store)
    await driver.pre_create_check()
    with pytest.raises(MachineError, match=r"DigitalOcean creating the droplet: 422 You specified an invalid size"):
        await driver.create(Reporter())
    assert not do.keys and not do.droplets
    do.fail("POST", "/v2/droplets", 500, "Server was unable to give you a response.")
    _, driver = new_driver(store, "do2")
    with pytest.raises(MachineError, match="500 Server was unable"):
        await driver.create(Reporter())
    assert do.requests.count(("POST", "/v2/droplets")) == 2  # one each: a retried create could make two droplets
    assert not do.keys and not do.droplets


async def test_rate_limits_on_reads_are_retried_and_a_bad_token_is_one_line(store, do, monkeypatch):
    do.fail("GET", r"/v2/droplets/\d+", 429, "API rate limit exceeded.", headers={"retry-after": "0"})
    steps = Steps()
    _, driver = new_driver(store)
    await driver.create(steps)
    assert len(do.droplets) == 1
    assert "DigitalOcean HTTP 429, retrying with backoff (1 of 3 retries)" in steps.lines  # shown, not only waited
    monkeypatch.setenv("DIGITALOCEAN_ACCESS_TOKEN", "revoked")
    _, driver = new_driver(store, "do2")
    with pytest.raises(MachineError, match=r"401 Unable to authenticate you \(the token is not valid"):
        await driver.pre_create_check()


async def test_bad_input_is_one_line(store, do, monkeypatch, tmp_path):
    _, driver = new_driver(store, **{"digitalocean-region": "mars1"})
    with pytest.raises(MachineError, match="invalid region 'mars1'; DigitalOcean has"):
        await driver.pre_create_check()
    for flags, said in (({"digitalocean-userdata": str(tmp_path / "none")}, "no such file"),
                        ({"digitalocean-ssh-key-fingerprint": "aa:bb"}, "also requires --digitalocean-ssh-key-path")):
        with pytest.raises(MachineError, match=re.escape(said)):
            new_driver(store, "x", **flags)
    monkeypatch.delenv("DIGITALOCEAN_ACCESS_TOKEN")
    _, driver = new_driver(store, "notoken")
    with pytest.raises(MachineError, match="no DigitalOcean token: set DIGITALOCEAN_ACCESS_TOKEN"):
        await driver.pre_create_check()


def test_cli_rm_of_a_machine_whose_droplet_is_gone_succeeds(store, do, cli):
    host, driver = new_driver(store, "gone")
    driver.droplet_id, driver.ssh_key_id = 424242, 77
    Store(store).save(host)
    r = cli("rm", "-y", "gone", MACHINE_TUI_DIGITALOCEAN_API=do.url)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(os.path.join(store, "machines", "gone"))


FIXTURE_STORE = os.path.join(os.path.dirname(FIXTURE), "..", "..", "store-after-create-generic")


def test_a_store_docker_machine_wrote_is_listed_and_removed_with_its_droplet(store, do, cli):
    """docker-machine kept the token in config.json: it is used as written (the environment has none here). The
    droplet is off, so `ls` asks DigitalOcean for its state and dials nothing."""
    import json

    key = {"id": 4242, "name": "dm1", "public_key": "ssh-ed25519 AAAA dm1", "fingerprint": "aa:bb:42"}
    do.keys[4242] = key
    do.droplets[777] = {"id": 777, "name": "dm1", "status": "off", "locked": False,
                        "networks": {"v4": [{"ip_address": "192.0.2.77", "type": "public"}], "v6": []},
                        "region": {"slug": "nyc3"}, "size_slug": "s-1vcpu-1gb", "image": {"slug": "ubuntu-16-04-x64"},
                        "tags": [], "ssh_keys": [4242], "backups": False}
    machine = os.path.join(store, "machines", "dm1")
    os.makedirs(machine, mode=0o700)
    fields = dict(IPAddress="192.0.2.77", MachineName="dm1", SSHUser="root", SSHPort=22,
                  SSHKeyPath=os.path.join(machine, "id_rsa"), StorePath=store, SwarmMaster=False, SwarmHost="",
                  SwarmDiscovery="", AccessToken=do.token, DropletID=777, DropletName="", Image="ubuntu-16-04-x64",
                  Region="nyc3", SSHKeyID=4242, SSHKeyFingerprint="", SSHKey="", Size="s-1vcpu-1gb", IPv6=False,
                  Backups=False, PrivateNetworking=False, UserDataFile="", Monitoring=False, Tags="")
    assert list(fields) == DOCKER_MACHINE_FIELDS
    with open(os.path.join(FIXTURE_STORE, "machines", "gen1", "config.json")) as fh:
        doc = json.load(fh)
    doc.update(Driver=fields, DriverName="digitalocean", Name="dm1")
    with open(os.path.join(machine, "config.json"), "w") as fh:
        json.dump(doc, fh, indent=4)
    env = {"MACHINE_TUI_DIGITALOCEAN_API": do.url, "DIGITALOCEAN_ACCESS_TOKEN": ""}
    rows = cli("ls", **env).stdout.splitlines()
    assert rows[1].split()[:4] == ["dm1", "-", "digitalocean", "Stopped"], rows
    r = cli("rm", "-y", "dm1", **env)
    assert r.returncode == 0, r.stderr
    assert not do.droplets and not do.keys and not os.path.exists(machine)


async def test_a_droplet_that_never_gets_an_address_is_removed_with_its_key(store, do):
    do.stuck = True  # the droplet stays `new`, with no address
    _, driver = new_driver(store)
    driver.wait_tries = 3
    with pytest.raises(MachineError, match=r"droplet \d+ got no public address within"):
        await driver.create(Reporter())
    assert not do.droplets and not do.keys


async def test_a_droplet_is_bound_to_its_team_and_another_teams_token_touches_nothing(store, do, cli):
    host, driver = new_driver(store, "bound")
    driver.keep_journal(Store(store).identity(), lambda: Store(store).save(host))
    await driver.pre_create_check()
    await driver.create(Reporter())
    assert driver.config["Account"] == "team-0001"
    env = {"MACHINE_TUI_DIGITALOCEAN_API": do.url, "DIGITALOCEAN_ACCESS_TOKEN": do.token}
    do.team = "team-0002"  # the token in force is now another team's
    r = cli("rm", "-f", "bound", **env)
    assert r.returncode == 1 and "the machine is in DigitalOcean team team-0001, and the credentials in force are " \
        "team team-0002's: nothing was touched" in r.stderr, r.stderr
    assert list(do.droplets) == [driver.droplet_id] and do.keys
    do.team = "team-0001"
    assert cli("rm", "-y", "bound", **env).returncode == 0
    assert not do.droplets and not do.keys


async def test_ls_over_ten_droplets_is_one_request(store, do, cli):
    """DigitalOcean allows 5,000 requests an hour per token: 10 droplets used to cost 10-20 per ls (a poll of the
    app every 5 s spent 7,200-14,400 an hour); now one listing of the account's droplets."""
    for n in range(10):
        host, driver = new_driver(store, f"d{n}")
        await driver.pre_create_check()
        await driver.create(Reporter())
        Store(store).save(host)
        do.droplets[driver.droplet_id]["status"] = "off"  # nothing to dial
    do.requests.clear()
    r = cli("ls", "--format", "{{.Name}} {{.State}}", MACHINE_TUI_DIGITALOCEAN_API=do.url)
    assert r.stdout.split("\n")[:10] == [f"d{n} Stopped" for n in range(10)], r.stderr
    assert do.requests == [("GET", "/v2/droplets")]


async def test_undo_waits_for_a_locked_new_droplet_then_deletes_it_for_sure(store, do):
    """A droplet still being made is locked, and DigitalOcean can ignore a delete sent then: the undo of a failed
    create waits until it is unlocked, deletes it, and reads it back until the API says 404."""
    do.locked_reads = 3
    do.stuck = True  # no address: the create fails after its bounded wait and undoes itself
    _, driver = new_driver(store)
    driver.wait_tries = 2
    with pytest.raises(MachineError, match=r"droplet \d+ got no public address within"):
        await driver.create(Reporter())
    assert not do.droplets and not do.keys
    deletes = [r for r in do.requests if r[0] == "DELETE" and r[1].startswith("/v2/droplets/")]
    assert len(deletes) == 1  # sent once it was unlocked, never into the void
