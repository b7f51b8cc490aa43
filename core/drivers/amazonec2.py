"""The amazonec2 driver, on boto3: docker-machine's flags, fields and call sequence, with today's defaults.

Beyond docker-machine:
- The default image is looked up at create from the public SSM parameter Canonical publishes (Ubuntu 24.04 LTS)
  instead of a 2018 table of Ubuntu 16.04 AMIs.
- A failed create removes everything it made: the instance, the imported key pair, and a security group it created.
- Credentials given on the environment, in ~/.aws or by an instance role are resolved at run time by boto3's own
  chain and never written to config.json. Only keys passed as flags are kept, as docker-machine keeps them.
- Spot instances use RunInstances' market options: spot blocks (--amazonec2-block-duration-minutes) ended in 2022."""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import TYPE_CHECKING, Any

from ..errors import HostNotRunning, MachineError, PreCreateError, VMMissing
from ..extras import missing_extra
from ..flags import PORT, Flag, http_url_problem
from ..states import State
from .base import Setting, gather_choices, show_retry
from .cloud import MACHINE_TAG, STORE_TAG, CloudDriver, Leftover

if TYPE_CHECKING:
    from ..choices import Choice

DEFAULT_IMAGE_PARAMETER = "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"
# without ssm:GetParameter (minimal IAM policies lack it): Canonical's own images, found by owner and name
CANONICAL_OWNER = "099720109477"
DEFAULT_IMAGE_NAME = "ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-amd64-server-*"
GROUP_DESCRIPTION = "Docker Machine"
ENGINE_PORT = 2376
# botocore's throttling codes (retries/standard.py), retried with backoff
THROTTLED = {"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
             "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
             "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
             "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException"}
SWARM_PORT = 3376
STATES = {"pending": State.STARTING, "running": State.RUNNING, "stopping": State.STOPPING,
          "shutting-down": State.STOPPING, "stopped": State.STOPPED}
_B, _L = "bool", "list"

FLAGS = [
    Flag("amazonec2-access-key", "AWS Access Key (kept in config.json only when given as this flag)",
         env="AWS_ACCESS_KEY_ID", secret=True),
    Flag("amazonec2-ami", "AWS machine image (default: the current Ubuntu LTS, from its public SSM parameter)",
         env="AWS_AMI"),
    Flag("amazonec2-block-duration-minutes", "AWS spot instance duration in minutes (60, 120, 180, 240, 300, or 360; "
         "refused: AWS ended spot blocks in 2022)", "int", 0),
    Flag("amazonec2-device-name", "AWS root device name", default="/dev/sda1", env="AWS_DEVICE_NAME"),
    Flag("amazonec2-endpoint", "Optional endpoint URL (hostname only or fully qualified URI)", env="AWS_ENDPOINT"),
    Flag("amazonec2-iam-instance-profile", "AWS IAM Instance Profile", env="AWS_INSTANCE_PROFILE"),
    Flag("amazonec2-insecure-transport", "Disable SSL when sending requests", _B, False, "AWS_INSECURE_TRANSPORT"),
    Flag("amazonec2-instance-type", "AWS instance type", default="t3.micro", env="AWS_INSTANCE_TYPE"),
    Flag("amazonec2-keypair-name", "AWS keypair to use; requires --amazonec2-ssh-keypath", env="AWS_KEYPAIR_NAME"),
    Flag("amazonec2-metadata-token", "Instance metadata (IMDS) tokens: required (IMDSv2 only) or optional (v1 too)",
         default="required", env="AWS_METADATA_TOKEN", choices=("required", "optional")),
    Flag("amazonec2-metadata-token-response-hop-limit", "IMDS response hop limit (2 lets containers on the host "
         "reach it)", "int", 2, "AWS_METADATA_TOKEN_RESPONSE_HOP_LIMIT", bounds=(1, 64)),
    Flag("amazonec2-monitoring", "Set this flag to enable CloudWatch monitoring", _B, False),
    Flag("amazonec2-open-port", "Make the specified port number accessible from the Internet", _L),
    Flag("amazonec2-private-address-only", "Only use a private IP address", _B, False),
    Flag("amazonec2-region", "AWS region", default="us-east-1", env="AWS_DEFAULT_REGION"),
    Flag("amazonec2-request-spot-instance", "Set this flag to request spot instance", _B, False),
    Flag("amazonec2-retries", "Set retry count for recoverable failures (use -1 to disable)", "int", 5,
         bounds=(-1, 100)),
    Flag("amazonec2-root-size", "AWS root disk size (in GB)", "int", 16, "AWS_ROOT_SIZE", bounds=(1, 65536)),
    Flag("amazonec2-secret-key", "AWS Secret Key (kept in config.json only when given as this flag)",
         env="AWS_SECRET_ACCESS_KEY", secret=True),
    Flag("amazonec2-security-group", "AWS VPC security group", _L, env="AWS_SECURITY_GROUP"),
    Flag("amazonec2-security-group-readonly", "Skip adding default rules to security groups", _B, False,
         "AWS_SECURITY_GROUP_READONLY"),
    Flag("amazonec2-session-token", "AWS Session Token (kept in config.json only when given as this flag)",
         env="AWS_SESSION_TOKEN", secret=True),
    Flag("amazonec2-spot-price", "AWS spot instance bid price (in dollar)", default="0.50"),
    Flag("amazonec2-ssh-keypath", "SSH Key for Instance", env="AWS_SSH_KEYPATH"),
    Flag("amazonec2-ssh-port", "SSH port", "int", 22, "AWS_SSH_PORT", bounds=PORT),
    Flag("amazonec2-ssh-user", "SSH username", default="ubuntu", env="AWS_SSH_USER"),
    Flag("amazonec2-subnet-id", "AWS VPC subnet id", env="AWS_SUBNET_ID"),
    Flag("amazonec2-tags", "AWS Tags (e.g. key1,value1,key2,value2)", env="AWS_TAGS"),
    Flag("amazonec2-use-ebs-optimized-instance", "Create an EBS optimized instance", _B, False),
    Flag("amazonec2-use-private-address", "Force the usage of private IP address", _B, False),
    Flag("amazonec2-userdata", "path to file with cloud-init user data", env="AWS_USERDATA"),
    Flag("amazonec2-volume-type", "Amazon EBS volume type", default="gp3", env="AWS_VOLUME_TYPE"),
    Flag("amazonec2-vpc-id", "AWS VPC id", env="AWS_VPC_ID"),
    Flag("amazonec2-zone", "AWS zone for instance (i.e. a,b,c,d,e)", default="a", env="AWS_ZONE"),
]
CREDENTIAL_FLAGS = ("amazonec2-access-key", "amazonec2-secret-key", "amazonec2-session-token")


