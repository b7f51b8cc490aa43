"""The openstack driver against a stand-in of an OpenStack cloud on 127.0.0.1 (helpers/fakeopenstack.py: keystone v3,
nova, neutron and glance, written from their references), through openstacksdk. Addresses come from 10.0.0.0/24 and
TEST-NET-3: nothing here dials them."""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.error
import urllib.request

import pytest
from conftest import FIXTURES
from fakeopenstack import FakeOpenStack
from machine_tui.core import operations
from machine_tui.core.errors import MachineError, VMMissing
from machine_tui.core.states import State
from machine_tui.core.store import Store
from steps import Steps

FIXTURE = os.path.join(FIXTURES, "cloud-help", "01-create-openstack-help", "stdout")
# root: cloud images refuse it, so the default is the image's own user
CHANGED_DEFAULTS = {"openstack-ssh-user": ("root", "")}
OURS_ONLY = {"openstack-cloud": ("", "OS_CLOUD")}  # clouds.yaml
LINE = re.compile(r'^\s+--(openstack-[\w-]+)(?: \[[^\]]*\])?(?: "([^"]*)")?\s+(.*?)(?: \[\$(\w+)\])?$')
DOCKER_MACHINE_FIELDS = [
    "IPAddress", "MachineName", "SSHUser", "SSHPort", "SSHKeyPath", "StorePath", "SwarmMaster", "SwarmHost",
    "SwarmDiscovery", "AuthUrl", "ActiveTimeout", "Insecure", "CaCert", "DomainID", "DomainName", "Username",
    "Password", "TenantName", "TenantId", "Region", "AvailabilityZone", "EndpointType", "MachineId", "FlavorName",
    "FlavorId", "ImageName", "ImageId", "KeyPairName", "NetworkName", "NetworkId", "UserData", "PrivateKeyFile",
    "SecurityGroups", "FloatingIpPool", "ComputeNetwork", "FloatingIpPoolId", "IpVersion", "ConfigDrive",
    "ExistingKey"]


def flag_table(text):
    return {m.group(1): (m.group(2) or "", m.group(4) or "") for m in map(LINE.match, text.splitlines()) if m}


def test_create_help_lists_docker_machines_flags_env_vars_and_defaults(cli):
    ours = flag_table(cli("create", "-d", "openstack", "--help").stdout)
    with open(FIXTURE) as fh:
        theirs = flag_table(fh.read())
    assert len(theirs) == 30 and set(ours) == set(theirs) | set(OURS_ONLY)
    for name, (default, env) in theirs.items():
        old, new = CHANGED_DEFAULTS.get(name, (default, default))
        assert default == old and ours[name] == (new, env), name
    for name, entry in OURS_ONLY.items():
        assert ours[name] == entry


def test_config_json_has_docker_machines_fields_in_its_order():
    from machine_tui.core.drivers.openstack import OpenStackDriver

    assert list(OpenStackDriver.new_config("m", "/s")) == DOCKER_MACHINE_FIELDS


