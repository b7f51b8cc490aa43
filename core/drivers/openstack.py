"""The openstack driver (private clouds), on openstacksdk: docker-machine's flags and fields, plus clouds.yaml.

Beyond docker-machine:
- `--openstack-cloud` (OS_CLOUD) names a cloud of clouds.yaml; flags given beside it override its entries.
- Identity v3 with project names works (docker-machine looked tenants up through keystone v2, gone on v3 clouds);
  images are found through glance v2, not nova's retired image proxy.
- Without `--openstack-sec-groups` the machine gets a `docker-machine` group opening SSH and the engine's port
  (made once, then reused): a new project's default group lets neither in.
- The SSH user defaults to the image's own (from its `os_distro` property): cloud images refuse root.
- A failed create removes the server, the key pair and a floating IP or group it made, and says what failed;
  `rm` also releases a floating IP the create allocated (docker-machine leaked it).
- nova-network (`--openstack-nova-network`) was removed from OpenStack in 2019: refused with that reason.
- A password from OS_PASSWORD or clouds.yaml is read at run time and never written to config.json. Only a password
  given as the flag is kept, as docker-machine keeps it."""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import os
import re
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import HostNotRunning, MachineError, PreCreateError, VMMissing
from ..extras import missing_extra
from ..flags import PORT, Flag
from ..states import State
from .base import Setting, gather_choices, show_retry
from .cloud import MACHINE_TAG, STORE_TAG, CloudDriver, Leftover

if TYPE_CHECKING:
    from ..choices import Choice

ENGINE_PORT = 2376
GROUP = "docker-machine"
API_TIMEOUT = 30.0  # seconds for one API exchange (connect and read): a silent endpoint is a failure, not a hang
STATES = {"ACTIVE": State.RUNNING, "BUILD": State.STARTING, "REBOOT": State.STARTING,
          "HARD_REBOOT": State.STARTING, "PAUSED": State.PAUSED, "SUSPENDED": State.SAVED, "SHUTOFF": State.STOPPED,
          "SHELVED": State.STOPPED, "SHELVED_OFFLOADED": State.STOPPED, "ERROR": State.ERROR}
GONE = ("DELETED", "SOFT_DELETED")
# the login user of the common cloud images, by glance's standard os_distro property
IMAGE_USERS = {"ubuntu": "ubuntu", "debian": "debian", "centos": "centos", "fedora": "fedora", "rocky": "rocky",
               "almalinux": "almalinux", "rhel": "cloud-user", "opensuse": "opensuse", "sles": "sles",
               "arch": "arch", "fedora-coreos": "core"}
ENDPOINT_TYPES = {"publicURL": "public", "internalURL": "internal", "adminURL": "admin",
                  "public": "public", "internal": "internal", "admin": "admin"}
_B = "bool"


def _f(name: str, usage: str, env: str, kind: str = "string", default: Any = None, **kw: Any) -> Flag:
    return Flag(f"openstack-{name}", usage, kind, default, env, **kw)


FLAGS = [
    _f("active-timeout", "OpenStack active timeout", "OS_ACTIVE_TIMEOUT", "int", 200, bounds=(1, 86400)),
    _f("auth-url", "OpenStack authentication URL", "OS_AUTH_URL"),
    _f("availability-zone", "OpenStack availability zone", "OS_AVAILABILITY_ZONE"),
    _f("cacert", "CA certificate bundle to verify against", "OS_CACERT"),
    _f("cloud", "Cloud of clouds.yaml to use (flags given beside it override its entries)", "OS_CLOUD"),
    _f("config-drive", "Enables the OpenStack config drive for the instance", "OS_CONFIG_DRIVE", _B, False),
    _f("domain-id", "OpenStack domain ID (identity v3 only)", "OS_DOMAIN_ID"),
    _f("domain-name", "OpenStack domain name (identity v3 only)", "OS_DOMAIN_NAME"),
    _f("endpoint-type", "OpenStack endpoint type (adminURL, internalURL or publicURL)", "OS_ENDPOINT_TYPE"),
    _f("flavor-id", "OpenStack flavor id to use for the instance", "OS_FLAVOR_ID"),
    _f("flavor-name", "OpenStack flavor name to use for the instance", "OS_FLAVOR_NAME"),
    _f("floatingip-pool", "OpenStack floating IP pool to get an IP from to assign to the instance",
       "OS_FLOATINGIP_POOL"),
    _f("image-id", "OpenStack image id to use for the instance", "OS_IMAGE_ID"),
    _f("image-name", "OpenStack image name to use for the instance", "OS_IMAGE_NAME"),
    _f("insecure", "Disable TLS credential checking.", "OS_INSECURE", _B, False),
    _f("ip-version", "OpenStack version of IP address assigned for the machine", "OS_IP_VERSION", "int", 4,
       bounds=(4, 6)),
    _f("keypair-name", "OpenStack keypair to use to SSH to the instance", "OS_KEYPAIR_NAME"),
    _f("metadata", "OpenStack Instance Metadata (e.g. key1,value1,key2,value2)", "OS_METADATA"),
    _f("net-id", "OpenStack network id the machine will be connected on", "OS_NETWORK_ID"),
    _f("net-name", "OpenStack network name the machine will be connected on", "OS_NETWORK_NAME"),
    _f("nova-network", "Use the nova networking services instead of neutron (refused: removed from OpenStack)",
       "OS_NOVA_NETWORK", _B, False),
    _f("password", "OpenStack password (kept in config.json only when given as this flag)", "OS_PASSWORD",
       secret=True),
    _f("private-key-file", "Private keyfile to use for SSH (absolute path)", "OS_PRIVATE_KEY_FILE"),
    _f("region", "OpenStack region name", "OS_REGION_NAME"),
    _f("sec-groups", "OpenStack comma separated security groups for the machine (default: docker-machine, made "
       "with SSH and the engine's port open)", "OS_SECURITY_GROUPS"),
    _f("ssh-port", "OpenStack SSH port", "OS_SSH_PORT", "int", 22, bounds=PORT),
    _f("ssh-user", "OpenStack SSH user (default: the image's own, from its os_distro)", "OS_SSH_USER"),
    _f("tenant-id", "OpenStack tenant id", "OS_TENANT_ID"),
    _f("tenant-name", "OpenStack tenant name", "OS_TENANT_NAME"),
    _f("user-data-file", "File containing an openstack userdata script", "OS_USER_DATA_FILE"),
    _f("username", "OpenStack username", "OS_USERNAME"),
]


