"""The digitalocean driver, on pydo (DigitalOcean's own client): docker-machine's flags, fields and calls.

Beyond docker-machine:
- The default image is Ubuntu 24.04 (docker-machine's ubuntu-16-04-x64 is retired).
- A token from DIGITALOCEAN_ACCESS_TOKEN is read at run time and never written to config.json. Only a token given
  as the flag is kept, as docker-machine keeps it.
- The wait for the droplet's address is bounded: docker-machine polls every second for ever.
- A failed create deletes the droplet and the key it made.
- Rate limits (429) and server errors are retried with backoff on reads. A create is sent once, because a retried
  POST can make two droplets."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Any

from ..errors import HostNotRunning, MachineError, PreCreateError, VMMissing
from ..extras import missing_extra
from ..flags import PORT, Flag
from ..states import State
from .base import Setting, gather_choices, show_retry
from .cloud import STORE_TAG, CloudDriver, Leftover

if TYPE_CHECKING:
    from ..choices import Choice

KEY_MARK = "machine-tui store "  # in the name of each key a create uploads, before the store's id
STATES = {"new": State.STARTING, "active": State.RUNNING, "off": State.STOPPED}
ENGINE_PORT = 2376
_B = "bool"

FLAGS = [
    Flag("digitalocean-access-token", "Digital Ocean access token (kept in config.json only when given as this flag)",
         env="DIGITALOCEAN_ACCESS_TOKEN", secret=True),
    Flag("digitalocean-backups", "enable backups for droplet", _B, False, "DIGITALOCEAN_BACKUPS"),
    Flag("digitalocean-image", "Digital Ocean Image", default="ubuntu-24-04-x64", env="DIGITALOCEAN_IMAGE"),
    Flag("digitalocean-ipv6", "enable ipv6 for droplet", _B, False, "DIGITALOCEAN_IPV6"),
    Flag("digitalocean-monitoring", "enable monitoring for droplet", _B, False, "DIGITALOCEAN_MONITORING"),
    Flag("digitalocean-private-networking", "enable private networking for droplet", _B, False,
         "DIGITALOCEAN_PRIVATE_NETWORKING"),
    Flag("digitalocean-region", "Digital Ocean region", default="nyc3", env="DIGITALOCEAN_REGION"),
    Flag("digitalocean-size", "Digital Ocean size", default="s-1vcpu-1gb", env="DIGITALOCEAN_SIZE"),
    Flag("digitalocean-ssh-key-fingerprint", "SSH key fingerprint", env="DIGITALOCEAN_SSH_KEY_FINGERPRINT"),
    Flag("digitalocean-ssh-key-path", "SSH private key path ", env="DIGITALOCEAN_SSH_KEY_PATH"),
    Flag("digitalocean-ssh-port", "SSH port", "int", 22, "DIGITALOCEAN_SSH_PORT", bounds=PORT),
    Flag("digitalocean-ssh-user", "SSH username", default="root", env="DIGITALOCEAN_SSH_USER"),
    Flag("digitalocean-tags", "comma-separated list of tags to apply to the Droplet", env="DIGITALOCEAN_TAGS"),
    Flag("digitalocean-userdata", "path to file with cloud-init user-data", env="DIGITALOCEAN_USERDATA"),
]


class DigitalOceanDriver(CloudDriver):
    """Fields in docker-machine's order (dm/drivers/digitalocean), so its stores load and ours load in it."""

    name = "digitalocean"
    provider = "DigitalOcean"
    account_kind = "team"
    needs = ("pydo", "digitalocean")
    summary = "a droplet on DigitalOcean (needs machine-tui[digitalocean])"
    essential_flags = ("digitalocean-access-token", "digitalocean-region", "digitalocean-size", "digitalocean-image")
    flags = FLAGS

    ssh_user_setting = Setting("SSHUser", str, flag="digitalocean-ssh-user")
    ssh_port_setting = Setting("SSHPort", int, flag="digitalocean-ssh-port")
    access_token = Setting("AccessToken", str, flag="digitalocean-access-token")
    droplet_id = Setting("DropletID", int, 0)
    droplet_name = Setting("DropletName", str, "")  # never set, as in docker-machine
    image = Setting("Image", str, flag="digitalocean-image")
    region = Setting("Region", str, flag="digitalocean-region")
    ssh_key_id = Setting("SSHKeyID", int, 0)
    ssh_key_fingerprint = Setting("SSHKeyFingerprint", str, flag="digitalocean-ssh-key-fingerprint")
    ssh_key = Setting("SSHKey", str, flag="digitalocean-ssh-key-path")
    size = Setting("Size", str, flag="digitalocean-size")
    ipv6 = Setting("IPv6", bool, flag="digitalocean-ipv6")
    backups = Setting("Backups", bool, flag="digitalocean-backups")
    private_networking = Setting("PrivateNetworking", bool, flag="digitalocean-private-networking")
    user_data_file = Setting("UserDataFile", str, flag="digitalocean-userdata")
    monitoring = Setting("Monitoring", bool, flag="digitalocean-monitoring")
    tags = Setting("Tags", str, flag="digitalocean-tags")

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self._client: Any = None
        self._seen: dict[str, Any] | None = None  # the droplet as a listing of many machines showed it
        self._plain_http = False
        self.wait_tries, self.wait_delay = 180, 2.0  # for the droplet's public address

    def set_config_from_flags(self, opts: dict[str, Any]) -> None:
        super().set_config_from_flags(opts)
        given = self.flags_given
        if given is not None and "digitalocean-access-token" not in given:
            self.access_token = ""  # from the environment: read when used, never stored
        for setting, flag in (("ssh_key", "--digitalocean-ssh-key-path"),
                              ("user_data_file", "--digitalocean-userdata")):
            path = getattr(self, setting)
            if path:
                path = os.path.abspath(os.path.expanduser(path))
                if not os.path.isfile(path):
                    raise MachineError(f"{flag} {path}: no such file")
                setattr(self, setting, path)
        if self.ssh_key_fingerprint and not self.ssh_key:
            raise MachineError("--digitalocean-ssh-key-fingerprint also requires --digitalocean-ssh-key-path "
                               "(the private key of that fingerprint)")

    # ----- the API
    def token(self) -> str:
        from ..settings import digitalocean_token

        token = self.access_token or digitalocean_token()
        if not token:
            raise MachineError("no DigitalOcean token: set DIGITALOCEAN_ACCESS_TOKEN or pass "
                               "--digitalocean-access-token")
        return token

    def shared_reads(self) -> tuple[Any, ...]:
        import hashlib

        from ..settings import digitalocean_api, digitalocean_token

        token = self.access_token or digitalocean_token()
        return (digitalocean_api(), hashlib.sha256(token.encode()).hexdigest()) if token else ()

    @classmethod
    async def read_together(cls, drivers: list[CloudDriver]) -> None:
        """The account's droplets, 200 a page, until every machine's is seen: one request for up to 200."""
        mine = [d for d in drivers if isinstance(d, DigitalOceanDriver) and d.droplet_id]
        if not mine:
            return
        first = mine[0]
        client = first.client()
        wanted = {d.droplet_id for d in mine}
        found: dict[int, Any] = {}
        for page in range(1, 101):
            answer = await first.call("listing droplets", lambda p=page, **kw: client.droplets.list(
                per_page=200, page=p, **kw))
            found.update({d["id"]: d for d in answer.get("droplets", [])})
            if wanted <= set(found) or not (answer.get("links", {}).get("pages") or {}).get("next"):
                break
        for d in mine:
            d._client, d._plain_http = client, first._plain_http
            d._seen = found.get(d.droplet_id)

    def client(self) -> Any:
        key = self.shared_reads()
        if self._client is None and key in _CLIENTS:
            self._client, self._plain_http = _CLIENTS[key]
        if self._client is None:
            try:
                import pydo
            except ImportError:
                raise missing_extra("the digitalocean driver", "digitalocean") from None
            from ..settings import digitalocean_api

            endpoint = digitalocean_api()
            # pydo refuses a bearer token over plain http unless each call says so: an http API is one the user
            # named (a proxy, the tests' stand-in on loopback)
            self._plain_http = endpoint.startswith("http://")
            # azure-core's transport reads connection_timeout and read_timeout (its default: 300 s each)
            self._client = pydo.Client(token=self.token(), endpoint=endpoint, timeout=int(min(60, self.api_bound)),
                                       connection_timeout=min(15, self.api_bound),
                                       read_timeout=min(30, self.api_bound), retry_total=3, retry_backoff_factor=0.8)
            _show_retries(self._client)
            _CLIENTS[key] = (self._client, self._plain_http)
        return self._client

    async def call(self, what: str, operation: Any, *args: Any, retries: bool = True) -> Any:
        """One API call in a thread; a failure as one line with DigitalOcean's own message. A 404 comes back as the
        error dict pydo returns (the caller decides what it means)."""
        from pydo.exceptions import HttpResponseError  # type: ignore[attr-defined]  # azure-core's, re-exported

        kwargs: dict[str, Any] = {} if retries else {"retry_total": 0}
        kwargs["raw_response_hook"] = self._note_rate_limit
        if self._plain_http:
            kwargs["enforce_https"] = False
        try:
            from ..settings import digitalocean_api

            return await self.bounded(f"DigitalOcean {what}", digitalocean_api() or "the DigitalOcean API",
                                      operation, *args, **kwargs)
        except HttpResponseError as err:
            raise DoError(what, err.status_code or 0, _message(err)) from None
        except Exception as err:
            if type(err).__module__.startswith("azure."):  # the transport (pydo's own pipeline): one line
                from ..settings import digitalocean_api

                raise MachineError(f"DigitalOcean {what}: {err} (from {digitalocean_api()})") from None
            raise

    def _note_rate_limit(self, response: Any) -> None:
        """The token's requests left this hour, from each answer's ratelimit-remaining and ratelimit-limit."""
        headers = getattr(getattr(response, "http_response", None), "headers", None) or {}
        try:
            left, limit = int(headers["ratelimit-remaining"]), int(headers["ratelimit-limit"])
        except (KeyError, ValueError, TypeError):
            return
        _RATE_LIMITS[self.shared_reads()] = (left, limit)

    def poll_every(self) -> float:
        """Every 30 s; every 5 minutes once a tenth of the token's hourly requests is all that is left (the app
        must not spend what the user's own scripts and creates need)."""
        left, limit = _RATE_LIMITS.get(self.shared_reads(), (1, 0))
        return 300.0 if limit and left < limit / 10 else 30.0

    # ----- live choices for the create form
    @classmethod
    def choice_source(cls, values: dict[str, Any]) -> tuple[str, str]:
        import hashlib

        from ..settings import digitalocean_api, digitalocean_token

        token = values.get("digitalocean-access-token") or digitalocean_token()
        account = hashlib.sha256(token.encode()).hexdigest()[:12] if token else ""
        return "DigitalOcean", f"{digitalocean_api()}|{account}"  # the keys listed are the account's

    @classmethod
    async def live_choices(cls, values: dict[str, Any]) -> dict[str, list[Choice]]:
        from ..choices import Choice, size_detail

        driver = cls.from_form(values)
        assert isinstance(driver, DigitalOceanDriver)
        client = driver.client()

        async def listing(what: str, operation: Any, key: str, **query: Any) -> list[dict[str, Any]]:
            answer = await driver.call(what, lambda **kw: operation(per_page=200, **query, **kw))
            items: list[dict[str, Any]] = answer.get(key, [])
            return items

        async def regions() -> list[Choice]:
            found = await listing("listing regions", client.regions.list, "regions")
            return [Choice(r["slug"], r.get("name", "")) for r in found if r.get("available", True)]

        async def sizes() -> list[Choice]:
            found = await listing("listing sizes", client.sizes.list, "sizes")
            return [Choice(z["slug"], size_detail(z.get("vcpus"), z.get("memory"), z.get("price_hourly"),
                                                  f"{z.get('disk', 0)} GB disk"))
                    for z in sorted(found, key=lambda z: z.get("price_hourly") or 0) if z.get("available", True)]

        async def images() -> list[Choice]:
            found = await listing("listing images", client.images.list, "images", type="distribution")
            return [Choice(i["slug"], f"{i.get('distribution', '')} {i.get('name', '')}".strip())
                    for i in found if i.get("slug")]

        async def keys() -> list[Choice]:
            found = await listing("listing SSH keys", client.ssh_keys.list, "ssh_keys")
            return [Choice(k["fingerprint"], k.get("name", "")) for k in found]

        return await gather_choices({"digitalocean-region": regions(), "digitalocean-size": sizes(),
                                     "digitalocean-image": images(), "digitalocean-ssh-key-fingerprint": keys()})

    # ----- the account
    async def account(self) -> str:
        """The token's team (its uuid; the account's own where the API names no team)."""
        answer = await self.call("reading the account", self.client().account.get)
        account = answer.get("account", {})
        return str((account.get("team") or {}).get("uuid") or account.get("uuid") or "")

    def key_name(self) -> str:
        """The uploaded key's name: the machine's, and the store's id (keys take no tags) so that `orphans` knows
        its keys from the user's own."""
        return f"{self.machine_name} ({KEY_MARK}{self.store_id})" if self.store_id else self.machine_name

    def store_tag(self) -> str:
        """DigitalOcean's tags are bare names (letters, digits, `-`, `_`, `:`): the store's id in one; the machine
        is the droplet's name."""
        return f"{STORE_TAG}:{self.store_id}" if self.store_id else ""

    # ----- create
    async def pre_create_check(self) -> None:
        try:
            await self.bind_account()
            answer = await self.call("listing regions", self.client().regions.list, retries=True)
        except MachineError as err:
            raise PreCreateError(f'Error with pre-create check: "{err}"') from None
        regions = {r.get("slug"): r for r in answer.get("regions", [])}
        if self.region not in regions:
            raise PreCreateError(f'Error with pre-create check: "invalid region {self.region!r}; DigitalOcean has '
                                 f'{", ".join(sorted(regions))}"')
        if not regions[self.region].get("available", True):
            raise PreCreateError(f'Error with pre-create check: "region {self.region} takes no new droplets now"')

    async def create(self, report: Any) -> None:
        await self.create_or_undo(lambda made: self._create(report, made), self._undo, report)

    async def _create(self, report: Any, made: dict[str, int]) -> None:
        from ..sshkeys import adopt_or_make_key

        report.info("Creating SSH key...")
        key_path = self.ssh_key_setting = adopt_or_make_key(self.ssh_key, self.resolve_store_path())
        self.noted()  # the key's path: rm finds an upload whose answer never came by its fingerprint
        client = self.client()
        if self.ssh_key_fingerprint:
            answer = await self.call("reading the SSH key", client.ssh_keys.get, self.ssh_key_fingerprint)
            if "ssh_key" not in answer:
                raise MachineError(f"DigitalOcean has no SSH key with the fingerprint {self.ssh_key_fingerprint}")
            self.ssh_key_id = answer["ssh_key"]["id"]
        else:
            report.info("Uploading the SSH key...")
            with open(key_path + ".pub") as fh:
                body = {"name": self.key_name(), "public_key": fh.read().strip()}
            answer = await self.call("uploading the SSH key", client.ssh_keys.create, body, retries=False)
            self.ssh_key_id = answer["ssh_key"]["id"]
            made["key"] = self.ssh_key_id
            self.noted()
        spec: dict[str, Any] = {
            "name": self.machine_name, "region": self.region, "size": self.size, "image": self.image,
            "ssh_keys": [self.ssh_key_id], "backups": self.backups, "ipv6": self.ipv6,
            "private_networking": self.private_networking, "monitoring": self.monitoring,
            "tags": [t.strip() for t in self.tags.split(",") if t.strip()] + ([self.store_tag()] if self.store_id
                                                                                else [])}
        if self.user_data_file:
            with open(self.user_data_file) as fh:
                spec["user_data"] = fh.read()
        report.info(f"Creating a {self.size} droplet of {self.image} in {self.region}...")
        answer = await self.call("creating the droplet", client.droplets.create, spec, retries=False)
        self.droplet_id = answer["droplet"]["id"]
        made["droplet"] = self.droplet_id
        self.noted()
        report.info("Waiting for the droplet's address...")
        seen = ""
        for _ in range(self.wait_tries):
            droplet = await self._droplet()
            if droplet.get("status", "") != seen:
                seen = droplet.get("status", "")
                report.info(f"Droplet {self.droplet_id} is {seen}")
            public = [n["ip_address"] for n in droplet.get("networks", {}).get("v4", []) if n.get("type") == "public"]
            private = [n["ip_address"] for n in droplet.get("networks", {}).get("v4", [])
                       if n.get("type") == "private"]
            if public:
                self.ip_address = public[-1]  # the last one wins, as in docker-machine
                report.info(f"The droplet's address is {self.ip_address}")
                if private:
                    report.info(f"The droplet's private address is {private[-1]}")
                return
            await asyncio.sleep(self.wait_delay)
        raise MachineError(f"droplet {self.droplet_id} got no public address within "
                           f"{self.wait_tries * self.wait_delay:.0f} s")

    async def _undo(self, made: dict[str, int]) -> str:
        left: list[str] = []
        if not made:
            return ""
        client = self.client()
        if "droplet" in made:
            try:
                await self._delete_for_sure(made["droplet"])
                self.droplet_id = 0
            except MachineError as err:
                left.append(f"droplet {made['droplet']}: {err}")
        if "key" in made:
            try:
                await self.call("deleting the SSH key", client.ssh_keys.delete, made["key"])
            except MachineError as err:
                left.append(f"SSH key {made['key']}: {err}")
        return "; ".join(left)

    async def _delete_for_sure(self, droplet_id: int) -> None:
        """A droplet being made is locked, and a delete sent then can be ignored: wait until it is unlocked, delete,
        and read it back until the API says 404 (deleting again while it is still there), within the wait's bound."""
        client = self.client()
        for _ in range(self.wait_tries):
            answer = await self.call("reading the droplet", client.droplets.get, droplet_id)
            droplet = answer.get("droplet")
            if droplet is None:
                return  # 404: gone
            if not droplet.get("locked"):
                await self.call("deleting the droplet", client.droplets.destroy, droplet_id)
            await asyncio.sleep(self.wait_delay)
        raise MachineError(f"droplet {droplet_id} was still there {self.wait_tries * self.wait_delay:.0f} s after "
                           "its delete")

    # ----- state and lifecycle
    async def _droplet(self) -> dict[str, Any]:
        if not self.droplet_id:
            raise VMMissing("the machine has no droplet (its create did not get that far)")
        if self._seen is not None:
            return self._seen
        answer = await self.call("reading the droplet", self.client().droplets.get, self.droplet_id)
        if "droplet" not in answer:  # pydo returns the 404 body instead of raising
            raise await self.vanished(f"droplet {self.droplet_id} does not exist")
        droplet: dict[str, Any] = answer["droplet"]
        return droplet

    async def state(self) -> State:
        return STATES.get((await self._droplet()).get("status", ""), State.NONE)

    async def get_url(self) -> str:
        if await self.state() != State.RUNNING:
            raise HostNotRunning()
        return f"tcp://{await self.get_ip()}:{ENGINE_PORT}"

    async def _action(self, kind: str) -> None:
        answer = await self.call(f"{kind.replace('_', ' ')} of the droplet", self.client().droplet_actions.post,
                                 self.droplet_id, {"type": kind}, retries=False)
        if "action" not in answer:
            raise VMMissing(f"droplet {self.droplet_id} does not exist")

    async def start(self) -> None:
        await self._action("power_on")

    async def stop(self) -> None:
        await self._action("shutdown")

    async def restart(self) -> None:
        await self._action("reboot")

    async def kill(self) -> None:
        await self._action("power_off")

    async def remove(self) -> None:
        """The key this machine uploaded, then the droplet; either already gone is fine. A key whose upload's
        answer never came is found by the fingerprint of the machine's own public key."""
        client = self.client()
        if not self.ssh_key_fingerprint:
            key: int | str = self.ssh_key_id
            if not key and self.store_id:
                # the upload's answer never came: the key of that fingerprint, only if it bears the machine's name
                # (a key the user uploaded under another name is theirs)
                fingerprint = _fingerprint(self.ssh_key_path() + ".pub")
                if fingerprint:
                    answer = await self.call("reading the SSH key", client.ssh_keys.get, fingerprint)
                    if (answer.get("ssh_key") or {}).get("name") == self.key_name():
                        key = fingerprint
            if key:
                await self.call("deleting the SSH key", client.ssh_keys.delete, key)  # a 404 returns
        if self.droplet_id:
            await self.call("deleting the droplet", client.droplets.destroy, self.droplet_id)

    # ----- what the tags find
    async def _tagged_droplets(self) -> list[dict[str, Any]]:
        client = self.client()
        found: list[dict[str, Any]] = []
        for page in range(1, 101):
            answer = await self.call("listing the store's droplets", lambda p=page, **kw: client.droplets.list(
                tag_name=self.store_tag(), per_page=200, page=p, **kw))
            found += answer.get("droplets", [])
            if not (answer.get("links", {}).get("pages") or {}).get("next"):
                break
        return found

    async def _store_keys(self) -> list[Leftover]:
        client = self.client()
        found: list[Leftover] = []
        mark = f" ({KEY_MARK}{self.store_id})"
        for page in range(1, 101):
            answer = await self.call("listing the SSH keys", lambda p=page, **kw: client.ssh_keys.list(
                per_page=200, page=p, **kw))
            found += [Leftover("SSH key", str(k["id"]), k["name"].removesuffix(mark), k.get("fingerprint", ""))
                      for k in answer.get("ssh_keys", []) if str(k.get("name", "")).endswith(mark)]
            if not (answer.get("links", {}).get("pages") or {}).get("next"):
                break
        return found

    async def leftovers(self) -> list[Leftover]:
        return [Leftover("droplet", str(d["id"]), d.get("name", ""), d.get("status", ""))
                for d in await self._tagged_droplets()
                if d.get("name") == self.machine_name and d["id"] != self.droplet_id]

    REMOVAL_ORDER = ("droplet", "SSH key")

    async def remove_leftover(self, leftover: Leftover) -> None:  # a 404 returns: already gone is fine
        if leftover.kind == "droplet":
            await self.call(f"deleting the droplet {leftover.id}", self.client().droplets.destroy, int(leftover.id))
        elif leftover.kind == "SSH key":
            await self.call(f"deleting the SSH key {leftover.id}", self.client().ssh_keys.delete, int(leftover.id))

    async def store_resources(self) -> list[Leftover]:
        return [Leftover("droplet", str(d["id"]), d.get("name", ""),
                         f"{d.get('status', '')} in {(d.get('region') or {}).get('slug', '')}")
                for d in await self._tagged_droplets()] + await self._store_keys()

    def owns(self, leftover: Leftover) -> bool:
        if leftover.kind == "SSH key":
            return leftover.id == str(self.ssh_key_id) or not (self.ssh_key_id or self.ssh_key_fingerprint)
        return leftover.kind == "droplet" and leftover.id == str(self.droplet_id or leftover.id)


