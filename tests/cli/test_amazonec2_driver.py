"""The amazonec2 driver against moto's EC2 server on 127.0.0.1, pointed at it with --amazonec2-endpoint.

moto hands out public-looking addresses (54.214.x.x, a real AWS range): nothing here dials an instance's address.
The driver is driven up to the point where libmachine would SSH in; the end-to-end run on a VM is left to a harness
that maps the address to a loopback VM."""

from __future__ import annotations

import json
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request

import boto3
import moto.server as moto_server
import pytest
from conftest import FIXTURES
from machine_tui.core import operations
from machine_tui.core.errors import MachineError, VMMissing
from machine_tui.core.events import Reporter
from machine_tui.core.states import State
from machine_tui.core.store import Store
from steps import Steps

FIXTURE = os.path.join(FIXTURES, "cloud-help", "01-create-amazonec2-help", "stdout")
# the defaults that were obsolete (docker-machine 0.16.2 -> machine-tui), and why: README "The amazonec2 driver"
CHANGED_DEFAULTS = {"amazonec2-instance-type": ("t2.micro", "t3.micro"), "amazonec2-volume-type": ("gp2", "gp3")}
# ours beyond docker-machine's, as rancher-machine names them: the instance metadata service's options
BEYOND = {"amazonec2-metadata-token": ("required", "AWS_METADATA_TOKEN"),
          "amazonec2-metadata-token-response-hop-limit": ("2", "AWS_METADATA_TOKEN_RESPONSE_HOP_LIMIT")}
LINE = re.compile(r'^\s+--(amazonec2-[\w-]+)(?: \[[^\]]*\])?(?: "([^"]*)")?\s+(.*?)(?: \[\$(\w+)\])?$')


def flag_table(text: str) -> dict[str, tuple[str, str]]:
    table = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            table[m.group(1)] = (m.group(2) or "", m.group(4) or "")
    return table


def test_create_help_lists_docker_machines_flags_env_vars_and_defaults(cli):
    ours = flag_table(cli("create", "-d", "amazonec2", "--help").stdout)
    with open(FIXTURE) as fh:
        theirs = flag_table(fh.read())
    assert len(theirs) == 32 and set(ours) == set(theirs) | set(BEYOND)
    for name, (default, env) in theirs.items():
        old, new = CHANGED_DEFAULTS.get(name, (default, default))
        assert default == old and ours[name] == (new, env), name
    for name, (default, env) in BEYOND.items():
        assert ours[name] == (default, env)