@pytest.fixture
def cloud(monkeypatch):
    api = FakeOpenStack()
    for var in [v for v in os.environ if v.startswith("OS_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("OS_PASSWORD", api.password)  # read at run time, never stored
    yield api
    api.close()


def auth(api: FakeOpenStack) -> dict:
    return {"openstack-auth-url": api.auth_url, "openstack-username": api.user, "openstack-tenant-name": api.project,
            "openstack-domain-name": api.domain, "openstack-region": api.region}


def new_driver(store: str, api: FakeOpenStack, name: str = "os1", **flags):
    flags = {**auth(api), "openstack-flavor-name": "m1.small", "openstack-image-name": "ubuntu-24.04", **flags}
    host, driver = operations.build_host(Store(store), name, "openstack", flags, operations.TLSFiles(),
                                         explicit=set(flags))
    os.makedirs(os.path.join(store, "machines", name), exist_ok=True)
    driver.wait_delay = 0.01
    return host, driver


async def created(store: str, api: FakeOpenStack, name: str = "os1", **flags):
    host, driver = new_driver(store, api, name, **flags)
    await driver.pre_create_check()
    await driver.create(Steps())
    return host, driver


async def test_create_makes_key_pair_group_server_and_floating_ip_and_stores_no_password(store, cloud):
    steps = Steps()
    _, driver = new_driver(store, cloud, **{"openstack-floatingip-pool": "public",
                                            "openstack-metadata": "team,web,tier,prod"})
    await driver.pre_create_check()
    cloud.requests.clear()
    await driver.create(steps)
    # docker-machine's sequence, with the group it lacked: key pair, group (read back: a racing create may have made
    # one too) and rules, server, wait, then a floating IP allocated for it (never a listed "free" one, which
    # another client can take meanwhile)
    assert [c for c in cloud.calls() if not c.startswith("GET /compute/v2.1/servers/")] == [
        "POST /compute/v2.1/os-keypairs", "GET /network/v2.0/security-groups", "POST /network/v2.0/security-groups",
        "GET /network/v2.0/security-groups", "POST /network/v2.0/security-group-rules",
        "POST /network/v2.0/security-group-rules",
        "POST /compute/v2.1/servers", "GET /network/v2.0/ports", "POST /network/v2.0/floatingips"]
    [server] = cloud.servers.values()
    [pair] = cloud.keypairs.values()
    assert server["name"] == "os1" and server["flavor"]["name"] == "m1.small" and server["key_name"] == pair["name"]
    assert re.fullmatch(r"os1-(mt|[0-9a-f]{16})-[0-9a-f]{48}", pair["name"])
    assert server["metadata"] == {"team": "web", "tier": "prod"}
    with open(driver.ssh_key_path() + ".pub") as fh:
        assert pair["public_key"] == fh.read().strip()
    [group] = cloud.groups.values()
    assert group["name"] == "docker-machine" and server["security_groups"] == [group["id"]]  # by id
    assert sorted(r["port_range_min"] for r in group["security_group_rules"]) == [22, 2376]
    [ip] = cloud.floatingips.values()
    assert driver.ip_address == ip["floating_ip_address"] and ip["port_id"] == server["port"]
    assert driver.config["Password"] == "" and driver.ssh_user() == "ubuntu"  # from the image's os_distro
    assert driver.config["FloatingIpId"] == ip["id"] and driver.config["FloatingIpPoolId"] == "net-public"
    assert "Server %s is BUILD" % server["id"] in steps.lines and "Server %s is ACTIVE" % server["id"] in steps.lines
    assert await driver.state() == State.RUNNING


async def test_fixed_address_on_a_named_network_and_the_images_user(store, cloud):
    _, driver = await created(store, cloud, **{"openstack-net-name": "private", "openstack-image-name": "debian-12",
                                               "openstack-flavor-id": "1", "openstack-flavor-name": ""})
    assert driver.ip_address.startswith("10.0.0.") and driver.ssh_user() == "debian"
    assert driver.network_id == "net-private" and driver.flavor_name == "m1.tiny"
    _, second = await created(store, cloud, "os2")
    assert len(cloud.groups) == 1  # the group is made once, then reused
    assert second.ip_address != driver.ip_address


async def test_clouds_yaml_names_the_cloud_and_flags_override_it(store, cloud, monkeypatch, tmp_path):
    config = tmp_path / "clouds.yaml"
    config.write_text(json.dumps({"clouds": {"lab": {
        "auth": {"auth_url": cloud.auth_url, "username": cloud.user, "password": cloud.password,
                 "project_name": cloud.project, "user_domain_name": cloud.domain,
                 "project_domain_name": cloud.domain},
        "region_name": cloud.region}}}))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(config))
    monkeypatch.delenv("OS_PASSWORD")
    flags = {"openstack-cloud": "lab", "openstack-flavor-name": "m1.tiny", "openstack-image-name": "cirros"}
    host, driver = operations.build_host(Store(store), "lab1", "openstack", flags, operations.TLSFiles(),
                                         explicit=set(flags))
    os.makedirs(os.path.join(store, "machines", "lab1"))
    driver.wait_delay = 0.01
    await driver.pre_create_check()
    await driver.create(Steps())
    assert driver.config["Cloud"] == "lab" and driver.config["Password"] == "" and driver.config["AuthUrl"] == ""
    assert driver.ssh_user() == "ubuntu"  # an image with no os_distro
    assert await driver.state() == State.RUNNING
    flags["openstack-region"] = "Elsewhere"  # a flag beside the cloud wins over clouds.yaml
    _, other = operations.build_host(Store(store), "lab2", "openstack", flags, operations.TLSFiles(),
                                     explicit=set(flags))
    with pytest.raises(MachineError, match="Error with pre-create check"):
        await other.pre_create_check()
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(tmp_path / "none.yaml"))
    _, missing = operations.build_host(Store(store), "lab3", "openstack", {**flags, "openstack-cloud": "nowhere"},
                                       operations.TLSFiles(), explicit=set(flags))
    with pytest.raises(MachineError, match=r"^Error with pre-create check: \"OpenStack configuration: .*nowhere"):
        await missing.pre_create_check()