_RATE_LIMITS: dict[tuple[Any, ...], tuple[int, int]] = {}  # token -> (requests left, the hourly limit)
_CLIENTS: dict[tuple[Any, ...], tuple[Any, bool]] = {}  # pydo clients (and plain http) by API and token


def _fingerprint(public_key_path: str) -> str:
    """DigitalOcean's name for a key: the MD5 fingerprint of its public key (aa:bb:...), "" without the file."""
    import base64
    import hashlib

    try:
        with open(public_key_path) as fh:
            blob = base64.b64decode(fh.read().split()[1])
    except (OSError, IndexError, ValueError):
        return ""
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def _show_retries(client: Any) -> None:
    """Each retry of pydo's pipeline (azure-core's retry policy: 429 honouring retry-after, 5xx, with backoff; 3
    retries) shown in the create's progress. The policy is pydo's own instance, watched where it sleeps."""
    policy = getattr(getattr(client, "_config", None), "retry_policy", None)
    sleep = getattr(policy, "sleep", None)
    if policy is None or sleep is None:
        return  # another pydo: its retries still happen, unseen

    def shown_sleep(settings: Any, transport: Any, response: Any = None) -> None:
        status = getattr(getattr(response, "http_response", None), "status_code", 0)
        why = f"HTTP {status}" if status else "no answer"
        done = policy.total_retries - int(settings.get("total", 0))
        show_retry(f"DigitalOcean {why}, retrying with backoff ({done} of {policy.total_retries} retries)")
        sleep(settings, transport, response)

    policy.sleep = shown_sleep


class DoError(MachineError):
    def __init__(self, what: str, status: int, message: str):
        advice = {401: " (the token is not valid: make a new one in the control panel's API page)",
                  403: " (the token lacks the write scope)",
                  429: " (the API's rate limit: wait a minute and try again)"}.get(status, "")
        super().__init__(f"DigitalOcean {what}: {status} {message}{advice}")
        self.status = status


def _message(err: Any) -> str:
    import json

    try:
        body = json.loads(err.response.text())
        return str(body.get("message") or body)
    except Exception:  # noqa: BLE001 - a body that is not JSON: its reason is enough
        return str(err.reason or err.message or "").strip()