@pytest.fixture
def ec2(monkeypatch, tmp_path):
    """moto's EC2 (and SSM) server on a loopback port; credentials only in the environment, as boto3's chain finds
    them; no shared ~/.aws config is read."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    validating(monkeypatch)
    for key, value in {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-from-env",
                       "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                       "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    endpoint = f"http://127.0.0.1:{port}"
    # moto keeps its accounts in the process: each test starts from an empty cloud
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"), timeout=10).close()
    yield endpoint, boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint)
    server.stop()


def validating(monkeypatch) -> None:
    """moto refuses an unknown image or instance type, as EC2 does (its defaults accept any)."""
    import moto.settings

    monkeypatch.setattr(moto.settings, "ENABLE_AMI_VALIDATION", True)
    monkeypatch.setattr(moto.settings, "EC2_ENABLE_INSTANCE_TYPE_VALIDATION", True)


def new_driver(store: str, endpoint: str, name: str = "aws1", **flags):
    opts = {"amazonec2-endpoint": endpoint, "amazonec2-ami": "ami-785db401", **flags}
    host, driver = operations.build_host(Store(store), name, "amazonec2", opts, operations.TLSFiles(),
                                         explicit=set(opts))
    os.makedirs(os.path.join(store, "machines", name), exist_ok=True)
    return host, driver


def live(client, name):
    found = client.describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])["Reservations"]
    return [i for r in found for i in r["Instances"] if i["State"]["Name"] != "terminated"]


async def test_create_makes_key_pair_group_and_instance_and_stores_no_secret(store, ec2):
    endpoint, client = ec2
    host, driver = new_driver(store, endpoint, **{"amazonec2-open-port": ["8080"], "amazonec2-tags": "team,web"})
    await driver.pre_create_check()
    await driver.create(Reporter())
    [instance] = live(client, "aws1")
    assert instance["KeyName"] == "aws1" and instance["InstanceType"] == "t3.micro"
    assert instance["Placement"]["AvailabilityZone"] == "us-east-1a"
    assert {"Key": "team", "Value": "web"} in instance["Tags"]
    [group] = client.describe_security_groups(GroupNames=["docker-machine"])["SecurityGroups"]
    opened = {(p["IpProtocol"], p["FromPort"]) for p in group["IpPermissions"]}
    assert {("tcp", 22), ("tcp", 2376), ("tcp", 8080), ("udp", 8080)} <= opened
    assert client.describe_key_pairs(KeyNames=["aws1"])["KeyPairs"]
    assert driver.ip_address == instance["PublicIpAddress"]  # stored, never dialled here
    # credentials from the environment are resolved at run time, never written to the store
    assert driver.config["AccessKey"] == "" and driver.config["SecretKey"] == ""
    assert list(driver.config)[:9] == ["IPAddress", "MachineName", "SSHUser", "SSHPort", "SSHKeyPath", "StorePath",
                                       "SwarmMaster", "SwarmHost", "SwarmDiscovery"]
    assert list(driver.config)[9:13] == ["Id", "AccessKey", "SecretKey", "SessionToken"]
    assert oct(os.stat(driver.ssh_key_path()).st_mode & 0o777) == "0o600"


async def test_stop_start_kill_restart_follow_the_instance_state(store, ec2):
    endpoint, client = ec2
    _, driver = new_driver(store, endpoint)
    await driver.pre_create_check()
    await driver.create(Reporter())
    assert await driver.state() == State.RUNNING
    await driver.stop()
    assert await driver.state() in (State.STOPPING, State.STOPPED)
    assert await driver.state() == State.STOPPED
    with pytest.raises(MachineError, match="Host is not running"):
        await driver.get_url()
    await driver.start()
    assert await driver.state() in (State.STARTING, State.RUNNING)
    await driver.kill()
    assert await driver.state() in (State.STOPPING, State.STOPPED)
    await driver.start()
    await driver.restart()
    assert await driver.state() == State.RUNNING


async def test_rm_removes_instance_and_key_pair_and_an_instance_deleted_behind_its_back(store, ec2):
    endpoint, client = ec2
    _, driver = new_driver(store, endpoint)
    await driver.pre_create_check()
    await driver.create(Reporter())
    await driver.remove()
    assert not live(client, "aws1")
    assert not client.describe_key_pairs(Filters=[{"Name": "key-name", "Values": ["aws1"]}])["KeyPairs"]
    _, other = new_driver(store, endpoint, "aws2")
    await other.pre_create_check()
    await other.create(Reporter())
    client.terminate_instances(InstanceIds=[other.instance_id])
    client.describe_instances(InstanceIds=[other.instance_id])  # moto finishes the termination at the next call
    with pytest.raises(VMMissing):
        await other.state()
    await other.remove()  # nothing left to terminate: fine


@pytest.mark.parametrize("code", ["InsufficientInstanceCapacity", "UnauthorizedOperation"])
async def test_a_failed_launch_removes_what_the_create_made_and_says_what_to_do(store, ec2, code):
    from machine_tui.core.drivers.amazonec2 import Ec2Error

    endpoint, client = ec2
    _, driver = new_driver(store, endpoint, **{"amazonec2-security-group": ["web-only"]})
    real = driver.call

    async def faulty(operation, **params):  # the fault, injected between the driver and the API
        if operation == "run_instances":
            raise Ec2Error(operation, code, "injected")
        return await real(operation, **params)

    driver.call = faulty
    await driver.pre_create_check()
    with pytest.raises(MachineError) as err:
        await driver.create(Reporter())
    assert code in str(err.value) and ("another --amazonec2-zone" in str(err.value) or "IAM" in str(err.value))
    assert not client.describe_key_pairs(Filters=[{"Name": "key-name", "Values": ["aws1"]}])["KeyPairs"]
    groups = client.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["web-only"]}])
    assert not groups["SecurityGroups"]
    assert not live(client, "aws1")


async def test_a_spot_request_that_cannot_be_fulfilled_leaves_nothing_pending(store, ec2):
    """RunInstances' one-time spot market is fulfilled at once or refused: the refusal is one line with what to do,
    and no spot request, instance, key pair or group stays behind."""
    from machine_tui.core.drivers.amazonec2 import Ec2Error

    endpoint, client = ec2
    _, driver = new_driver(store, endpoint, **{"amazonec2-request-spot-instance": True,
                                              "amazonec2-spot-price": "0.0001"})
    real = driver.call

    async def refused(operation, **params):
        if operation == "run_instances":
            assert params["InstanceMarketOptions"]["MarketType"] == "spot"
            raise Ec2Error(operation, "SpotMaxPriceTooLow", "Your Spot request price of 0.0001 is lower than the "
                                                             "minimum required Spot request fulfillment price")
        return await real(operation, **params)

    driver.call = refused
    await driver.pre_create_check()
    with pytest.raises(MachineError, match=r"SpotMaxPriceTooLow.*raise --amazonec2-spot-price"):
        await driver.create(Reporter())
    assert not live(client, "aws1") and not client.describe_spot_instance_requests()["SpotInstanceRequests"]
    assert not client.describe_key_pairs(Filters=[{"Name": "key-name", "Values": ["aws1"]}])["KeyPairs"]


async def test_an_instance_that_never_runs_is_terminated_and_named(store, ec2, monkeypatch):
    endpoint, client = ec2
    _, driver = new_driver(store, endpoint)
    real = driver.call

    async def stuck(operation, **params):
        answer = await real(operation, **params)
        if operation == "describe_instances":
            for r in answer["Reservations"]:
                for i in r["Instances"]:
                    if i["State"]["Name"] == "running":
                        i["State"]["Name"] = "pending"
        return answer

    driver.call = stuck
    driver.wait_tries, driver.wait_delay = 3, 0.01
    await driver.pre_create_check()
    with pytest.raises(MachineError, match=r"did not run with an address within"):
        await driver.create(Reporter())
    assert not live(client, "aws1")
    assert not client.describe_key_pairs(Filters=[{"Name": "key-name", "Values": ["aws1"]}])["KeyPairs"]


async def test_bad_flags_are_one_line_before_any_call(store, ec2):
    endpoint, _ = ec2
    for flags, said in (({"amazonec2-block-duration-minutes": 60}, "spot blocks on 2022-12-31"),
                        ({"amazonec2-keypair-name": "mine"}, "requires --amazonec2-ssh-keypath"),
                        ({"amazonec2-zone": "zz"}, "a zone is one letter"),
                        ({"amazonec2-tags": "a,b,c"}, "key,value pairs"),
                        ({"amazonec2-open-port": ["99999"]}, "a port is 1 to 65535"),
                        ({"amazonec2-access-key": "AKID"}, "go together")):
        with pytest.raises(MachineError, match=re.escape(said)):
            new_driver(store, endpoint, **flags)


async def test_a_key_pair_of_the_machines_name_or_a_missing_vpc_stops_the_precreate_check(store, ec2, tmp_path):
    endpoint, client = ec2
    from machine_tui.core.sshkeys import make_key_pair

    with open(make_key_pair(str(tmp_path / "k")) + ".pub", "rb") as fh:
        client.import_key_pair(KeyName="taken", PublicKeyMaterial=fh.read())
    _, driver = new_driver(store, endpoint, "taken")
    with pytest.raises(MachineError, match="already a key pair named taken"):
        await driver.pre_create_check()
    _, driver = new_driver(store, endpoint, "novpc", **{"amazonec2-vpc-id": "vpc-12345678"})
    with pytest.raises(MachineError, match="has no subnet in us-east-1a"):
        await driver.pre_create_check()


def test_cli_rm_of_a_machine_whose_instance_is_gone_succeeds(store, ec2, cli):
    """A store entry whose instance was deleted in the console: rm removes the folder and exits 0."""
    endpoint, client = ec2
    host, driver = new_driver(store, endpoint, "gone")
    driver.instance_id = "i-0123456789abcdef0"
    Store(store).save(host)
    r = cli("rm", "-y", "gone")
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(os.path.join(store, "machines", "gone"))


async def test_the_default_image_comes_from_an_ssm_parameter_and_its_absence_is_one_line(store, ec2, monkeypatch):
    from machine_tui.core.drivers.amazonec2 import DEFAULT_IMAGE_PARAMETER

    endpoint, client = ec2
    _, driver = new_driver(store, endpoint, **{"amazonec2-ami": ""})
    with pytest.raises(MachineError, match=re.escape(f"finding the default image ({DEFAULT_IMAGE_PARAMETER})")):
        await driver.pre_create_check()  # moto has no /aws/service parameters: nothing is made before this fails
    assert not client.describe_key_pairs()["KeyPairs"] and not live(client, "aws1")
    # the same lookup on a parameter of one's own (moto refuses writing /aws/ names)
    boto3.client("ssm", region_name="us-east-1", endpoint_url=endpoint).put_parameter(
        Name="/images/ubuntu-lts", Value="ami-785db401", Type="String")
    monkeypatch.setenv("MACHINE_TUI_AMAZONEC2_IMAGE_PARAMETER", "/images/ubuntu-lts")
    _, driver = new_driver(store, endpoint, "aws2", **{"amazonec2-ami": ""})
    await driver.pre_create_check()
    await driver.create(Reporter())
    assert driver.ami == "ami-785db401" and live(client, "aws2")[0]["ImageId"] == driver.ami
    assert driver.ssh_user() == "ubuntu"


# docker-machine 0.16.2's amazonec2 Driver fields, in its struct order (the project's cloud-API reference, §1.2)
DOCKER_MACHINE_FIELDS = [
    "IPAddress", "MachineName", "SSHUser", "SSHPort", "SSHKeyPath", "StorePath", "SwarmMaster", "SwarmHost",
    "SwarmDiscovery", "Id", "AccessKey", "SecretKey", "SessionToken", "Region", "AMI", "SSHKeyID", "ExistingKey",
    "KeyName", "InstanceId", "InstanceType", "PrivateIPAddress", "SecurityGroupId", "SecurityGroupIds",
    "SecurityGroupName", "SecurityGroupNames", "SecurityGroupReadOnly", "OpenPorts", "Tags", "ReservationId",
    "DeviceName", "RootSize", "VolumeType", "IamInstanceProfile", "VpcId", "SubnetId", "Zone", "RequestSpotInstance",
    "SpotPrice", "BlockDurationMinutes", "PrivateIPOnly", "UsePrivateIP", "UseEbsOptimizedInstance", "Monitoring",
    "SSHPrivateKeyPath", "RetryCount", "Endpoint", "DisableSSL", "UserDataFile"]


def test_config_json_has_docker_machines_fields_in_its_order():
    from machine_tui.core.drivers.amazonec2 import AmazonEC2Driver

    assert list(AmazonEC2Driver.new_config("m", "/s")) == DOCKER_MACHINE_FIELDS


def test_a_store_docker_machine_wrote_is_listed_and_removed(tmp_path, ec2, cli, store, monkeypatch):
    """docker-machine kept the keys in config.json and had no endpoint: boto3 finds moto through
    AWS_ENDPOINT_URL_EC2, as it would find any endpoint a user sets. The instance is stopped: `ls` asks EC2 for
    its state and, as for any stopped host, dials nothing."""
    endpoint, client = ec2
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", endpoint)
    vpc = client.describe_vpcs()["Vpcs"][0]["VpcId"]
    client.import_key_pair(KeyName="dm1", PublicKeyMaterial=_public_key(tmp_path))
    instance = client.run_instances(ImageId="ami-785db401", MinCount=1, MaxCount=1, KeyName="dm1",
                                    InstanceType="t2.micro")["Instances"][0]["InstanceId"]
    client.stop_instances(InstanceIds=[instance])
    machine = os.path.join(store, "machines", "dm1")
    os.makedirs(machine, mode=0o700)
    fields = {k: "" for k in DOCKER_MACHINE_FIELDS}
    fields.update(IPAddress="54.214.1.2", MachineName="dm1", SSHUser="ubuntu", SSHPort=22,
                  SSHKeyPath=os.path.join(machine, "id_rsa"), StorePath=store, SwarmMaster=False,
                  Id="0123456789abcdef", AccessKey="AKIDEXAMPLE", SecretKey="secret-in-config",
                  Region="us-east-1", AMI="ami-785db401", SSHKeyID=0, ExistingKey=False, KeyName="dm1",
                  InstanceId=instance, InstanceType="t2.micro", SecurityGroupIds=["sg-1"],
                  SecurityGroupNames=["docker-machine"], SecurityGroupReadOnly=False, OpenPorts=None,
                  DeviceName="/dev/sda1", RootSize=16, VolumeType="gp2", VpcId=vpc, Zone="a",
                  RequestSpotInstance=False, SpotPrice="0.50", BlockDurationMinutes=0, PrivateIPOnly=False,
                  UsePrivateIP=False, UseEbsOptimizedInstance=False, Monitoring=False, RetryCount=5,
                  DisableSSL=False)
    with open(os.path.join(FIXTURE_STORE, "machines", "gen1", "config.json")) as fh:
        doc = json.load(fh)
    doc.update(Driver=fields, DriverName="amazonec2", Name="dm1")
    with open(os.path.join(machine, "config.json"), "w") as fh:
        json.dump(doc, fh, indent=4)
    rows = cli("ls").stdout.splitlines()
    assert rows[1].split()[:4] == ["dm1", "-", "amazonec2", "Stopped"], rows
    assert '"SecretKey": "secret-in-config"' in cli("inspect", "dm1").stdout  # read as written
    r = cli("rm", "-y", "dm1")
    assert r.returncode == 0, r.stderr
    assert client.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["State"][
        "Name"] in ("shutting-down", "terminated")
    assert not client.describe_key_pairs(Filters=[{"Name": "key-name", "Values": ["dm1"]}])["KeyPairs"]
    assert not os.path.exists(machine)


FIXTURE_STORE = os.path.join(os.path.dirname(FIXTURE), "..", "..", "store-after-create-generic")


def _public_key(tmp_path) -> bytes:
    from machine_tui.core.sshkeys import make_key_pair

    with open(make_key_pair(str(tmp_path / "dmkey")) + ".pub", "rb") as fh:
        return fh.read()


class ThrottlingProxy:
    """Between the driver and moto: answers the first `throttled` calls of one EC2 action with an AWS error
    (RequestLimitExceeded, HTTP 503, unless told another: a real cloud's NotFound right after a create, a Duplicate
    of a racing create), forwards everything else. `first`, if given, runs before each such answer (the racing
    create, made for real)."""

    def __init__(self, upstream: str, action: str, throttled: int, code: str = "RequestLimitExceeded",
                 status: int = 503, first=None, message: str = "Request limit exceeded."):
        import http.server
        import threading

        proxy = self
        self.upstream, self.action, self.left, self.seen = upstream, action, throttled, []
        self.code, self.status, self.first, self.message = code, status, first, message

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = urllib.parse.parse_qs(body.decode()).get("Action", [""])[0]
                proxy.seen.append(action)
                if action == proxy.action and proxy.left > 0:
                    proxy.left -= 1
                    if proxy.first is not None:
                        proxy.first(body)
                    self._reply(proxy.status, f"<Response><Errors><Error><Code>{proxy.code}</Code><Message>"
                                              f"{proxy.message}</Message></Error></Errors>"
                                              "<RequestID>r</RequestID></Response>".encode())
                    return
                request = urllib.request.Request(proxy.upstream + self.path, data=body, method="POST",
                                                 headers={k: v for k, v in self.headers.items() if k != "Host"})
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        self._reply(answer.status, answer.read())
                except urllib.error.HTTPError as err:
                    self._reply(err.code, err.read())

            def _reply(self, status, data):
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


async def test_throttling_is_retried_with_backoff_and_without_retries_is_one_line(store, ec2):
    endpoint, client = ec2
    proxy = ThrottlingProxy(endpoint, "RunInstances", 2)
    try:
        _, driver = new_driver(store, proxy.url)
        await driver.pre_create_check()
        steps = Steps()
        await driver.create(steps)
        assert proxy.seen.count("RunInstances") == 3 and len(live(client, "aws1")) == 1
        assert [line for line in steps.lines if "retrying" in line] == [
            "EC2 RunInstances: RequestLimitExceeded, retrying with backoff (1 of 5 retries)",
            "EC2 RunInstances: RequestLimitExceeded, retrying with backoff (2 of 5 retries)"]
        proxy.left = 1
        _, driver = new_driver(store, proxy.url, "aws2", **{"amazonec2-retries": 0})
        await driver.pre_create_check()
        with pytest.raises(MachineError, match="EC2 run_instances: RequestLimitExceeded: Request limit exceeded"):
            await driver.create(Reporter())
        assert not live(client, "aws2")
        assert not client.describe_key_pairs(Filters=[{"Name": "key-name", "Values": ["aws2"]}])["KeyPairs"]
    finally:
        proxy.close()


async def test_a_spot_create_launches_a_spot_instance_and_rm_leaves_nothing(store, ec2):
    endpoint, client = ec2
    _, driver = new_driver(store, endpoint, **{"amazonec2-request-spot-instance": True,
                                              "amazonec2-spot-price": "0.02"})
    await driver.pre_create_check()
    await driver.create(Reporter())
    [instance] = live(client, "aws1")
    assert instance.get("InstanceLifecycle") == "spot"
    await driver.remove()
    assert not live(client, "aws1")
    assert not client.describe_spot_instance_requests()["SpotInstanceRequests"]  # none to cancel: one-time market


async def created_through(proxy, store, name):
    """A create whose API calls go through a fault proxy; its waits short. (driver, its steps)."""
    _, driver = new_driver(store, proxy.url, name)
    driver.wait_delay = 0.05
    await driver.pre_create_check()
    steps = Steps()
    await driver.create(steps)
    return driver, steps


async def test_an_instance_not_visible_yet_after_launch_is_waited_for_never_undone(store, ec2):
    """EC2 is eventually consistent: DescribeInstances may say InvalidInstanceID.NotFound for an instance
    RunInstances just returned. The create waits it out; the instance is kept (docker-machine survives it too)."""
    endpoint, client = ec2
    proxy = ThrottlingProxy(endpoint, "DescribeInstances", 3, code="InvalidInstanceID.NotFound", status=400)
    try:
        driver, steps = await created_through(proxy, store, "aws1")
        [instance] = live(client, "aws1")
        assert driver.instance_id == instance["InstanceId"] and "TerminateInstances" not in proxy.seen
        assert any("not visible to the API yet" in line for line in steps.lines), steps.lines
    finally:
        proxy.close()


async def test_a_group_not_visible_yet_or_made_by_a_racing_create_is_used_not_failed(store, ec2):
    endpoint, client = ec2
    # right after CreateSecurityGroup, AuthorizeSecurityGroupIngress may not find it yet
    proxy = ThrottlingProxy(endpoint, "AuthorizeSecurityGroupIngress", 2, code="InvalidGroup.NotFound", status=400)
    try:
        await created_through(proxy, store, "aws1")
        assert len(live(client, "aws1")) == 1 and proxy.seen.count("AuthorizeSecurityGroupIngress") == 3
    finally:
        proxy.close()
    client.terminate_instances(InstanceIds=[i["InstanceId"] for i in live(client, "aws1")])
    client.delete_security_group(GroupName="docker-machine")

    # another create made the shared group between this one's look and its CreateSecurityGroup: Duplicate
    def the_other_create(_body):
        vpc = client.describe_vpcs()["Vpcs"][0]["VpcId"]
        client.create_security_group(GroupName="docker-machine", Description="made by the other create", VpcId=vpc)

    proxy = ThrottlingProxy(endpoint, "CreateSecurityGroup", 1, code="InvalidGroup.Duplicate", status=400,
                            first=the_other_create)
    try:
        driver, _ = await created_through(proxy, store, "aws2")
        [instance] = live(client, "aws2")
        [group] = client.describe_security_groups(GroupNames=["docker-machine"])["SecurityGroups"]
        assert group["Description"] == "made by the other create"
        assert driver.security_group_ids == [group["GroupId"]]  # theirs, by id: the instance was launched in it
        assert "group" not in driver.config.get("MadeSecurityGroup", "") and not driver.made_security_group
    finally:
        proxy.close()


async def test_no_credentials_at_all_is_said_as_such_not_as_a_missing_image(store, ec2, monkeypatch):
    endpoint, _client = ec2
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    _, driver = new_driver(store, endpoint, **{"amazonec2-ami": ""})
    with pytest.raises(MachineError) as caught:
        await driver.pre_create_check()
    assert "no AWS credentials: set AWS_ACCESS_KEY_ID" in str(caught.value) and "--amazonec2-ami" not in str(caught.value)


async def test_without_the_ssm_parameter_the_default_image_is_canonicals_newest_by_name(store, ec2, monkeypatch):
    """Minimal IAM policies lack ssm:GetParameter: the image is then found with DescribeImages, by Canonical's owner
    id and the release's name. (moto has no /aws/service parameter, and of Canonical's images only old ones: the
    name is pointed at one of those.)"""
    from machine_tui.core.drivers import amazonec2

    endpoint, client = ec2
    monkeypatch.setattr(amazonec2, "DEFAULT_IMAGE_NAME", "ubuntu/images/hvm-ssd/ubuntu-xenial-16.04-amd64-server-*")
    [xenial] = client.describe_images(Owners=[amazonec2.CANONICAL_OWNER], Filters=[
        {"Name": "name", "Values": [amazonec2.DEFAULT_IMAGE_NAME]}])["Images"]
    _, driver = new_driver(store, endpoint, **{"amazonec2-ami": ""})
    await driver.pre_create_check()
    assert driver.ami == xenial["ImageId"]


async def test_the_root_volume_is_the_images_own_root_device(store, ec2):
    """An image whose root is /dev/xvda gets its root size there, not a second volume at /dev/sda1."""
    endpoint, client = ec2
    image = "ami-760aaa0f"  # moto's Amazon Linux image, rooted at /dev/xvda (moto ignores a registered root name)
    assert client.describe_images(ImageIds=[image])["Images"][0]["RootDeviceName"] == "/dev/xvda"
    host, driver = operations.build_host(Store(store), "aws1", "amazonec2", {
        "amazonec2-endpoint": endpoint, "amazonec2-ami": image, "amazonec2-root-size": 30},
        operations.TLSFiles(), explicit={"amazonec2-endpoint", "amazonec2-ami", "amazonec2-root-size"})
    os.makedirs(os.path.join(store, "machines", "aws1"), exist_ok=True)
    await driver.pre_create_check()
    assert driver.device_name == "/dev/xvda"
    await driver.create(Reporter())
    [instance] = live(client, "aws1")
    assert [m["DeviceName"] for m in instance["BlockDeviceMappings"]] == ["/dev/xvda"]


def _keys_of_another_account(endpoint: str, account: str = "111111111111") -> tuple[str, str]:
    """An access key of an IAM user in another account of moto's (its requests name the account)."""
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=endpoint)
    iam.meta.events.register("before-sign.iam.*", lambda request, **_: request.headers.add_header(
        "x-moto-account-id", account))
    iam.create_user(UserName="other")
    key = iam.create_access_key(UserName="other")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