async def test_power_actions_follow_the_server(store, cloud):
    _, driver = await created(store, cloud)
    for action, state in ((driver.stop, State.STOPPED), (driver.start, State.RUNNING), (driver.kill, State.STOPPED),
                          (driver.start, State.RUNNING), (driver.restart, State.RUNNING)):
        await action()
        assert await driver.state() == state
    assert cloud.calls("POST", "/compute")[-5:] == [
        f"POST /compute/v2.1/servers/{driver.machine_id}/action"] * 5
    await driver.stop()
    with pytest.raises(MachineError, match="Host is not running"):
        await driver.get_url()
    with pytest.raises(MachineError, match=r"409 Cannot 'os-stop' instance .* while it is in vm_state shutoff"):
        await driver.stop()


async def test_rm_removes_server_key_pair_and_floating_ip_and_a_server_deleted_behind_its_back(store, cloud):
    _, driver = await created(store, cloud, **{"openstack-floatingip-pool": "public"})
    await driver.remove()
    assert cloud.resources() == {"servers": [], "keypairs": [], "floatingips": [], "groups": ["docker-machine"],
                                 "ports": []}
    _, other = await created(store, cloud, "os2")
    cloud.servers.clear()
    with pytest.raises(VMMissing):
        await other.state()
    await other.remove()
    assert not cloud.keypairs


async def test_an_existing_key_pair_is_used_and_kept(store, cloud, tmp_path):
    key = tmp_path / "mine"
    os.system(f"ssh-keygen -q -t ed25519 -N '' -f {key}")
    cloud.keypairs["team"] = {"name": "team", "public_key": (tmp_path / "mine.pub").read_text().strip()}
    _, driver = await created(store, cloud, **{"openstack-keypair-name": "team",
                                               "openstack-private-key-file": str(key)})
    assert [s["key_name"] for s in cloud.servers.values()] == ["team"] and driver.existing_key
    await driver.remove()
    assert list(cloud.keypairs) == ["team"] and not cloud.servers


@pytest.mark.parametrize("fault, said, made", [
    (("POST", r"/compute/v2\.1/servers$", 403, {"forbidden": {"code": 403, "message": "Quota exceeded for instances: "
                                                               "Requested 1, but already used 10 of 10 instances"}}),
     r"403 Quota exceeded for instances.*\(a quota of the project", "no server"),
    (("POST", r"/compute/v2\.1/servers$", 403, {"forbidden": {"code": 403, "message": "Policy doesn't allow "
                                                               "os_compute_api:servers:create to be performed."}}),
     r"os_compute_api:servers:create.*ask its operator for the role", "no server"),
    (("POST", r"/network/v2\.0/floatingips$", 409, {"NeutronError": {"type": "OverQuota", "detail": "", "message":
                                                     "Quota exceeded for resources: ['floatingip']."}}),
     r"allocating a floating IP: 409 Quota exceeded for resources: \['floatingip'\]", "server"),
])
async def test_a_failed_create_removes_everything_it_made(store, cloud, fault, said, made):
    cloud.faults.append((*fault, {}))
    _, driver = new_driver(store, cloud, **{"openstack-floatingip-pool": "public"})
    await driver.pre_create_check()
    with pytest.raises(MachineError, match=said):
        await driver.create(Steps())
    assert cloud.resources() == {"servers": [], "keypairs": [], "floatingips": [], "groups": [], "ports": []}
    assert ("DELETE" in " ".join(cloud.calls("DELETE", "/compute/v2.1/servers"))) == (made == "server")


