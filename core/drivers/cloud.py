"""What the cloud drivers share: a journal of what a create made, tags that find what a journal missed, and the
account a machine lives in.

- Journal: each resource's id goes into config.json the moment the API returns it (`noted()`), before any wait,
  so a create killed at any point leaves a record that `rm -f` can act on.
- Tags: each resource carries the store's id and the machine's name, so `rm` finds what even the journal missed (the
  API made it, the process died before the answer came), and `orphans` finds what no machine of the store owns.
- Account: the non-secret identity of the credentials a machine was made with. A machine is never declared gone,
  and never removed, under another account's credentials."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import MachineError, VMMissing
from .base import Driver, Setting

STORE_TAG = "machine-tui-store"
MACHINE_TAG = "machine-tui-machine"


@dataclass(frozen=True)
class Leftover:
    """A cloud resource tagged with a store's id: what `orphans` lists and `rm` sweeps."""

    kind: str  # "instance", "key pair", "droplet"...
    id: str
    machine: str  # the machine name its tags name
    detail: str = ""  # its state, region, address: what helps a user recognise it


class WrongAccount(MachineError):
    """The credentials in force are another account's: nothing was touched, not even with rm -f."""


class CloudDriver(Driver):
    provider = "the cloud"  # "AWS", "DigitalOcean", "OpenStack": how the account is named to a user
    account_kind = "account"  # what the provider calls it: "account", "team", "project"

    store_id = Setting("StoreId", str, "", written_at_create=False)
    account_id = Setting("Account", str, "", written_at_create=False)

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self._journal: Callable[[], None] | None = None
        self._account_in_force: str | None = None

    # ----- the journal and the tags
    def keep_journal(self, store_id: str, write: Callable[[], None]) -> None:
        """At create: the store whose id tags what is made, and how config.json is written at once."""
        self.store_id = store_id
        self._journal = write

    def noted(self) -> None:
        """config.json now holds what the API just returned (before anything waits on it)."""
        if self._journal is not None:
            self._journal()

    def tag_pairs(self) -> dict[str, str]:
        return {STORE_TAG: self.store_id, MACHINE_TAG: self.machine_name} if self.store_id else {}

    async def leftovers(self) -> list[Leftover]:
        """Resources tagged with this store and machine that the journal does not hold (rm removes them too)."""
        return []

    REMOVAL_ORDER: tuple[str, ...] = ()  # kinds removed first (an instance before the key or address it uses)

    async def discard(self, leftovers: list[Leftover]) -> list[str]:
        """Remove the given resources, in REMOVAL_ORDER; what could not be removed, one line each."""
        order = {kind: i for i, kind in enumerate(self.REMOVAL_ORDER)}
        problems = []
        for leftover in sorted(leftovers, key=lambda lo: order.get(lo.kind, len(order))):
            try:
                await self.remove_leftover(leftover)
            except MachineError as err:
                problems.append(str(err))
        return problems

    async def remove_leftover(self, leftover: Leftover) -> None:
        """Remove one resource the tags found (already gone is fine)."""
        raise MachineError(f"{leftover.kind} {leftover.id}: this driver cannot remove it")

    async def sweep(self) -> list[str]:
        """rm's last step: what the tags still find of this machine, removed."""
        if not self.store_id:
            return []  # a machine docker-machine made (or made before tags): its journal is all there is
        return await self.discard(await self.leftovers())

    # ----- orphans: what a store's tags find that no machine of it owns
    @classmethod
    async def tagged(cls, values: dict[str, Any], store_id: str) -> list[Leftover]:
        """Every resource tagged with this store's id, reached with the create flags' values (credentials,
        region)."""
        driver = cls.from_form(values)
        assert isinstance(driver, CloudDriver)
        driver.store_id = store_id
        return await driver.store_resources()

    async def store_resources(self) -> list[Leftover]:
        """Every resource this driver's cloud tags with store_id (the machine named in each)."""
        return []

    def owns(self, leftover: Leftover) -> bool:
        """The resource is this machine's: its journal holds it, or holds nothing of that kind yet (a create killed
        before the id was written; the machine's own `rm` sweeps it by its tags)."""
        return False

    # ----- reading many machines at once (ls, the app's poll)
    def shared_reads(self) -> tuple[Any, ...]:
        """What machines must share to be read by one listing call (API, region, credentials); () for none."""
        return ()

    def poll_every(self) -> float:
        """Seconds between the app's reads of this machine: clouds count requests per hour."""
        return 30.0

    @classmethod
    async def read_together(cls, drivers: list[CloudDriver]) -> None:
        """One listing call for all these machines (the same shared_reads): each keeps what it showed of itself,
        and asks the API on its own only for what the listing did not show."""
        return None

    # ----- the account
    async def account(self) -> str:
        """The non-secret identity of the credentials in force ("" when the provider cannot say)."""
        return ""

    async def bind_account(self) -> None:
        """At create, before anything is made: which account the machine will live in."""
        self.account_id = self._account_in_force = await self.account()

    async def check_account(self) -> None:
        """WrongAccount when the credentials in force are not the machine's account's (asked once per driver)."""
        if not self.account_id:
            return
        if self._account_in_force is None:
            self._account_in_force = await self.account()
        now = self._account_in_force
        if now and now != self.account_id:
            raise WrongAccount(
                f"the machine is in {self.provider} {self.account_kind} {self.account_id}, and the credentials in "
                f"force are {self.account_kind} {now}'s: nothing was touched (use {self.account_id}'s credentials)")

    async def vanished(self, message: str) -> VMMissing:
        """NotFound from the API: the machine is gone, unless the credentials are another account's (then its
        resources were never visible, and WrongAccount is raised instead)."""
        await self.check_account()
        return VMMissing(message)