class AmazonEC2Driver(CloudDriver):
    """Fields in docker-machine's order (dm/drivers/amazonec2), so its stores load and ours load in it."""

    name = "amazonec2"
    provider = "AWS"
    summary = "an EC2 instance on Amazon Web Services (needs machine-tui[aws])"
    essential_flags = ("amazonec2-region", "amazonec2-instance-type", "amazonec2-ami", "amazonec2-access-key",
                       "amazonec2-secret-key", "amazonec2-zone", "amazonec2-root-size")
    obsolete_flags = ("amazonec2-block-duration-minutes",)
    needs = ("botocore", "aws")
    flags = FLAGS

    ssh_user_setting = Setting("SSHUser", str, flag="amazonec2-ssh-user")
    ssh_port_setting = Setting("SSHPort", int, flag="amazonec2-ssh-port")
    id = Setting("Id", str, "")
    access_key = Setting("AccessKey", str, flag="amazonec2-access-key")
    secret_key = Setting("SecretKey", str, flag="amazonec2-secret-key")
    session_token = Setting("SessionToken", str, flag="amazonec2-session-token")
    region = Setting("Region", str, flag="amazonec2-region")
    ami = Setting("AMI", str, flag="amazonec2-ami")
    ssh_key_id = Setting("SSHKeyID", int, 0)  # unused, as in docker-machine
    existing_key = Setting("ExistingKey", bool, False)
    key_name = Setting("KeyName", str, flag="amazonec2-keypair-name")
    instance_id = Setting("InstanceId", str, "")
    instance_type = Setting("InstanceType", str, flag="amazonec2-instance-type")
    private_ip_address = Setting("PrivateIPAddress", str, "")
    security_group_id = Setting("SecurityGroupId", str, "")  # the singular fields: old configs only
    security_group_ids = Setting("SecurityGroupIds", list, [])
    security_group_name = Setting("SecurityGroupName", str, "")
    security_group_names = Setting("SecurityGroupNames", list, flag="amazonec2-security-group")
    security_group_readonly = Setting("SecurityGroupReadOnly", bool, flag="amazonec2-security-group-readonly")
    open_ports = Setting("OpenPorts", list, flag="amazonec2-open-port")
    tags = Setting("Tags", str, flag="amazonec2-tags")
    reservation_id = Setting("ReservationId", str, "")
    device_name = Setting("DeviceName", str, flag="amazonec2-device-name")
    root_size = Setting("RootSize", int, flag="amazonec2-root-size")
    volume_type = Setting("VolumeType", str, flag="amazonec2-volume-type")
    iam_instance_profile = Setting("IamInstanceProfile", str, flag="amazonec2-iam-instance-profile")
    vpc_id = Setting("VpcId", str, flag="amazonec2-vpc-id")
    subnet_id = Setting("SubnetId", str, flag="amazonec2-subnet-id")
    zone = Setting("Zone", str, flag="amazonec2-zone")
    request_spot_instance = Setting("RequestSpotInstance", bool, flag="amazonec2-request-spot-instance")
    spot_price = Setting("SpotPrice", str, flag="amazonec2-spot-price")
    block_duration_minutes = Setting("BlockDurationMinutes", int, flag="amazonec2-block-duration-minutes")
    private_ip_only = Setting("PrivateIPOnly", bool, flag="amazonec2-private-address-only")
    use_private_ip = Setting("UsePrivateIP", bool, flag="amazonec2-use-private-address")
    use_ebs_optimized = Setting("UseEbsOptimizedInstance", bool, flag="amazonec2-use-ebs-optimized-instance")
    monitoring = Setting("Monitoring", bool, flag="amazonec2-monitoring")
    ssh_private_key_path = Setting("SSHPrivateKeyPath", str, flag="amazonec2-ssh-keypath")
    retry_count = Setting("RetryCount", int, flag="amazonec2-retries")
    endpoint = Setting("Endpoint", str, flag="amazonec2-endpoint")
    disable_ssl = Setting("DisableSSL", bool, flag="amazonec2-insecure-transport")
    user_data_file = Setting("UserDataFile", str, flag="amazonec2-userdata")
    # beyond docker-machine (as rancher-machine has them): the instance metadata service's options
    metadata_token = Setting("HttpTokens", str, flag="amazonec2-metadata-token", written_at_create=False)
    metadata_hop_limit = Setting("HttpPutResponseHopLimit", int, flag="amazonec2-metadata-token-response-hop-limit",
                                 written_at_create=False)
    # beyond docker-machine: a security group this machine's create made (removed if that create fails)
    made_security_group = Setting("MadeSecurityGroup", str, "", written_at_create=False)
    # RunInstances' idempotency token, journaled before the call: the instance it makes is found by it even when
    # the answer never arrived
    client_token = Setting("ClientToken", str, "", written_at_create=False)

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self._client: Any = None
        self._seen: dict[str, Any] | None = None  # the instance as a listing of many machines showed it
        self.wait_tries, self.wait_delay = 60, 3.0  # for the instance to run with an address, as docker-machine

    # ----- configuration
    def set_config_from_flags(self, opts: dict[str, Any]) -> None:
        super().set_config_from_flags(opts)
        given = self.flags_given
        for flag, setting in zip(CREDENTIAL_FLAGS, ("access_key", "secret_key", "session_token"), strict=True):
            # a key from the environment or ~/.aws is resolved at run time, never written to the store
            if given is not None and flag not in given:
                setattr(self, setting, "")
        if bool(self.access_key) != bool(self.secret_key):
            raise MachineError("--amazonec2-access-key and --amazonec2-secret-key go together: give both, or neither "
                               "(boto3 then finds credentials in the environment, ~/.aws or an instance role)")
        if self.endpoint:
            problem = http_url_problem(self.endpoint)
            if problem:
                raise MachineError(f"--amazonec2-endpoint {self.endpoint!r}: {problem}")
        if self.block_duration_minutes:
            raise MachineError("--amazonec2-block-duration-minutes: AWS ended spot blocks on 2022-12-31; "
                               "use --amazonec2-request-spot-instance without a duration")
        if self.key_name and not self.ssh_private_key_path:
            raise MachineError("using --amazonec2-keypair-name also requires --amazonec2-ssh-keypath")
        if self.ssh_private_key_path:
            self.ssh_private_key_path = os.path.abspath(os.path.expanduser(self.ssh_private_key_path))
        if self.user_data_file:
            self.user_data_file = os.path.abspath(os.path.expanduser(self.user_data_file))
            if not os.path.isfile(self.user_data_file):
                raise MachineError(f"--amazonec2-userdata {self.user_data_file}: no such file")
        for port in self.open_ports:
            number = str(port).split("/")[0]
            if not number.isdigit() or not 1 <= int(number) <= 65535:
                raise MachineError(f'invalid value "{port}" for flag --amazonec2-open-port: a port is 1 to 65535')
        if len(self.zone) != 1 or not self.zone.isalpha():
            raise MachineError(f'--amazonec2-zone "{self.zone}": a zone is one letter (a, b, c...)')
        pairs = [p for p in self.tags.split(",")] if self.tags else []
        if len(pairs) % 2:
            raise MachineError(f'--amazonec2-tags "{self.tags}": give key,value pairs')
        if not self.security_group_names:
            self.security_group_names = ["docker-machine"]
        self.existing_key = bool(self.key_name)
        if not self.key_name:
            self.key_name = self.machine_name
        if self.private_ip_only:
            self.use_private_ip = True
        if not self.id:
            self.id = secrets.token_hex(16)  # docker-machine's random driver id

    # ----- the API
    def client(self, service: str = "ec2") -> Any:
        """A botocore client of the machine's region and endpoint (EC2, or SSM for the default image); credentials
        from the flags if they were given, else boto3's own chain."""
        if service == "ec2" and self._client is not None:
            return self._client
        key = (service, *self.shared_reads(), self.retry_count)
        if key in _CLIENTS:  # a client is costly to make (some 50 ms), and safe to share between threads
            client: Any = _CLIENTS[key]
            if service == "ec2":
                self._client = client
            return client
        try:
            # botocore's own session, not boto3's: boto3 brings s3transfer along, some 200 ms of every `ls`
            import botocore.session
            from botocore.config import Config
        except ImportError:
            raise missing_extra("the amazonec2 driver", "aws") from None
        session = botocore.session.get_session()
        endpoint = self.endpoint or None  # an EC2-compatible API of one's own answers SSM too (moto does)
        if endpoint and "://" not in endpoint:
            endpoint = ("http://" if self.disable_ssl else "https://") + endpoint
        retries = {"max_attempts": max(0, self.retry_count), "mode": "standard"}  # retries; throttling backs off
        # the Price List API answers in us-east-1 for every region
        region = "us-east-1" if service == "pricing" else self.region
        client = session.create_client(
            service, endpoint_url=endpoint, use_ssl=not self.disable_ssl, region_name=region,
            aws_access_key_id=self.access_key or None, aws_secret_access_key=self.secret_key or None,
            aws_session_token=self.session_token or None, config=Config(
                retries=retries, connect_timeout=min(15, self.api_bound), read_timeout=min(30, self.api_bound)))
        client.meta.events.register_first(f"needs-retry.{service}", self._retrying)
        if service == "ec2":
            self._client = client
        _CLIENTS[key] = client
        return client

    def shared_reads(self) -> tuple[Any, ...]:
        env = tuple(os.environ.get(v, "") for v in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                     "AWS_SESSION_TOKEN", "AWS_PROFILE"))
        return (self.endpoint, self.region, self.disable_ssl, self.access_key, self.secret_key, self.session_token,
                *(() if self.access_key else env))

    @classmethod
    async def read_together(cls, drivers: list[CloudDriver]) -> None:
        """One DescribeInstances for the machines of one region and account (a filter, not InstanceIds: one id
        gone would fail the whole call)."""
        mine = [d for d in drivers if isinstance(d, AmazonEC2Driver) and d.instance_id]
        if not mine:
            return
        ids = sorted({d.instance_id for d in mine})
        found: dict[str, Any] = {}
        for start in range(0, len(ids), 200):  # a filter takes at most 200 values
            token = ""
            for _ in range(100):
                page = await mine[0].call("describe_instances", Filters=[
                    {"Name": "instance-id", "Values": ids[start:start + 200]}],
                    **({"NextToken": token} if token else {}))
                found.update({i["InstanceId"]: i for r in page["Reservations"] for i in r["Instances"]})
                token = page.get("NextToken", "")
                if not token:
                    break
        for d in mine:
            d._client = mine[0]._client
            d._seen = found.get(d.instance_id)

    def _retrying(self, response: Any = None, attempts: int = 0, caught_exception: Any = None,
                  operation: Any = None, **_: Any) -> None:
        """Watches botocore's retry decisions (answers nothing, so its own handler decides): a throttled or failed
        attempt that will be retried is shown. Once the call's bound has passed, it ends the call instead: a thread
        left retrying would keep the command from exiting."""
        if self.abandoned():
            raise MachineError("the call's bound passed: no more retries")
        retries = max(0, self.retry_count)
        if attempts > retries:
            return
        if caught_exception is not None:
            why = type(caught_exception).__name__
        else:
            http, parsed = response
            why = (parsed or {}).get("Error", {}).get("Code", "")
            if http.status_code < 500 and why not in THROTTLED:
                return
            why = why or f"HTTP {http.status_code}"
        name = getattr(operation, "name", "EC2")
        show_retry(f"EC2 {name}: {why}, retrying with backoff ({attempts} of {retries} retries)")

    async def call(self, operation: str, **params: Any) -> Any:
        """One EC2 API call in a thread, its failure as one line naming the operation and AWS's own words."""
        BotoCoreError, ClientError, NoCredentialsError = _botocore_errors()

        try:
            return await self.bounded(f"EC2 {operation}", self.endpoint or f"EC2 in {self.region}",
                                      getattr(self.client(), operation), **params)
        except ClientError as err:
            raise Ec2Error(operation, err.response.get("Error", {}).get("Code", ""),
                           err.response.get("Error", {}).get("Message", "")) from None
        except NoCredentialsError:
            raise MachineError(NO_CREDENTIALS) from None
        except BotoCoreError as err:
            raise MachineError(f"EC2 {operation}: {err}") from None

    # ----- live choices for the create form
    @classmethod
    def choice_source(cls, values: dict[str, Any]) -> tuple[str, str]:
        region = values.get("amazonec2-region") or cls.flag_named("amazonec2-region").initial()
        return "Amazon EC2", f"{values.get('amazonec2-endpoint') or ''}|{region}"

    @classmethod
    async def live_choices(cls, values: dict[str, Any]) -> dict[str, list[Choice]]:
        from ..choices import Choice, size_detail

        driver = cls.from_form(values)
        assert isinstance(driver, AmazonEC2Driver)

        async def regions() -> list[Choice]:
            found = (await driver.call("describe_regions"))["Regions"]
            return [Choice(r["RegionName"]) for r in sorted(found, key=lambda r: r["RegionName"])]

        async def zones() -> list[Choice]:
            found = (await driver.call("describe_availability_zones"))["AvailabilityZones"]
            return [Choice(z["ZoneName"][-1], z["ZoneName"]) for z in found if z.get("State") == "available"]

        async def instance_types() -> list[Choice]:
            found: list[dict[str, Any]] = []
            filters = [{"Name": "current-generation", "Values": ["true"]},
                       {"Name": "processor-info.supported-architecture", "Values": ["x86_64"]}]
            token = ""
            for _ in range(10):  # bounded: a region has some 800 types, 100 a page
                page = await driver.call("describe_instance_types", Filters=filters, MaxResults=100,
                                         **({"NextToken": token} if token else {}))
                found += page["InstanceTypes"]
                token = page.get("NextToken", "")
                if not token:
                    break
            prices = await driver._hourly_prices()
            found.sort(key=lambda t: (prices.get(t["InstanceType"], 1e9), t["VCpuInfo"]["DefaultVCpus"],
                                      t["MemoryInfo"]["SizeInMiB"], t["InstanceType"]))
            return [Choice(t["InstanceType"], size_detail(t["VCpuInfo"]["DefaultVCpus"], t["MemoryInfo"]["SizeInMiB"],
                                                          prices.get(t["InstanceType"]))) for t in found]

        async def images() -> list[Choice]:
            default = await driver._default_image()
            owned = (await driver.call("describe_images", Owners=["self"]))["Images"]
            return [Choice(default, "Ubuntu 24.04 LTS, the default")] + [
                Choice(i["ImageId"], i.get("Name", "")) for i in sorted(owned, key=lambda i: i.get("Name", ""))]

        async def vpcs() -> list[Choice]:
            found = (await driver.call("describe_vpcs"))["Vpcs"]
            return [Choice(v["VpcId"], " ".join(filter(None, [v.get("CidrBlock", ""), _name(v),
                                                              "default" if v.get("IsDefault") else ""])))
                    for v in found]

        async def subnets() -> list[Choice]:
            found = (await driver.call("describe_subnets"))["Subnets"]
            return [Choice(n["SubnetId"], f"{n['AvailabilityZone']} {n.get('CidrBlock', '')} {n['VpcId']} "
                                          f"{_name(n)}".strip()) for n in found]

        async def key_pairs() -> list[Choice]:
            found = (await driver.call("describe_key_pairs"))["KeyPairs"]
            return [Choice(k["KeyName"], k.get("KeyType", "")) for k in found]

        async def groups() -> list[Choice]:
            found = (await driver.call("describe_security_groups"))["SecurityGroups"]
            return [Choice(g["GroupName"], f"{g['GroupId']} {g.get('VpcId', '')}".strip()) for g in found]

        return await gather_choices({
            "amazonec2-region": regions(), "amazonec2-zone": zones(), "amazonec2-instance-type": instance_types(),
            "amazonec2-ami": images(), "amazonec2-vpc-id": vpcs(), "amazonec2-subnet-id": subnets(),
            "amazonec2-keypair-name": key_pairs(), "amazonec2-security-group": groups()})

    async def _hourly_prices(self) -> dict[str, float]:
        """On-demand Linux prices of the region from the AWS Price List API; none where it cannot be asked (an
        EC2-compatible API of one's own, a user without pricing:GetProducts, no network): no price is shown."""
        import json

        BotoCoreError, ClientError, _ = _botocore_errors()

        prices: dict[str, float] = {}
        if self.endpoint:
            return prices  # an API of one's own has no AWS price list
        try:
            client = self.client("pricing")
            filters = [{"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in (
                ("regionCode", self.region), ("operatingSystem", "Linux"), ("tenancy", "Shared"),
                ("preInstalledSw", "NA"), ("capacitystatus", "Used"))]
            token = ""
            for _ in range(10):
                page = await asyncio.to_thread(client.get_products, ServiceCode="AmazonEC2", Filters=filters,
                                               MaxResults=100, **({"NextToken": token} if token else {}))
                for item in page.get("PriceList", []):
                    product = json.loads(item)
                    kind = product["product"]["attributes"].get("instanceType", "")
                    for term in product.get("terms", {}).get("OnDemand", {}).values():
                        for dimension in term.get("priceDimensions", {}).values():
                            usd = float(dimension.get("pricePerUnit", {}).get("USD", 0) or 0)
                            if kind and usd:
                                prices[kind] = usd
                token = page.get("NextToken", "")
                if not token:
                    break
        except (BotoCoreError, ClientError, ValueError, KeyError, MachineError):
            pass
        return prices

    # ----- create
    @property
    def availability_zone(self) -> str:
        return self.region + self.zone

    async def account(self) -> str:
        """The AWS account id of the credentials in force (sts:GetCallerIdentity needs no permission)."""
        BotoCoreError, ClientError, NoCredentialsError = _botocore_errors()
        try:
            answer = await self.bounded("STS GetCallerIdentity", self.endpoint or f"STS in {self.region}",
                                        self.client("sts").get_caller_identity)
        except NoCredentialsError:
            raise MachineError(NO_CREDENTIALS) from None
        except (ClientError, BotoCoreError):
            return ""  # an EC2-compatible API without STS: the machine stays unbound
        return str(answer.get("Account", ""))

    async def pre_create_check(self) -> None:
        try:
            await self.bind_account()
            if not self.ami:  # before anything is made
                self.ami = await self._default_image()
            await self._root_device()
            await self._find_network()
            await self._check_key_pair()
        except MachineError as err:
            raise PreCreateError(f'Error with pre-create check: "{err}"') from None

    async def _root_device(self) -> None:
        """The image's own root device, unless one was named: /dev/sda1 (docker-machine's fixed default) on an image
        whose root is /dev/xvda would add a second volume and leave --amazonec2-root-size unused."""
        named = self.flags_given is None or "amazonec2-device-name" in self.flags_given or \
            os.environ.get("AWS_DEVICE_NAME")
        if named:
            return
        try:
            images = (await self.call("describe_images", ImageIds=[self.ami]))["Images"]
        except Ec2Error:
            return  # an image that cannot be described: RunInstances says what is wrong with it
        if images and images[0].get("RootDeviceName"):
            self.device_name = images[0]["RootDeviceName"]

    async def _find_network(self) -> None:
        if self.subnet_id and self.vpc_id:
            subnets = (await self.call("describe_subnets", SubnetIds=[self.subnet_id]))["Subnets"]
            if not subnets or subnets[0]["VpcId"] != self.vpc_id:
                raise MachineError(f"subnet {self.subnet_id} is not in VPC {self.vpc_id}")
            return
        if self.subnet_id:
            subnets = (await self.call("describe_subnets", SubnetIds=[self.subnet_id]))["Subnets"]
            self.vpc_id = subnets[0]["VpcId"]
            return
        if not self.vpc_id:
            # the default VPC, asked for directly (moto and some regions answer default-vpc=none to the attribute)
            vpcs = (await self.call("describe_vpcs", Filters=[{"Name": "is-default", "Values": ["true"]}]))["Vpcs"]
            if not vpcs:
                raise MachineError(f"region {self.region} has no default VPC: pass --amazonec2-vpc-id or "
                                   "--amazonec2-subnet-id")
            self.vpc_id = vpcs[0]["VpcId"]
        subnets = (await self.call("describe_subnets", Filters=[
            {"Name": "availability-zone", "Values": [self.availability_zone]},
            {"Name": "vpc-id", "Values": [self.vpc_id]}]))["Subnets"]
        if not subnets:
            raise MachineError(f"VPC {self.vpc_id} has no subnet in {self.availability_zone}: pass "
                               "--amazonec2-subnet-id, or another --amazonec2-zone")
        chosen = next((s for s in subnets if s.get("DefaultForAz")), subnets[0])
        self.subnet_id = chosen["SubnetId"]

    async def _check_key_pair(self) -> None:
        try:
            await self.call("describe_key_pairs", KeyNames=[self.key_name])
        except Ec2Error as err:
            if err.code != "InvalidKeyPair.NotFound":
                raise
            if self.existing_key:
                raise MachineError(f"there is no key pair {self.key_name} in {self.region}") from None
            return
        if not self.existing_key:
            raise MachineError(f"there is already a key pair named {self.machine_name} in {self.region}: remove it "
                               "or choose another machine name")

    async def create(self, report: Any) -> None:
        await self.create_or_undo(lambda made: self._create(report, made), self._undo, report)

    async def _create(self, report: Any, made: dict[str, str]) -> None:
        from ..sshkeys import adopt_or_make_key

        report.info("Creating the SSH key...")
        key_path = self.ssh_key_setting = adopt_or_make_key(self.ssh_private_key_path, self.resolve_store_path())
        if not self.existing_key:
            report.info(f"Importing the key pair {self.key_name}...")
            with open(key_path + ".pub", "rb") as fh:
                await self.call("import_key_pair", KeyName=self.key_name, PublicKeyMaterial=fh.read(),
                                **self._tag_spec("key-pair"))
            made["key"] = self.key_name  # its name is in config.json since the create began
        groups = await self._security_groups(report, made)
        report.info(f"Launching a {self.instance_type} instance of {self.ami} in {self.availability_zone}...")
        launch: dict[str, Any] = {
            "ImageId": self.ami, "MinCount": 1, "MaxCount": 1, "InstanceType": self.instance_type,
            "KeyName": self.key_name, "Placement": {"AvailabilityZone": self.availability_zone},
            "Monitoring": {"Enabled": self.monitoring}, "EbsOptimized": self.use_ebs_optimized,
            "NetworkInterfaces": [{"DeviceIndex": 0, "Groups": groups, "SubnetId": self.subnet_id,
                                   "AssociatePublicIpAddress": not self.private_ip_only}],
            "BlockDeviceMappings": [{"DeviceName": self.device_name, "Ebs": {
                "VolumeSize": self.root_size, "VolumeType": self.volume_type, "DeleteOnTermination": True}}],
            "TagSpecifications": [{"ResourceType": kind, "Tags": self._tags()} for kind in ("instance", "volume")],
            "MetadataOptions": {"HttpEndpoint": "enabled", "HttpTokens": self.metadata_token or "required",
                                "HttpPutResponseHopLimit": self.metadata_hop_limit or 2},
        }
        if self.iam_instance_profile:
            launch["IamInstanceProfile"] = {"Name": self.iam_instance_profile}
        if self.user_data_file:
            with open(self.user_data_file) as fh:
                launch["UserData"] = fh.read()  # boto3 encodes it
        if self.request_spot_instance:
            launch["InstanceMarketOptions"] = {"MarketType": "spot", "SpotOptions": {
                "MaxPrice": self.spot_price, "SpotInstanceType": "one-time"}}
        self.client_token = f"{self.store_id or 'mt'}-{secrets.token_hex(12)}"
        self.noted()
        launch["ClientToken"] = self.client_token  # a retried RunInstances makes no second instance
        reservation = await self.call("run_instances", **launch)
        self.instance_id = reservation["Instances"][0]["InstanceId"]
        self.reservation_id = reservation.get("ReservationId", "")
        made["instance"] = self.instance_id
        self.noted()
        await self._wait_for_address(report)

    async def _security_groups(self, report: Any, made: dict[str, str]) -> list[str]:
        names = list(self.security_group_names)
        found = (await self.call("describe_security_groups", Filters=[
            {"Name": "group-name", "Values": names}, {"Name": "vpc-id", "Values": [self.vpc_id]}]))["SecurityGroups"]
        by_name = {g["GroupName"]: g for g in found}
        ids = []
        for name in names:
            group = by_name.get(name)
            if group is None:
                report.info(f"Creating the security group {name} in {self.vpc_id}...")
                try:
                    answer = await self.call("create_security_group", GroupName=name,
                                             Description=GROUP_DESCRIPTION, VpcId=self.vpc_id,
                                             **self._tag_spec("security-group", store_only=True))
                    group = {"GroupId": answer["GroupId"], "GroupName": name, "IpPermissions": []}
                    made["group"] = answer["GroupId"]
                    self.made_security_group = answer["GroupId"]
                    self.noted()
                except Ec2Error as err:
                    if err.code != "InvalidGroup.Duplicate":
                        raise
                    # a create running beside this one made it first: use theirs (by id), do not fail
                    group = await self._group_named(name, report)
            ids.append(group["GroupId"])
            if not self.security_group_readonly:
                await self._open_ports(group)
        self.security_group_ids = ids
        return ids

    async def _group_named(self, name: str, report: Any) -> dict[str, Any]:
        """A group another create just made: read back by name, waiting while EC2 does not show it yet."""
        for _ in range(self.wait_tries):
            found = (await self.call("describe_security_groups", Filters=[
                {"Name": "group-name", "Values": [name]},
                {"Name": "vpc-id", "Values": [self.vpc_id]}]))["SecurityGroups"]
            if found:
                return dict(found[0])
            report.info(f"The security group {name} is not visible to the API yet: waiting")
            await asyncio.sleep(self.wait_delay)
        raise MachineError(f"the security group {name} exists (EC2 said Duplicate) but cannot be read in "
                           f"{self.vpc_id}")

    async def _open_ports(self, group: dict[str, Any]) -> None:
        have = {(p.get("IpProtocol"), p.get("FromPort")) for p in group.get("IpPermissions", [])}
        wanted = [("tcp", self.ssh_port_setting), ("tcp", ENGINE_PORT)]
        if self.swarm_master:
            wanted.append(("tcp", SWARM_PORT))
        for port in self.open_ports:
            number, _, proto = str(port).partition("/")
            wanted += [(proto, int(number))] if proto else [("tcp", int(number)), ("udp", int(number))]
        missing = [(proto, port) for proto, port in dict.fromkeys(wanted) if (proto, port) not in have]
        if not missing:
            return
        for attempt in range(self.wait_tries):
            try:
                await self.call("authorize_security_group_ingress", GroupId=group["GroupId"], IpPermissions=[
                    {"IpProtocol": proto, "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
                    for proto, port in missing])
                return
            except Ec2Error as err:
                if err.code == "InvalidPermission.Duplicate":  # another create opened them meanwhile
                    return
                # a group just made may not be visible yet (eventual consistency): wait, within the bound
                if err.code != "InvalidGroup.NotFound" or attempt == self.wait_tries - 1:
                    raise
                await asyncio.sleep(self.wait_delay)

    async def _default_image(self) -> str:
        BotoCoreError, ClientError, NoCredentialsError = _botocore_errors()

        try:
            answer = await self.bounded("SSM GetParameter", self.endpoint or f"SSM in {self.region}",
                                        self.client("ssm").get_parameter, Name=image_parameter())
            image: str = answer["Parameter"]["Value"]
            return image
        except NoCredentialsError:  # not "pass --amazonec2-ami": no image would help without credentials
            raise MachineError(NO_CREDENTIALS) from None
        except (ClientError, BotoCoreError) as err:
            parameter_problem = str(err)
        if image_parameter() == DEFAULT_IMAGE_PARAMETER:
            # the parameter cannot be read (no ssm:GetParameter, or not in this region): the newest of Canonical's
            # images of that release, by owner and name, with the EC2 permission the create needs anyway
            try:
                found = (await self.call("describe_images", Owners=[CANONICAL_OWNER], Filters=[
                    {"Name": "name", "Values": [DEFAULT_IMAGE_NAME]}, {"Name": "state", "Values": ["available"]},
                    {"Name": "architecture", "Values": ["x86_64"]}]))["Images"]
            except Ec2Error as err:
                found, parameter_problem = [], f"{parameter_problem}; DescribeImages: {err}"
            if found:
                newest: str = max(found, key=lambda i: i.get("CreationDate", ""))["ImageId"]
                return newest
            parameter_problem += f"; no image of Canonical's named {DEFAULT_IMAGE_NAME}"
        raise MachineError(f"finding the default image ({image_parameter()}): {parameter_problem}; pass "
                           "--amazonec2-ami")

    def _tag_spec(self, kind: str, store_only: bool = False) -> dict[str, Any]:
        """TagSpecifications for a resource other than the instance: the store's tag (a shared group is the
        store's, not one machine's), and the machine's."""
        pairs = self.tag_pairs()
        if store_only:
            pairs.pop(MACHINE_TAG, None)
        if not pairs:
            return {}
        return {"TagSpecifications": [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v}
                                                                      for k, v in pairs.items()]}]}

    def _tags(self) -> list[dict[str, str]]:
        tags = [{"Key": "Name", "Value": self.machine_name}]
        tags += [{"Key": k, "Value": v} for k, v in self.tag_pairs().items()]
        parts = self.tags.split(",") if self.tags else []
        tags += [{"Key": k, "Value": v} for k, v in zip(parts[::2], parts[1::2], strict=True)]
        return tags

    async def _wait_for_address(self, report: Any) -> None:
        report.info("Waiting for the instance to run and have an address...")
        tries, delay = self.wait_tries, self.wait_delay
        seen = ""
        for _ in range(tries):
            try:
                instance = await self._instance()
            except VMMissing:
                # the id RunInstances just gave: EC2 is eventually consistent, and says NotFound for a while
                # (its documented behaviour); never a reason to fail the create and terminate a good instance
                if seen != "not visible yet":
                    seen = "not visible yet"
                    report.info(f"Instance {self.instance_id} is not visible to the API yet (EC2 is eventually "
                                "consistent): waiting")
                await asyncio.sleep(delay)
                continue
            state = instance["State"]["Name"]
            if state != seen:
                seen = state
                report.info(f"Instance {self.instance_id} is {state}")
            if state in ("terminated", "shutting-down"):
                reason = instance.get("StateReason", {}).get("Message", "")
                raise MachineError(f"instance {self.instance_id} was {state}" + (f": {reason}" if reason else ""))
            self.private_ip_address = instance.get("PrivateIpAddress", "")
            address = self.private_ip_address if self.use_private_ip else instance.get("PublicIpAddress", "")
            if address and state == "running":
                self.ip_address = address
                report.info(f"The instance's address is {address}")
                return
            await asyncio.sleep(delay)
        raise MachineError(f"instance {self.instance_id} did not run with an address within {tries * delay:.0f} s")

    async def _undo(self, made: dict[str, str]) -> str:
        """Remove what a failed create made; what could not be removed, as one line ("" when all went)."""
        left = []
        if "instance" in made:
            try:
                await self.call("terminate_instances", InstanceIds=[made["instance"]])
                if "group" in made:
                    await self._wait_terminated(made["instance"])
            except MachineError as err:
                left.append(f"instance {made['instance']}: {err}")
        if "group" in made:
            try:
                await self.call("delete_security_group", GroupId=made["group"])
                self.made_security_group = ""
            except MachineError as err:
                left.append(f"security group {made['group']}: {err}")
        if "key" in made:
            try:
                await self.call("delete_key_pair", KeyName=made["key"])
            except MachineError as err:
                left.append(f"key pair {made['key']}: {err}")
        if "instance" in made:
            self.instance_id = ""
        return "; ".join(left)

    async def _wait_terminated(self, instance_id: str) -> None:
        """A group cannot be deleted while an instance still uses it."""
        for _ in range(self.wait_tries):
            answer = await self.call("describe_instances", InstanceIds=[instance_id])
            if answer["Reservations"][0]["Instances"][0]["State"]["Name"] == "terminated":
                return
            await asyncio.sleep(self.wait_delay)

    # ----- state and lifecycle
    async def _instance(self) -> dict[str, Any]:
        if not self.instance_id:
            raise VMMissing("the machine has no instance (its create did not get that far)")
        if self._seen is not None:
            return self._seen
        try:
            answer = await self.call("describe_instances", InstanceIds=[self.instance_id])
        except Ec2Error as err:
            if err.code == "InvalidInstanceID.NotFound":
                raise await self.vanished(f"instance {self.instance_id} does not exist") from None
            raise
        instance: dict[str, Any] = answer["Reservations"][0]["Instances"][0]
        return instance

    async def state(self) -> State:
        instance = await self._instance()
        name = instance["State"]["Name"]
        if name == "terminated":
            raise await self.vanished(f"instance {self.instance_id} was terminated")
        return STATES.get(name, State.ERROR)

    async def get_ip(self) -> str:
        instance = await self._instance()
        self.private_ip_address = instance.get("PrivateIpAddress", "")
        address: str = self.private_ip_address if self.use_private_ip else instance.get("PublicIpAddress", "")
        if not address:
            raise MachineError("the instance has no address (is it running?)")
        self.ip_address = address
        return address

    async def private_address(self) -> str:
        return self.private_ip_address  # the VPC's: swarm traffic stays inside it

    async def get_url(self) -> str:
        if await self.state() != State.RUNNING:
            raise HostNotRunning()
        ip = await self.get_ip()
        return f"tcp://{ip}:{ENGINE_PORT}"

    async def start(self) -> None:
        await self.call("start_instances", InstanceIds=[self.instance_id])

    async def stop(self) -> None:
        await self.call("stop_instances", InstanceIds=[self.instance_id], Force=False)

    async def kill(self) -> None:
        await self.call("stop_instances", InstanceIds=[self.instance_id], Force=True)

    async def restart(self) -> None:
        await self.call("reboot_instances", InstanceIds=[self.instance_id])

    async def remove(self) -> None:
        """The instance and the key pair this machine imported; an instance already gone is fine. A shared
        security group stays (other machines use it), as docker-machine leaves it."""
        problems = []
        if self.instance_id:
            try:
                await self.call("terminate_instances", InstanceIds=[self.instance_id])
            except Ec2Error as err:
                if err.code != "InvalidInstanceID.NotFound":
                    problems.append(str(err))
        if not self.existing_key and self.key_name:
            try:
                await self.call("delete_key_pair", KeyName=self.key_name)
            except MachineError as err:
                problems.append(str(err))
        if problems:
            raise MachineError("; ".join(problems))


    # ----- what the tags find
    async def _tagged_instances(self, machine: str = "") -> list[Leftover]:
        filters = [{"Name": f"tag:{STORE_TAG}", "Values": [self.store_id]},
                   {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
        if machine:
            filters.append({"Name": f"tag:{MACHINE_TAG}", "Values": [machine]})
        found: list[Leftover] = []
        token = ""
        for _ in range(100):
            page = await self.call("describe_instances", Filters=filters, MaxResults=1000,
                                   **({"NextToken": token} if token else {}))
            for reservation in page["Reservations"]:
                for i in reservation["Instances"]:
                    tags = {t["Key"]: t["Value"] for t in i.get("Tags", [])}
                    found.append(Leftover("instance", i["InstanceId"], tags.get(MACHINE_TAG, ""),
                                          f"{i['State']['Name']} in {self.region}"))
            token = page.get("NextToken", "")
            if not token:
                break
        return found

    async def leftovers(self) -> list[Leftover]:
        return [lo for lo in await self._tagged_instances(self.machine_name) if lo.id != self.instance_id]

    REMOVAL_ORDER = ("instance", "key pair")

    async def remove_leftover(self, leftover: Leftover) -> None:
        if leftover.kind == "instance":
            try:
                await self.call("terminate_instances", InstanceIds=[leftover.id])
            except Ec2Error as err:
                if err.code != "InvalidInstanceID.NotFound":
                    raise
        elif leftover.kind == "key pair":
            await self.call("delete_key_pair", KeyName=leftover.id)

    async def store_resources(self) -> list[Leftover]:
        found = await self._tagged_instances()
        keys = (await self.call("describe_key_pairs", Filters=[
            {"Name": f"tag:{STORE_TAG}", "Values": [self.store_id]}]))["KeyPairs"]
        for k in keys:
            tags = {t["Key"]: t["Value"] for t in k.get("Tags", [])}
            found.append(Leftover("key pair", k["KeyName"], tags.get(MACHINE_TAG, ""), self.region))
        return found

    def owns(self, leftover: Leftover) -> bool:
        if leftover.kind == "instance":
            return leftover.id == self.instance_id or not self.instance_id
        return leftover.kind == "key pair" and leftover.id == self.key_name and not self.existing_key


_CLIENTS: dict[tuple[Any, ...], Any] = {}  # botocore clients by service, API, region and credentials


def image_parameter() -> str:
    """The SSM parameter naming the default image: Canonical's, or another distribution's or a private one
    (MACHINE_TUI_AMAZONEC2_IMAGE_PARAMETER)."""
    from ..settings import amazonec2_image_parameter

    return amazonec2_image_parameter() or DEFAULT_IMAGE_PARAMETER


NO_CREDENTIALS = ("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, use a profile in ~/.aws "
                  "(AWS_PROFILE), or pass --amazonec2-access-key and --amazonec2-secret-key")


class Ec2Error(MachineError):
    def __init__(self, operation: str, code: str, message: str):
        super().__init__(f"EC2 {operation}: {code}: {message}" + _advice(code))
        self.code = code


def _advice(code: str) -> str:
    """What to do about the errors a user can act on."""
    if code in ("UnauthorizedOperation", "AccessDenied", "AuthFailure"):
        return " (the credentials lack this permission: grant it in IAM)"
    if code in ("InstanceLimitExceeded", "VcpuLimitExceeded", "MaxSpotInstanceCountExceeded"):
        return " (a quota: ask AWS for more in Service Quotas, or use another region or instance type)"
    if code == "InsufficientInstanceCapacity":
        return " (AWS has no capacity for this type here now: try another --amazonec2-zone or instance type)"
    if code in ("SpotMaxPriceTooLow", "InsufficientSpotInstanceCapacity"):
        # a one-time spot launch is fulfilled at once or refused: nothing waits, nothing is left pending
        return (" (the spot request cannot be fulfilled now: raise --amazonec2-spot-price, try another zone or "
                "type, or drop --amazonec2-request-spot-instance)")
    return ""


def _name(item: dict[str, Any]) -> str:
    return next((t["Value"] for t in item.get("Tags", []) if t.get("Key") == "Name"), "")


def _botocore_errors() -> tuple[Any, Any, Any]:
    """botocore's error classes, or the line that says how to install them (no "No module named 'botocore'")."""
    try:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    except ImportError:
        raise missing_extra("the amazonec2 driver", "aws") from None
    return BotoCoreError, ClientError, NoCredentialsError