async def test_a_server_that_errors_or_never_builds_is_removed(store, cloud):
    cloud.fate = "ERROR"
    _, driver = new_driver(store, cloud)
    with pytest.raises(MachineError, match=r"went into ERROR: No valid host was found"):
        await driver.create(Steps())
    assert not cloud.servers and not cloud.keypairs and not cloud.groups
    cloud.fate = "BUILD"
    _, driver = new_driver(store, cloud, "os2", **{"openstack-active-timeout": 1})
    with pytest.raises(MachineError, match=r"was still BUILD after 1 s \(--openstack-active-timeout\)"):
        await driver.create(Steps())
    assert not cloud.servers and not cloud.keypairs and not cloud.groups


async def test_throttling_is_retried_and_bad_credentials_are_one_line(store, cloud, monkeypatch):
    for _ in range(2):
        cloud.faults.append(("GET", r"/compute/v2\.1/servers/", 429,
                             {"overLimit": {"code": 429, "message": "Rate limit exceeded"}}, {"Retry-After": "0"}))
    steps = Steps()
    _, driver = new_driver(store, cloud)
    await driver.create(steps)
    assert await driver.state() == State.RUNNING and not cloud.faults
    assert "OpenStack: Retriable status code 429. Retrying in 0.0s. 4 retries left" in steps.lines  # shown
    monkeypatch.setenv("OS_PASSWORD", "wrong")
    _, driver = new_driver(store, cloud, "os2")
    with pytest.raises(MachineError, match=r"^Error with pre-create check: \"OpenStack signing in: 401 the cloud "
                                           r"refused the credentials"):
        await driver.pre_create_check()


async def test_names_the_cloud_lacks_are_one_line_listing_what_it_has(store, cloud):
    for flags, said in (({"openstack-flavor-name": "m9.huge"}, "no flavor 'm9.huge'; it has: m1.large, m1.medium"),
                        ({"openstack-image-name": "windows"}, "no image 'windows'; it has: cirros, debian-12"),
                        ({"openstack-net-name": "dmz"}, "no network 'dmz'; it has: private, public"),
                        ({"openstack-floatingip-pool": "private"}, "no floating IP pool 'private' (that network is not external); it has: public"),
                        ({"openstack-sec-groups": "web"}, "no security group 'web'; it has: none")):
        _, driver = new_driver(store, cloud, f"os{len(cloud.requests)}", **flags)
        with pytest.raises(MachineError, match=re.escape(said)):
            await driver.pre_create_check()
            await driver.create(Steps())
    assert not cloud.servers and not cloud.keypairs


def test_bad_flags_are_one_line_before_any_call(store, cloud, cli, tmp_path):
    common = ["create", "-d", "openstack", "--openstack-auth-url", cloud.auth_url]
    for extra, said in ((["--openstack-nova-network"], "nova-network was removed from OpenStack"),
                        ([], "OpenStack needs a flavor: --openstack-flavor-name or --openstack-flavor-id"),
                        (["--openstack-flavor-name", "m1.small"], "OpenStack needs an image"),
                        (["--openstack-flavor-name", "a", "--openstack-image-name", "b", "--openstack-keypair-name",
                          "k"], "also requires --openstack-private-key-file"),
                        (["--openstack-flavor-name", "a", "--openstack-image-name", "b", "--openstack-metadata",
                          "odd"], "give key,value pairs"),
                        (["--openstack-flavor-name", "a", "--openstack-image-name", "b",
                          "--openstack-user-data-file", str(tmp_path / "none")], "No such file")):
        r = cli(*common, *extra, "bad")
        assert r.returncode == 1 and said in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = cli("create", "-d", "openstack", "--openstack-flavor-name", "a", "--openstack-image-name", "b", "bad")
    assert r.returncode == 1 and "--openstack-cloud (OS_CLOUD)" in r.stderr
    assert not cloud.requests and not os.path.exists(os.path.join(store, "machines", "bad"))