class OpenStackDriver(CloudDriver):
    """Fields in docker-machine's order (dm/drivers/openstack), so its stores load and ours load in it."""

    name = "openstack"
    needs = ("openstack", "openstack")
    provider = "OpenStack"
    account_kind = "project"
    summary = "a server on an OpenStack cloud, from clouds.yaml or openrc (needs machine-tui[openstack])"
    essential_flags = ("openstack-cloud", "openstack-auth-url", "openstack-username", "openstack-password",
                       "openstack-tenant-name", "openstack-domain-name", "openstack-region", "openstack-flavor-name",
                       "openstack-image-name", "openstack-net-name", "openstack-floatingip-pool", "openstack-ssh-user")
    flags = FLAGS

    ssh_user_setting = Setting("SSHUser", str, flag="openstack-ssh-user")
    ssh_port_setting = Setting("SSHPort", int, flag="openstack-ssh-port")
    auth_url = Setting("AuthUrl", str, flag="openstack-auth-url")
    active_timeout = Setting("ActiveTimeout", int, flag="openstack-active-timeout")
    insecure = Setting("Insecure", bool, flag="openstack-insecure")
    ca_cert = Setting("CaCert", str, flag="openstack-cacert")
    domain_id = Setting("DomainID", str, flag="openstack-domain-id")
    domain_name = Setting("DomainName", str, flag="openstack-domain-name")
    username = Setting("Username", str, flag="openstack-username")
    password = Setting("Password", str, flag="openstack-password")
    tenant_name = Setting("TenantName", str, flag="openstack-tenant-name")
    tenant_id = Setting("TenantId", str, flag="openstack-tenant-id")
    region = Setting("Region", str, flag="openstack-region")
    availability_zone = Setting("AvailabilityZone", str, flag="openstack-availability-zone")
    endpoint_type = Setting("EndpointType", str, flag="openstack-endpoint-type")
    machine_id = Setting("MachineId", str, "")
    flavor_name = Setting("FlavorName", str, flag="openstack-flavor-name")
    flavor_id = Setting("FlavorId", str, flag="openstack-flavor-id")
    image_name = Setting("ImageName", str, flag="openstack-image-name")
    image_id = Setting("ImageId", str, flag="openstack-image-id")
    key_pair_name = Setting("KeyPairName", str, flag="openstack-keypair-name")
    network_name = Setting("NetworkName", str, flag="openstack-net-name")
    network_id = Setting("NetworkId", str, flag="openstack-net-id")
    user_data = Setting("UserData", str, "")  # the file's bytes in base64, as Go writes a []byte
    private_key_file = Setting("PrivateKeyFile", str, flag="openstack-private-key-file")
    security_groups = Setting("SecurityGroups", list, [])
    floating_ip_pool = Setting("FloatingIpPool", str, flag="openstack-floatingip-pool")
    compute_network = Setting("ComputeNetwork", bool, flag="openstack-nova-network")
    floating_ip_pool_id = Setting("FloatingIpPoolId", str, "")
    ip_version = Setting("IpVersion", int, flag="openstack-ip-version")
    config_drive = Setting("ConfigDrive", bool, flag="openstack-config-drive")
    existing_key = Setting("ExistingKey", bool, False)
    # ours, written only when used (docker-machine ignores keys it does not know)
    cloud = Setting("Cloud", str, flag="openstack-cloud", written_at_create=False)
    metadata = Setting("Metadata", dict, {}, written_at_create=False)
    floating_ip_id = Setting("FloatingIpId", str, "", written_at_create=False)  # allocated by the create
    made_security_group = Setting("MadeSecurityGroup", str, "", written_at_create=False)

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self._conn: Any = None
        self._seen: Any = None  # the server as a listing of many machines showed it
        self.wait_delay = 2.0  # between reads of a server being built, started or given an address

    # ----- configuration
    def set_config_from_flags(self, opts: dict[str, Any]) -> None:
        super().set_config_from_flags(opts)
        for key in ("Cloud", "Metadata"):  # written only when given
            if not self.config.get(key):
                self.config.pop(key, None)
        if self.flags_given is not None and "openstack-password" not in self.flags_given:
            self.password = ""  # from OS_PASSWORD or clouds.yaml: read when used, never stored
        if self.compute_network:
            raise MachineError("--openstack-nova-network: nova-network was removed from OpenStack (Train, 2019); "
                               "networks are neutron's (--openstack-net-name, --openstack-floatingip-pool)")
        if self.endpoint_type and self.endpoint_type not in ENDPOINT_TYPES:
            raise MachineError(f'--openstack-endpoint-type "{self.endpoint_type}": use publicURL, internalURL '
                               "or adminURL")
        if not (self.cloud or self.auth_url):
            raise MachineError("OpenStack needs a cloud: --openstack-cloud (OS_CLOUD) naming one in clouds.yaml, "
                               "or --openstack-auth-url (OS_AUTH_URL)")
        for kind in ("flavor", "image", "net"):
            if opts.get(f"openstack-{kind}-name") and opts.get(f"openstack-{kind}-id"):
                raise MachineError(f"--openstack-{kind}-name and --openstack-{kind}-id: give one of them")
        if not (self.flavor_name or self.flavor_id):
            raise MachineError("OpenStack needs a flavor: --openstack-flavor-name or --openstack-flavor-id "
                               "(`openstack flavor list` names them)")
        if not (self.image_name or self.image_id):
            raise MachineError("OpenStack needs an image: --openstack-image-name or --openstack-image-id "
                               "(`openstack image list` names them)")
        if self.key_pair_name and not self.private_key_file:
            raise MachineError("--openstack-keypair-name also requires --openstack-private-key-file "
                               "(the private key of that key pair)")
        if self.private_key_file:
            self.private_key_file = os.path.abspath(os.path.expanduser(self.private_key_file))
            if not os.path.isfile(self.private_key_file):
                raise MachineError(f"--openstack-private-key-file {self.private_key_file}: no such file")
        path = opts.get("openstack-user-data-file") or ""
        if path:
            path = os.path.abspath(os.path.expanduser(path))
            try:
                with open(path, "rb") as fh:
                    self.user_data = base64.b64encode(fh.read()).decode()
            except OSError as err:
                raise MachineError(f"--openstack-user-data-file {path}: {err.strerror}") from None
        words = [w.strip() for w in str(opts.get("openstack-metadata") or "").split(",")] \
            if opts.get("openstack-metadata") else []
        if len(words) % 2:
            raise MachineError(f'--openstack-metadata "{opts["openstack-metadata"]}": give key,value pairs')
        if words:
            self.metadata = dict(zip(words[::2], words[1::2], strict=True))
        self.security_groups = [g.strip() for g in str(opts.get("openstack-sec-groups") or "").split(",")
                                if g.strip()]
        self.existing_key = bool(self.key_pair_name)

    # ----- the API
    def connection(self) -> Any:
        """openstacksdk's connection: clouds.yaml's cloud if named, the flags over it. Throttling (429) and an
        unavailable service (503) are retried by keystoneauth with backoff, a bounded number of times."""
        key = self.shared_reads()
        if self._conn is None and key in _CONNECTIONS:
            self._conn = _CONNECTIONS[key]  # its Keystone token too: a sign-in per poll is what clouds throttle
        if self._conn is None:
            try:
                import openstack
            except ImportError:
                raise missing_extra("the openstack driver", "openstack") from None
            args: dict[str, Any] = {"app_name": "machine-tui", "status_code_retries": 4,
                                    "retriable_status_codes": [429, 503], "connect_retries": 2,
                                    # a cloud that accepts and never answers fails the call, not the wait forever
                                    "api_timeout": min(API_TIMEOUT, self.api_bound)}
            for arg, value in (("auth_url", self.auth_url), ("username", self.username),
                               ("password", self.password or os.environ.get("OS_PASSWORD", "")),
                               ("project_name", self.tenant_name), ("project_id", self.tenant_id),
                               ("user_domain_name", self.domain_name), ("project_domain_name", self.domain_name),
                               ("user_domain_id", self.domain_id), ("project_domain_id", self.domain_id),
                               ("region_name", self.region), ("cacert", self.ca_cert),
                               ("interface", ENDPOINT_TYPES.get(self.endpoint_type, ""))):
                if value:
                    args[arg] = value  # only what was given: clouds.yaml's entries stay where no flag says
            if self.insecure:
                args["verify"] = False
            _show_keystoneauth_retries()
            try:
                self._conn = openstack.connect(cloud=self.cloud or None, **args)
            except Exception as err:  # noqa: BLE001 - clouds.yaml missing or naming no such cloud: one line
                raise MachineError(f"OpenStack configuration: {_words(err)}") from None
            _CONNECTIONS[key] = self._conn
        return self._conn

    def shared_reads(self) -> tuple[Any, ...]:
        import hashlib

        secret = self.password or os.environ.get("OS_PASSWORD", "")
        return (self.cloud, self.auth_url, self.username, hashlib.sha256(secret.encode()).hexdigest(),
                self.tenant_name, self.tenant_id, self.domain_name, self.domain_id, self.region, self.endpoint_type,
                self.insecure, self.ca_cert, os.environ.get("OS_CLOUD", ""))

    @classmethod
    async def read_together(cls, drivers: list[CloudDriver]) -> None:
        """The project's servers in one listing (servers/detail, the SDK following its pages)."""
        mine = [d for d in drivers if isinstance(d, OpenStackDriver) and d.machine_id]
        if not mine:
            return
        conn = mine[0].connection()
        found = await mine[0].call("listing servers", lambda: {s.id: s for s in conn.compute.servers()})
        for d in mine:
            d._conn = conn
            d._seen = found.get(d.machine_id)

    async def call(self, what: str, operation: Callable[[], Any]) -> Any:
        """One API exchange in a thread, its failure as one line with OpenStack's own words and what to do."""
        try:
            return await self.bounded(f"OpenStack {what}", self.auth_url or self.cloud or "the cloud", operation)
        except MachineError:
            raise
        except Exception as err:  # noqa: BLE001 - keystoneauth's and openstacksdk's errors: told apart below
            raise _error(what, err) from None

    # ----- live choices for the create form
    @classmethod
    def choice_source(cls, values: dict[str, Any]) -> tuple[str, str]:
        keys = ("openstack-cloud", "openstack-auth-url", "openstack-region", "openstack-tenant-name",
                "openstack-tenant-id", "openstack-username")
        return "OpenStack", "|".join(str(values.get(k) or "") for k in keys)

    @classmethod
    async def live_choices(cls, values: dict[str, Any]) -> dict[str, list[Choice]]:
        from ..choices import Choice, size_detail

        driver = cls.from_form(values)
        assert isinstance(driver, OpenStackDriver)
        if not (driver.cloud or driver.auth_url):
            raise MachineError("no cloud named yet: --openstack-cloud or --openstack-auth-url")
        conn = driver.connection()

        # each listing names its proxy inside the call: reaching conn.compute signs in, a network exchange that must
        # run in a thread and fail as one line, never in the app's event loop
        def listed(what: str, listing: Callable[[], Any], choice: Callable[[Any], Choice],
                   order: Callable[[Any], Any] = lambda x: str(x.name)) -> Any:
            return driver.call(what, lambda: [choice(x) for x in sorted(listing(), key=order)])

        def flavor(f: Any) -> Choice:
            return Choice(str(f.name), size_detail(f.vcpus, f.ram, None, f"{f.disk} GB disk"))

        def image(i: Any) -> Choice:
            size = f"{(i.size or 0) / 2**30:.1f} GB" if i.size else ""
            return Choice(str(i.name), " ".join(filter(None, [str(i.os_distro or ""), size])))

        def network(n: Any) -> Choice:
            return Choice(str(n.name), "external" if n.is_router_external else "")

        return await gather_choices({
            "openstack-region": listed("listing regions", lambda: conn.identity.regions(), lambda r: Choice(str(r.id)),
                                       lambda r: str(r.id)),
            "openstack-flavor-name": listed("listing flavors", lambda: conn.compute.flavors(), flavor,
                                            lambda f: (f.vcpus or 0, f.ram or 0, str(f.name))),
            "openstack-image-name": listed("listing images", lambda: conn.image.images(), image),
            "openstack-net-name": listed("listing networks", lambda: [
                n for n in conn.network.networks() if not n.is_router_external], network),
            "openstack-floatingip-pool": listed("listing floating IP pools", lambda: conn.network.networks(
                is_router_external=True), network),
            "openstack-keypair-name": listed("listing key pairs", lambda: conn.compute.keypairs(),
                                             lambda k: Choice(str(k.name), str(k.type or ""))),
            "openstack-sec-groups": listed("listing security groups", lambda: conn.network.security_groups(),
                                           lambda g: Choice(str(g.name), str(g.description or ""))),
            "openstack-availability-zone": listed("listing availability zones",
                                                  lambda: conn.compute.availability_zones(),
                                                  lambda z: Choice(str(z.name)))})

    # ----- create
    async def pre_create_check(self) -> None:
        try:
            await self.call("signing in", lambda: self.connection().authorize())
            await self.bind_account()
            await self._resolve()
        except MachineError as err:
            raise PreCreateError(f'Error with pre-create check: "{err}"') from None

    async def account(self) -> str:
        """The Keystone endpoint and the project the credentials sign in to."""
        conn = self.connection()
        project = await self.call("signing in", lambda: conn.current_project_id)
        auth = self.auth_url or str((conn.config.get_auth_args() or {}).get("auth_url", ""))
        return f"{project} at {auth}" if project else ""

    async def _resolve(self) -> None:
        """Names to ids (flavor, image, networks), a request each; a miss is one line naming what the cloud has."""
        conn = self.connection()
        flavor = await self._find("flavor", self.flavor_id or self.flavor_name, lambda n: conn.compute.flavors(),
                                  conn.compute.find_flavor if self.flavor_id else None)
        self.flavor_id, self.flavor_name = flavor.id, flavor.name
        image = await self._find("image", self.image_id or self.image_name, lambda n: conn.image.images(**_named(n)),
                                 conn.image.find_image if self.image_id else None)
        self.image_id, self.image_name = image.id, image.name
        if not self.ssh_user_setting:
            self.ssh_user_setting = IMAGE_USERS.get(str(getattr(image, "os_distro", "") or "").lower(), "ubuntu")
        if self.network_id or self.network_name:
            net = await self._find("network", self.network_id or self.network_name,
                                   lambda n: conn.network.networks(**_named(n)),
                                   conn.network.find_network if self.network_id else None)
            self.network_id, self.network_name = net.id, net.name
        else:
            # nova's `networks: auto` fails (409) where the project sees more than one network: the one there is,
            # or the candidates named before anything is made; none: nova's auto-allocation
            nets = await self.call("listing networks", lambda: sorted(
                (n for n in conn.network.networks() if not n.is_router_external), key=lambda n: str(n.name)))
            if len(nets) == 1:
                self.network_id, self.network_name = nets[0].id, nets[0].name
            elif nets:
                raise MachineError("the project has several networks: choose one with --openstack-net-name ("
                                   + ", ".join(str(n.name) for n in nets) + ")")
        if self.floating_ip_pool:
            def pools(name: str | None) -> Any:
                return conn.network.networks(**_named(name)) if name else \
                    conn.network.networks(is_router_external=True)

            pool = await self._find("floating IP pool", self.floating_ip_pool, pools)
            if not pool.is_router_external:
                names = await self.call("listing floating IP pools", lambda: sorted(str(x.name) for x in pools(None)))
                raise MachineError(f"OpenStack has no floating IP pool {self.floating_ip_pool!r} (that network is "
                                   f"not external); it has: {', '.join(names) or 'none'}")
            self.floating_ip_pool_id = pool.id

    async def _find(self, kind: str, wanted: str, listing: Callable[[str | None], Any],
                    by_id: Callable[..., Any] | None = None) -> Any:
        """One request: the thing by its id, or the listing filtered by name (whole where the API has no filter)."""
        def lookup() -> Any:
            if by_id is not None:
                return _find_or_none(by_id, wanted)
            return next((x for x in listing(wanted) if wanted in (x.name, x.id)), None)

        found = await self.call(f"finding the {kind} {wanted}", lookup)
        if found is None:
            names = await self.call(f"listing {kind}s", lambda: sorted(str(x.name) for x in listing(None)))
            raise MachineError(f"OpenStack has no {kind} {wanted!r}; it has: {', '.join(names) or 'none'}")
        return found

    async def create(self, report: Any) -> None:
        await self.create_or_undo(lambda made: self._create(report, made), self._undo, report)

    async def _create(self, report: Any, made: dict[str, str]) -> None:
        from ..sshkeys import adopt_or_make_key

        conn = self.connection()
        if not self.flavor_id or not self.image_id or (self.floating_ip_pool and not self.floating_ip_pool_id):
            await self._resolve()
        report.info("Creating SSH key...")
        key_path = adopt_or_make_key(self.private_key_file, self.resolve_store_path())
        self.ssh_key_setting = key_path
        if self.existing_key:
            await self.call(f"reading the key pair {self.key_pair_name}",
                            lambda: conn.compute.get_keypair(self.key_pair_name))
        else:
            # the store's id in the name (key pairs take no tags): `orphans` knows this store's key pairs by it
            self.key_pair_name = f"{self.machine_name}-{self.store_id or 'mt'}-{secrets.token_hex(24)}".replace(
                ".", "_")
            self.noted()  # its name before the import: a kill before the answer still leaves it findable
            report.info(f"Importing the key pair {self.key_pair_name}...")
            with open(key_path + ".pub") as fh:
                public_key = fh.read().strip()
            await self.call("importing the key pair",
                            lambda: conn.compute.create_keypair(name=self.key_pair_name, public_key=public_key))
            made["keypair"] = self.key_pair_name
        groups = await self._security_groups(report, made)
        spec: dict[str, Any] = {"name": self.machine_name, "flavor_id": self.flavor_id, "image_id": self.image_id,
                                "key_name": self.key_pair_name, "security_groups": [{"name": g} for g in groups],
                                "networks": [{"uuid": self.network_id}] if self.network_id else "auto"}
        if self.availability_zone:
            spec["availability_zone"] = self.availability_zone
        if self.config_drive:
            spec["config_drive"] = True
        tags = {k: v for k, v in self.tag_pairs().items()}
        if self.metadata or tags:
            spec["metadata"] = {**self.metadata, **tags}
        if self.user_data:
            spec["user_data"] = self.user_data
        report.info(f"Creating a {self.flavor_name} server of {self.image_name}...")
        server = await self.call("creating the server", lambda: conn.compute.create_server(**spec))
        self.machine_id = made["server"] = server.id
        self.noted()
        server = await self._wait_for("ACTIVE", report, self.active_timeout)
        if self.floating_ip_pool_id:
            await self._attach_floating_ip(report, made)
        else:
            self.ip_address = await self._fixed_address(server)
        report.info(f"The server's address is {self.ip_address}")

    async def _security_groups(self, report: Any, made: dict[str, str]) -> list[str]:
        """The groups named by the flag (each must exist), else docker-machine's own, made once and reused."""
        conn = self.connection()
        if self.security_groups:
            for name in self.security_groups:
                await self._find("security group", name, lambda n: conn.network.security_groups(**_named(n)))
            return list(self.security_groups)
        group = await self.call("finding the security group",
                                lambda: next(iter(conn.network.security_groups(name=GROUP)), None))
        if group is None:
            report.info(f"Creating the security group {GROUP}...")
            group = await self.call("creating the security group", lambda: conn.network.create_security_group(
                name=GROUP, description="Docker Machine: SSH and the Docker engine's TLS port"))
            made["group"] = self.made_security_group = group.id
            self.noted()
            # neutron allows two groups of one name: a create racing this one may have made its own. Both keep the
            # oldest; the other is removed by whoever made it (a name that matches two groups fails every server)
            same = await self.call("finding the security group", lambda: sorted(
                conn.network.security_groups(name=GROUP), key=lambda g: (str(g.created_at or ""), str(g.id))))
            if len(same) > 1 and same[0].id != group.id:
                mine = group.id
                report.info(f"Another create made the security group {GROUP} too: using the first, removing ours")
                await self.call("removing a second security group",
                                lambda: conn.network.delete_security_group(mine, ignore_missing=True))
                made.pop("group", None)
                self.made_security_group = ""
                self.noted()
                group = same[0]
        have = {(r.get("protocol"), r.get("port_range_min")) for r in (group.security_group_rules or [])
                if r.get("direction") == "ingress"}
        for port in sorted({self.ssh_port(), ENGINE_PORT}):
            if ("tcp", port) not in have:
                await self.call(f"opening port {port}", functools.partial(_add_rule, conn, group.id, port))
        self.security_groups = [GROUP]
        return [group.id]  # by id: a name two groups share would be refused

    async def _wait_for(self, status: str, report: Any, timeout: float) -> Any:
        seen = ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            server = await self._server()
            if server.status != seen:
                seen = server.status
                report.info(f"Server {server.id} is {seen}")
            if seen == status:
                return server
            if seen == "ERROR":
                fault = (getattr(server, "fault", None) or {}).get("message", "") or "no reason given"
                raise MachineError(f"the server {server.id} went into ERROR: {fault}")
            if loop.time() >= deadline:
                raise MachineError(f"the server {server.id} was still {seen} after {timeout:.0f} s "
                                   "(--openstack-active-timeout)")
            await asyncio.sleep(self.wait_delay)

    async def _attach_floating_ip(self, report: Any, made: dict[str, str]) -> None:
        """A floating IP allocated for this machine, which it then owns: a "free" one found by listing can be
        taken by another client between the listing and the attach (docker-machine reused them)."""
        conn = self.connection()
        pool = self.floating_ip_pool_id
        ports = await self.call("finding the server's port", lambda: list(conn.network.ports(
            device_id=self.machine_id, **({"network_id": self.network_id} if self.network_id else {}))))
        if not ports:
            raise MachineError(f"the server {self.machine_id} has no network port for a floating IP")
        report.info(f"Allocating a floating IP from {self.floating_ip_pool}...")
        description = " ".join(f"{k}={v}" for k, v in self.tag_pairs().items())
        ip = await self.call("allocating a floating IP", lambda: conn.network.create_ip(
            floating_network_id=pool, port_id=ports[0].id, **({"description": description} if description else {})))
        self.floating_ip_id = made["floating_ip"] = ip.id
        self.noted()
        self.ip_address = ip.floating_ip_address

    async def _fixed_address(self, server: Any) -> str:
        """The server's fixed address of the IP version asked for, on the named network if there is one: from the
        read that found it ACTIVE, else read again until it has one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(60.0, self.wait_delay * 30)
        while True:
            for net, entries in (server.addresses or {}).items():
                if self.network_name and net != self.network_name:
                    continue
                for entry in entries:
                    if entry.get("OS-EXT-IPS:type", "fixed") == "fixed" and entry.get("version") == self.ip_version:
                        return str(entry["addr"])
            if loop.time() >= deadline:
                raise MachineError(f"the server {server.id} got no IPv{self.ip_version} address")
            await asyncio.sleep(self.wait_delay)
            server = await self._server()

    async def _undo(self, made: dict[str, str]) -> str:
        left: list[str] = []
        if not made:
            return ""
        conn = self.connection()
        steps: list[tuple[str, str, Callable[[], Any]]] = [
            ("server", "deleting the server", lambda: conn.compute.delete_server(made["server"])),
            ("floating_ip", "releasing the floating IP", lambda: conn.network.delete_ip(made["floating_ip"])),
            ("keypair", "deleting the key pair", lambda: conn.compute.delete_keypair(made["keypair"])),
            ("group", "deleting the security group", lambda: self._delete_group_after_server(made))]
        for key, what, step in steps:
            if key in made:
                try:
                    await self.call(what, step)
                except MachineError as err:
                    left.append(str(err))
        if "server" in made:
            self.machine_id = ""
        return "; ".join(left)

    def _delete_group_after_server(self, made: dict[str, str]) -> None:
        """A group still used by a server being deleted is refused (409): wait for the server to go first."""
        conn = self.connection()
        server = _find_or_none(conn.compute.find_server, made["server"]) if "server" in made else None
        if server is not None:
            conn.compute.wait_for_delete(server, interval=self.wait_delay, wait=80)  # within api_bound
        conn.network.delete_security_group(made["group"], ignore_missing=True)

    # ----- state and lifecycle
    async def _server(self) -> Any:
        if not self.machine_id:
            raise VMMissing("the machine has no server (its create did not get that far)")
        if self._seen is not None and self._seen.status not in GONE:
            return self._seen
        conn = self.connection()
        server = await self.call("reading the server",
                                 lambda: _find_or_none(conn.compute.find_server, self.machine_id))
        if server is None or server.status in GONE:
            raise await self.vanished(f"the server {self.machine_id} does not exist")
        return server

    async def state(self) -> State:
        return STATES.get((await self._server()).status, State.NONE)

    async def get_url(self) -> str:
        if await self.state() != State.RUNNING:
            raise HostNotRunning()
        return f"tcp://{await self.get_ip()}:{ENGINE_PORT}"

    async def _action(self, what: str, act: Callable[[Any, str], Any]) -> None:
        await self._server()
        conn = self.connection()
        await self.call(what, lambda: act(conn, self.machine_id))

    async def start(self) -> None:
        await self._action("starting the server", lambda c, s: c.compute.start_server(s))

    async def stop(self) -> None:
        await self._action("stopping the server", lambda c, s: c.compute.stop_server(s))

    async def kill(self) -> None:
        await self.stop()  # nova has no power-off apart from stop, as docker-machine found

    async def restart(self) -> None:
        await self._action("rebooting the server", lambda c, s: c.compute.reboot_server(s, "SOFT"))

    async def remove(self) -> None:
        """The server, the key pair this machine imported and the floating IP it allocated; any already gone is
        fine. The shared docker-machine group stays, as other machines use it."""
        conn = self.connection()
        if self.machine_id:
            await self.call("deleting the server", lambda: conn.compute.delete_server(self.machine_id))
        if self.floating_ip_id:
            await self.call("releasing the floating IP", lambda: conn.network.delete_ip(self.floating_ip_id))
        if self.key_pair_name and not self.existing_key:
            await self.call("deleting the key pair", lambda: conn.compute.delete_keypair(self.key_pair_name))

    # ----- what the tags find
    async def _tagged_servers(self, machine: str = "") -> list[Leftover]:
        conn = self.connection()

        def listing() -> list[Any]:
            query = {"name": f"^{re.escape(machine)}$"} if machine else {}
            return [x for x in conn.compute.servers(**query)
                    if (x.metadata or {}).get(STORE_TAG) == self.store_id and x.status not in GONE]

        found = await self.call("listing the store's servers", listing)
        return [Leftover("server", str(x.id), str((x.metadata or {}).get(MACHINE_TAG, "")), str(x.status))
                for x in found]

    async def _tagged_ips(self) -> list[Leftover]:
        conn = self.connection()
        mark = f"{STORE_TAG}={self.store_id}"

        def listing() -> list[Any]:
            return [x for x in conn.network.ips() if mark in (x.description or "").split()]

        found = await self.call("listing the store's floating IPs", listing)
        return [Leftover("floating IP", str(x.id), _described(str(x.description or ""), MACHINE_TAG),
                         str(x.floating_ip_address)) for x in found]

    async def _store_keypairs(self) -> list[Leftover]:
        conn = self.connection()
        mark = f"-{self.store_id}-"
        names = await self.call("listing the key pairs", lambda: [str(k.name) for k in conn.compute.keypairs()])
        return [Leftover("key pair", n, n.rsplit(mark, 1)[0], "") for n in names if mark in n]

    async def leftovers(self) -> list[Leftover]:
        servers = [lo for lo in await self._tagged_servers(self.machine_name) if lo.id != self.machine_id]
        ips = [lo for lo in await self._tagged_ips()
               if lo.machine == self.machine_name and lo.id != self.floating_ip_id]
        return servers + ips

    REMOVAL_ORDER = ("server", "floating IP", "key pair")

    async def remove_leftover(self, leftover: Leftover) -> None:
        conn = self.connection()
        removal: dict[str, tuple[str, Callable[[str], Any]]] = {
            "server": ("deleting the server", conn.compute.delete_server),
            "floating IP": ("releasing the floating IP", conn.network.delete_ip),
            "key pair": ("deleting the key pair", conn.compute.delete_keypair)}
        if leftover.kind in removal:
            what, remove = removal[leftover.kind]
            await self.call(f"{what} {leftover.id}", functools.partial(remove, leftover.id))

    async def store_resources(self) -> list[Leftover]:
        return await self._tagged_servers() + await self._tagged_ips() + await self._store_keypairs()

    def owns(self, leftover: Leftover) -> bool:
        return (leftover.kind, leftover.id) in (("server", self.machine_id or leftover.id),
                                                ("floating IP", self.floating_ip_id or leftover.id),
                                                ("key pair", self.key_pair_name))


_CONNECTIONS: dict[tuple[Any, ...], Any] = {}  # openstacksdk connections (and their tokens) by cloud and user


def _described(description: str, key: str) -> str:
    """A value from a description of key=value words (neutron's floating IPs have no tags on every cloud)."""
    return next((w.split("=", 1)[1] for w in description.split() if w.startswith(key + "=")), "")


def _add_rule(conn: Any, group_id: str, port: int) -> None:
    from openstack import exceptions

    try:
        conn.network.create_security_group_rule(security_group_id=group_id, direction="ingress", ethertype="IPv4",
                                                protocol="tcp", port_range_min=port, port_range_max=port,
                                                remote_ip_prefix="0.0.0.0/0")
    except exceptions.ConflictException:
        pass  # the rule is there already


def _show_keystoneauth_retries() -> None:
    """keystoneauth logs each retry it makes ("Retriable status code 429. Retrying in 1.0s. 3 retries left"): shown
    in the create's progress; its other lines ("Failed to discover available identity versions") are not printed
    raw to stderr by logging's last resort: the failure they precede is told as one line."""
    import logging

    logger = logging.getLogger("keystoneauth")
    if any(isinstance(h, _RetryForwarder) for h in logger.handlers):
        return
    logger.addHandler(_RetryForwarder())


class _RetryForwarder(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "etry" in message or "etries" in message:
            show_retry(f"OpenStack: {message}")


def _named(name: str | None) -> dict[str, str]:
    return {"name": name} if name else {}


def _find_or_none(find: Callable[..., Any], name_or_id: str) -> Any:
    """openstacksdk's find_*, a miss as None (its ignore_missing=True is deprecated)."""
    from openstack import exceptions

    try:
        return find(name_or_id, ignore_missing=False)
    except exceptions.NotFoundException:
        return None


class OpenStackError(MachineError):
    def __init__(self, what: str, status: int, message: str):
        super().__init__(f"OpenStack {what}: {status} {message}{_advice(status, message)}".rstrip())
        self.status = status


def _advice(status: int, message: str) -> str:
    low = message.lower()
    if "quota" in low or status == 413:
        return " (a quota of the project: remove machines or ask the cloud's operator to raise it)"
    if status == 403:
        return " (the cloud's policy refuses this to your user: ask its operator for the role that allows it)"
    if status == 429:
        return " (the API's rate limit, still hit after retries: wait and try again)"
    return ""


def _words(err: Exception) -> str:
    text = str(getattr(err, "details", "") or getattr(err, "message", "") or err).strip()
    return " ".join(text.split()) or type(err).__name__


def _error(what: str, err: Exception) -> MachineError:
    """keystoneauth's and openstacksdk's errors as one line; the status and OpenStack's message where there are."""
    cause = err.__cause__ or err.__context__
    if type(err).__name__ == "SDKException" and isinstance(cause, Exception):
        err = cause  # authorize() wraps keystoneauth's error, status and all, in a bare SDKException
    module = type(err).__module__
    status = int(getattr(err, "status_code", 0) or getattr(err, "http_status", 0) or 0)
    if module.startswith("keystoneauth1"):
        if status == 401:
            # an application credential (clouds.yaml's v3applicationcredential, OS_APPLICATION_CREDENTIAL_*) has
            # no user name or password to check
            app_credential = any(k.startswith("OS_APPLICATION_CREDENTIAL") for k in os.environ) or \
                "applicationcredential" in str(os.environ.get("OS_AUTH_TYPE", "")).replace("_", "")
            hint = "the application credential's id and secret" if app_credential else \
                "the user name, password, project and domain"
            return OpenStackError(what, 401, f"the cloud refused the credentials (check {hint})")
        if status:
            return OpenStackError(what, status, _words(err))
        return MachineError(f"OpenStack {what}: cannot reach the cloud: {_words(err)}")
    if module.startswith("openstack"):
        return OpenStackError(what, status, _words(err)) if status else MachineError(f"OpenStack {what}: "
                                                                                     f"{_words(err)}")
    return MachineError(f"OpenStack {what}: {type(err).__name__}: {_words(err)}")