async def test_a_machine_is_bound_to_its_account_and_another_accounts_credentials_touch_nothing(store, ec2, cli):
    """Created under account A, the machine records A's id. With account B's credentials in force, rm (even -f)
    refuses and names A, ls says the machine is in A instead of calling it gone, and the instance keeps running."""
    endpoint, client = ec2
    host, driver = new_driver(store, endpoint, "bound")
    driver.keep_journal(Store(store).identity(), lambda: Store(store).save(host))
    await driver.pre_create_check()
    await driver.create(Reporter())
    Store(store).save(host)
    with open(os.path.join(store, "machines", "bound", "config.json")) as fh:
        assert json.load(fh)["Driver"]["Account"] == "123456789012"
    key, secret = _keys_of_another_account(endpoint)
    other = {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
    for args in (("rm", "-y", "bound"), ("rm", "-f", "bound")):
        r = cli(*args, **other)
        assert r.returncode == 1, r.stderr
        assert r.stderr == ('Error removing host "bound": the machine is in AWS account 123456789012, and the '
                            "credentials in force are account 111111111111's: nothing was touched (use "
                            "123456789012's credentials)\n")
    r = cli("ls", "--format", "{{.Name}} {{.State}} {{.Error}}", **other)
    assert r.stdout.startswith("bound Error the machine is in AWS account 123456789012"), r.stdout
    assert [i["State"]["Name"] for i in live(client, "bound")] == ["running"]
    assert os.path.isdir(os.path.join(store, "machines", "bound"))
    r = cli("rm", "-y", "bound")  # the machine's own account
    assert r.returncode == 0, r.stderr
    assert not live(client, "bound")


async def test_ls_over_ten_machines_of_a_region_is_one_request(store, ec2, cli):
    """docker-machine (and we, before) asked EC2 twice per machine, each with a new client: 10 machines are now one
    DescribeInstances. The instances are stopped, so that ls dials no engine at moto's public-looking addresses."""
    endpoint, client = ec2
    proxy = ThrottlingProxy(endpoint, "None", 0)
    try:
        for n in range(10):
            host, driver = new_driver(store, proxy.url, f"m{n}")
            driver.wait_delay = 0.01
            await driver.pre_create_check()
            await driver.create(Reporter())
            Store(store).save(host)
            client.stop_instances(InstanceIds=[driver.instance_id])
        client.describe_instances()
        proxy.seen.clear()
        r = cli("ls", "--format", "{{.Name}} {{.State}}")
        assert r.stdout.split("\n")[:10] == [f"m{n} Stopped" for n in range(10)], r.stderr
        assert proxy.seen == ["DescribeInstances"]
    finally:
        proxy.close()


async def test_the_instance_metadata_service_takes_tokens_only_with_a_hop_for_containers(store, ec2):
    """IMDSv2 by default (a token, no v1 answers), with the hop limit that lets containers on the host reach it;
    optional and another limit on request, as rancher-machine's flags give them."""
    endpoint, client = ec2
    _, driver = new_driver(store, endpoint)
    driver.wait_delay = 0.01
    await driver.pre_create_check()
    await driver.create(Reporter())
    [instance] = live(client, "aws1")
    options = instance["MetadataOptions"]
    assert (options["HttpTokens"], options["HttpPutResponseHopLimit"], options["HttpEndpoint"]) == \
        ("required", 2, "enabled")
    _, driver = new_driver(store, endpoint, "aws2", **{"amazonec2-metadata-token": "optional",
                                                      "amazonec2-metadata-token-response-hop-limit": 1})
    driver.wait_delay = 0.01
    await driver.pre_create_check()
    await driver.create(Reporter())
    [instance] = live(client, "aws2")
    assert (instance["MetadataOptions"]["HttpTokens"], instance["MetadataOptions"]["HttpPutResponseHopLimit"]) == \
        ("optional", 1)
    with pytest.raises(MachineError, match="amazonec2-metadata-token"):
        new_driver(store, endpoint, "aws3", **{"amazonec2-metadata-token": "sometimes"})