def test_a_docker_machine_store_lists_and_is_removed_with_its_server(store, cloud, cli):
    """config.json as docker-machine 0.16.2 writes it: the password in it, a tenant id, no Cloud key."""
    import asyncio

    _, driver = asyncio.run(created(store, cloud, "made"))
    server, pair = driver.machine_id, driver.key_pair_name
    shutil.rmtree(os.path.join(store, "machines", "made"))  # the driver's own folder, never saved as a machine
    cloud.servers[server]["status"] = "SHUTOFF"  # a running one would have `ls` dial its engine at 10.0.0.x
    folder = os.path.join(store, "machines", "old")
    os.makedirs(folder, exist_ok=True)
    fields = {k: driver.config.get(k) for k in DOCKER_MACHINE_FIELDS}
    fields.update(MachineName="old", Password=cloud.password, TenantId=cloud.project_id, TenantName="",
                  SSHKeyPath=os.path.join(folder, "id_rsa"), StorePath=store, UserData=None, SecurityGroups=None)
    with open(os.path.join(FIXTURE_STORE, "machines", "gen1", "config.json")) as fh:
        doc = json.load(fh)  # HostOptions as docker-machine 0.16.2 writes them
    doc.update(Driver=fields, DriverName="openstack", Name="old")
    with open(os.path.join(folder, "config.json"), "w") as fh:
        json.dump(doc, fh, indent=4)
    env = {"OS_PASSWORD": ""}
    r = cli("ls", "--filter", "name=old", "--format", "{{.Name}} {{.DriverName}} {{.State}}", **env)
    assert r.stdout == "old openstack Stopped\n", r.stderr
    r = cli("rm", "-y", "old", **env)
    assert r.returncode == 0, r.stderr
    assert server not in cloud.servers and pair not in cloud.keypairs and not os.path.exists(folder)


FIXTURE_STORE = os.path.join(os.path.dirname(FIXTURE), "..", "..", "store-after-create-generic")


def test_cli_rm_of_a_machine_whose_server_is_gone_succeeds(store, cloud, cli):
    host, driver = new_driver(store, cloud, "gone")
    driver.machine_id, driver.key_pair_name = "6d2f0000-0000-4000-8000-000000000000", "gone-key"
    driver.password = cloud.password
    Store(store).save(host)
    r = cli("rm", "-y", "gone")
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(os.path.join(store, "machines", "gone"))


async def test_a_server_is_bound_to_its_project_and_another_projects_credentials_touch_nothing(store, cloud, cli):
    host, driver = new_driver(store, cloud, "bound")
    driver.keep_journal(Store(store).identity(), lambda: Store(store).save(host))
    await driver.pre_create_check()
    await driver.create(Steps())
    bound = f"{cloud.project_id} at {cloud.auth_url}"
    assert driver.config["Account"] == bound
    first, cloud.project_id = cloud.project_id, "another-project"  # the same names now sign in to another project
    r = cli("rm", "-f", "bound", OS_PASSWORD=cloud.password)
    assert r.returncode == 1 and f"the machine is in OpenStack project {bound}, and the credentials in force are " \
        f"project another-project at {cloud.auth_url}'s: nothing was touched" in r.stderr, r.stderr
    assert cloud.resources()["servers"]
    cloud.project_id = first
    assert cli("rm", "-y", "bound", OS_PASSWORD=cloud.password).returncode == 0
    assert not cloud.resources()["servers"] and not cloud.resources()["keypairs"]


async def test_ls_over_ten_servers_is_one_listing_and_one_sign_in(store, cloud, cli):
    """Five requests per server per poll, a Keystone sign-in each time, became one sign-in and one listing."""
    for n in range(10):
        host, driver = new_driver(store, cloud, f"s{n}")
        await driver.pre_create_check()
        await driver.create(Steps())
        Store(store).save(host)
        cloud.servers[driver.machine_id]["status"] = "SHUTOFF"  # nothing to dial
    cloud.requests.clear()
    r = cli("ls", "--format", "{{.Name}} {{.State}}", OS_PASSWORD=cloud.password)
    assert r.stdout.split("\n")[:10] == [f"s{n} Stopped" for n in range(10)], r.stderr
    calls = cloud.calls()
    assert calls.count("POST /identity/v3/auth/tokens") == 1 and \
        [c for c in calls if "/servers" in c] == ["GET /compute/v2.1/servers/detail"], calls


async def test_two_creates_that_both_make_the_shared_group_end_with_one(store, cloud):
    """neutron allows two groups of one name, and nova then refuses every server naming it (409). A create that
    finds a second group of its name after making its own keeps the first and removes its own."""
    def race(method, path):
        if method == "GET" and path == "/network/v2.0/security-groups" and not cloud.groups:
            cloud.groups["theirs"] = {"id": "theirs", "name": "docker-machine", "created_at": "2025-01-01T00:00:00Z",
                                      "description": "", "project_id": cloud.project_id,
                                      "security_group_rules": []}
            cloud.after = None

    cloud.after = race  # the racing create makes its group between this one's look and its own POST
    _, driver = await created(store, cloud)
    assert list(cloud.groups) == ["theirs"]
    [server] = cloud.servers.values()
    assert server["security_groups"] == ["theirs"] and driver.config.get("MadeSecurityGroup", "") == ""
    assert sorted(r["port_range_min"] for r in cloud.groups["theirs"]["security_group_rules"]) == [22, 2376]
    _, second = await created(store, cloud, "os2")  # a later create finds one group, and succeeds
    assert len(cloud.groups) == 1 and len(cloud.servers) == 2


async def test_a_project_with_several_networks_is_asked_which_before_anything_is_made(store, cloud):
    cloud.networks["net-lab"] = {"id": "net-lab", "name": "lab", "status": "ACTIVE", "router:external": False,
                                 "subnets": ["sub-private"], "project_id": cloud.project_id}
    _, driver = new_driver(store, cloud)
    with pytest.raises(MachineError, match=r"the project has several networks: choose one with "
                                           r"--openstack-net-name \(lab, private\)"):
        await driver.pre_create_check()
    assert not cloud.keypairs and not cloud.servers
    del cloud.networks["net-lab"]
    _, driver = await created(store, cloud, "os2")  # one network: named in the request, never `auto`
    assert driver.network_id == "net-private" and driver.network_name == "private"


async def test_an_application_credential_from_clouds_yaml_creates_and_binds_its_project(store, cloud, monkeypatch,
                                                                                      tmp_path):
    """Application credentials (a CI's usual sign-in): no user, no password, no project in the request; the
    machine is bound to the credential's project."""
    cloud.app_credentials["ac-1"] = "ac-secret"
    config = tmp_path / "clouds.yaml"
    config.write_text(json.dumps({"clouds": {"ci": {
        "auth_type": "v3applicationcredential", "region_name": cloud.region,
        "auth": {"auth_url": cloud.auth_url, "application_credential_id": "ac-1",
                 "application_credential_secret": "ac-secret"}}}}))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(config))
    monkeypatch.delenv("OS_PASSWORD")
    flags = {"openstack-cloud": "ci", "openstack-flavor-name": "m1.tiny", "openstack-image-name": "cirros"}
    host, driver = operations.build_host(Store(store), "ci1", "openstack", flags, operations.TLSFiles(),
                                         explicit=set(flags))
    os.makedirs(os.path.join(store, "machines", "ci1"))
    driver.wait_delay = 0.01
    await driver.pre_create_check()
    await driver.create(Steps())
    assert driver.config["Account"] == f"{cloud.project_id} at {cloud.auth_url}"
    assert driver.config["Cloud"] == "ci"
    assert "ac-secret" not in json.dumps(driver.config)  # the secret stays in clouds.yaml
    await driver.remove()
    assert not cloud.servers


@pytest.mark.parametrize("newest", ["2.15", "2.53", "2.96"])  # a Liberty-era cloud, a Pike one, a current one
async def test_clouds_of_older_and_newer_compute_microversions_create_list_and_remove(store, cloud, cli, newest):
    """nova answers each request at the microversion asked for (the flavor a link before 2.47, embedded from it)
    and refuses one newer than it speaks with 406: the driver works at whatever the cloud offers."""
    cloud.compute_max = newest
    host, driver = await created(store, cloud, **{"openstack-floatingip-pool": "public"})
    req = urllib.request.Request(cloud.url + "/compute/v2.1/flavors", headers={
        "OpenStack-API-Version": "compute 2.97", "X-Auth-Token": next(iter(cloud.tokens))})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=30)
    assert refused.value.code == 406 and f"maximum is {newest}" in refused.value.read().decode()
    Store(store).save(host)
    minor = int(newest.split(".")[1])
    assert cloud.microversions and all(int(v.split(".")[1]) <= minor for v in cloud.microversions)
    await driver.stop()
    assert await driver.state() == State.STOPPED
    r = cli("ls", "--format", "{{.Name}} {{.State}}", OS_PASSWORD=cloud.password)
    assert r.stdout.splitlines()[0] == "os1 Stopped", r.stderr
    assert cli("rm", "-y", "os1", OS_PASSWORD=cloud.password).returncode == 0
    assert cloud.resources() == {"servers": [], "keypairs": [], "floatingips": [], "groups": ["docker-machine"],
                                 "ports": []}
