"""The driver contract: what every driver is and does, and its settings (config.json's Driver section) read and
written through typed fields whose defaults are written once, in the flag that sets them."""

from __future__ import annotations

import abc
import contextlib
import copy
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

from ..aio import wait_for
from ..errors import MachineError, NotSupported
from ..flags import Flag
from ..states import State

# typing is not loaded at run time (the quick commands import this module): the checker sees a generic Setting,
# Python a plain class
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Generic, TypeVar, cast, overload

    from ..choices import Choice
    from ..events import Reporter

    T = TypeVar("T", str, int, bool, list[Any], dict[str, Any])  # lists and objects: JSON values kept as written

    class _Typed(Generic[T]):
        pass
else:
    T = None

    class _Typed:
        def __class_getitem__(cls, _kind):
            return cls

    def cast(_kind, value):
        return value

    def overload(function):
        return function


class Setting(_Typed[T]):
    """One key of the driver's JSON state as a typed attribute. `flag` names the create option that sets it (its
    default is the flag's); otherwise `default` is given here. A key missing from an older config.json reads as
    the default."""

    def __init__(self, key: str, kind: type[T], default: T | None = None, *, flag: str = "",
                 empty_means_default: bool = True, written_at_create: bool = True):
        self.key, self.flag = key, flag
        self.kind: type[T] = kind
        self.written_at_create = written_at_create  # False: only in config.json once set (keys docker-machine lacks)
        self._default: T | None = default
        self.empty_means_default = empty_means_default  # docker-machine reads `--x ""` as "not given"

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr

    def default_for(self, owner: type[Driver]) -> T:
        if self._default is not None:
            return copy.copy(self._default)  # each config its own list or dict
        if not self.flag:
            return self.kind()
        default = owner.flag_named(self.flag).default
        return self.coerce(default) if default is not None else self.kind()

    def coerce(self, value: Any) -> T:
        convert: Any = self.kind  # a JSON value of the right kind, as config.json would hold it
        return cast(T, convert(value))

    @overload
    def __get__(self, driver: None, owner: type) -> Setting[T]: ...
    @overload
    def __get__(self, driver: Driver, owner: type) -> T: ...  # noqa: F811 - typing's overload, seen only by checkers

    def __get__(self, driver: Driver | None, owner: type) -> Setting[T] | T:  # noqa: F811
        if driver is None:
            return self
        value = driver.config.get(self.key)
        if value is None:
            return self.default_for(type(driver))
        return self.coerce(value)

    def __set__(self, driver: Driver, value: T) -> None:
        driver.config[self.key] = self.coerce(value)

    def from_options(self, driver: Driver, opts: dict[str, Any]) -> None:
        value = opts.get(self.flag)
        if value is None or (value == "" and self.empty_means_default):
            value = self.default_for(type(driver))
        self.__set__(driver, value)


class Driver(abc.ABC):
    """Base driver, as libmachine's: its config dict is the driver's whole state and is what config.json keeps,
    read and written through the Settings its class declares."""

    name = "base"
    summary = ""  # one line: what the driver makes, for the create form
    flags: list[Flag] = []
    # the create form shows these first (required ones always) and folds the driver's other options away; empty:
    # every option in sight
    essential_flags: tuple[str, ...] = ()
    obsolete_flags: tuple[str, ...] = ()  # still accepted from scripts, never offered in the form
    needs: tuple[str, ...] = ()  # (module, extra): an optional library the driver cannot work without
    # seconds one API exchange may take, its client's own retries included: an endpoint that accepts and never
    # answers fails the call in one line instead of holding a create (or `ls`) for many minutes
    api_bound = 90.0

    async def bounded(self, what: str, where: str, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A blocking client call in a thread, bounded by api_bound (the thread is left to its own timeouts)."""
        import asyncio  # here: `ls -q` and the other quick commands load drivers, never an event loop

        given_up = threading.Event()

        def attempt() -> Any:
            _calls.given_up = given_up  # the client's retry hooks ask abandoned() between attempts
            try:
                return operation(*args, **kwargs)
            finally:
                _calls.given_up = None

        try:
            return await wait_for(asyncio.to_thread(attempt), self.api_bound)
        except asyncio.TimeoutError:
            raise MachineError(f"{what}: no answer from {where} within {self.api_bound:g} s (is the endpoint "
                               "right, and does it answer?)") from None
        finally:
            given_up.set()  # past its bound or cancelled (Ctrl-C, SIGTERM): no more retries in the thread

    @staticmethod
    def abandoned() -> bool:
        """In a bounded call's thread: its caller has stopped waiting (a client's retry hook ends the call)."""
        given_up = getattr(_calls, "given_up", None)
        return given_up is not None and given_up.is_set()

    @classmethod
    def check_needs(cls) -> None:
        """Before anything else of a create: the extra that brings the driver's library, named with the command
        that installs it."""
        if cls.needs:
            import importlib

            module, extra = cls.needs
            try:
                importlib.import_module(module)
            except ImportError:
                from ..extras import missing_extra

                raise missing_extra(f"the {cls.name} driver", extra) from None
    provisions = True  # False: create stops after the driver (none)
    # its URL, IP and state are in its record: reading them waits on nothing (the CLI then starts no event loop)
    answers_at_once = False
    flags_given: set[str] | None = None  # at create: the flags the user typed (None: all of them count as typed)
    # set by a create that provisions: a driver whose image applies an engine seed at its first boot calls it just
    # before that boot with (engine URL, the image's dockerd, its unit's ExecStart) and keeps what it returns
    # (provisioning's EngineSeed) in engine_seed, so that provisioning checks the engine instead of restarting it;
    # a driver that cannot know the image's dockerd before it boots passes "" (the guest then names its own)
    seed_engine: Callable[[str, str, str], Awaitable[Any]] | None = None
    engine_seed: Any = None

    ip_address = Setting("IPAddress", str, "")
    machine_name = Setting("MachineName", str, "")
    ssh_user_setting = Setting("SSHUser", str, "root")
    ssh_port_setting = Setting("SSHPort", int, 22)
    ssh_key_setting = Setting("SSHKeyPath", str, "")
    store_path = Setting("StorePath", str, "")
    swarm_master = Setting("SwarmMaster", bool, False, flag="swarm-master")
    swarm_host = Setting("SwarmHost", str, "", flag="swarm-host")
    swarm_discovery = Setting("SwarmDiscovery", str, "", flag="swarm-discovery")

    def __init__(self, config: dict[str, Any]):
        self.config = config

    @classmethod
    def settings(cls) -> list[Setting[Any]]:
        seen: dict[str, Setting[Any]] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                if isinstance(value, Setting):
                    seen[value.key] = value  # a subclass's setting replaces its parent's for the same key
        return list(seen.values())

    @classmethod
    def flag_named(cls, name: str) -> Flag:
        for flag in cls.flags:
            if flag.name == name:
                return flag
        raise KeyError(f"{cls.__name__} has no flag --{name}")

    @classmethod
    def new_config(cls, machine_name: str, store_path: str) -> dict[str, Any]:
        cfg = {s.key: s.default_for(cls) for s in cls.settings() if s.written_at_create}
        cfg.update(MachineName=machine_name, StorePath=store_path)
        return cfg

    # ----- configuration
    def set_config_from_flags(self, opts: dict[str, Any]) -> None:
        """Every setting that a flag sets, from the options (their defaults where not given); subclasses then
        derive and check what they need."""
        self.fill_settings(opts)

    async def configure(self) -> None:
        """Where a driver that lives out of process takes the options set_config_from_flags kept (a plugin's
        SetConfigFromFlags); in-process drivers have done it already."""
        return None

    def fill_settings(self, opts: dict[str, Any]) -> None:
        for setting in self.settings():
            if setting.flag and (setting.flag in opts or any(f.name == setting.flag for f in self.flags)):
                setting.from_options(self, opts)

    @classmethod
    def from_form(cls, values: dict[str, Any]) -> Driver:
        """A driver holding a create form's values as typed so far, unchecked: enough to reach its provider."""
        driver = cls(cls.new_config("", ""))
        driver.fill_settings(values)
        return driver

    # ----- live choices for the create form (cloud drivers)
    @classmethod
    def choice_source(cls, values: dict[str, Any]) -> tuple[str, str]:
        """Who the choices come from ("DigitalOcean") and what they depend on (API, region, account), or ("", "")
        when the driver offers none."""
        return "", ""

    @classmethod
    async def live_choices(cls, values: dict[str, Any]) -> dict[str, list[Choice]]:
        """Choices per flag name, fetched from the provider with the form's values; MachineError when it cannot
        be reached at all."""
        return {}

    def resolve_store_path(self, *parts: str) -> str:
        return os.path.join(self.store_path, "machines", self.machine_name, *parts)

    # ----- lifecycle
    async def pre_create_check(self) -> None:
        return None

    async def create(self, report: Reporter) -> None:
        return None

    async def create_or_undo(self, create: Callable[[dict[str, Any]], Awaitable[None]],
                             undo: Callable[[dict[str, Any]], Awaitable[str]], report: Reporter) -> None:
        """Run a create that notes what it makes in a dict; on any failure undo those, and say what could not be
        undone (a cloud driver's create leaves nothing behind). The API's retries show in its progress."""
        made: dict[str, Any] = {}
        with retries_shown(report):
            try:
                await create(made)
            except BaseException as err:
                left = await undo(made)
                if isinstance(err, MachineError) and left:
                    raise MachineError(f"{err} (and removing what the create made failed: {left})") from None
                raise

    @abc.abstractmethod
    async def state(self) -> State:
        """The machine's state as its hypervisor, cloud or network sees it; VMMissing when it is gone."""

    async def private_address(self) -> str:
        """The machine's address on a private network its peers share (a VPC, a local VM network), or ""."""
        return ""

    async def get_ip(self) -> str:
        ip = self.ip_address
        if not ip:
            raise MachineError("IP address is not set")
        return ip

    @abc.abstractmethod
    async def get_url(self) -> str:
        """The Docker Engine's URL (tcp://IP:PORT)."""

    async def start(self) -> None:
        raise NotSupported(f"{self.name} driver does not support start")

    async def stop(self) -> None:
        raise NotSupported(f"{self.name} driver does not support stop")

    async def restart(self) -> None:
        raise NotSupported(f"{self.name} driver does not support restart")

    async def kill(self) -> None:
        raise NotSupported(f"{self.name} driver does not support kill")

    async def remove(self) -> None:
        return None

    # ----- ssh
    async def ssh_hostname(self) -> str:
        return await self.get_ip()

    def ssh_port(self) -> int:
        return self.ssh_port_setting or 22

    def ssh_user(self) -> str:
        return self.ssh_user_setting or "root"

    def ssh_key_path(self) -> str:
        return self.ssh_key_setting

    def log_path(self) -> str:
        """A console or serial log the driver keeps, if any (the TUI shows it)."""
        return ""

    async def why_down(self) -> str:
        """Why the machine vanished under an operation (e.g. its VM process died), or "" if it did not."""
        return ""

    async def prepare_host(self, conn: Any, report: Reporter) -> None:
        """Driver work inside the guest once SSH answers, before provisioning (e.g. growing the disk)."""
        return None


async def gather_choices(listings: dict[str, Awaitable[list[Choice]]]) -> dict[str, list[Choice]]:
    """Each listing at once; one refused (a permission the user lacks) leaves the others. The first failure is
    raised only when every listing failed."""
    import asyncio

    names = list(listings)
    answers = await asyncio.gather(*listings.values(), return_exceptions=True)
    found = {n: a for n, a in zip(names, answers, strict=True) if isinstance(a, list) and a}
    failures = [a for a in answers if isinstance(a, BaseException)]
    for failure in failures:
        if not isinstance(failure, Exception):
            raise failure  # a cancellation, an interrupt
    if failures and not found:
        raise failures[0] if isinstance(failures[0], MachineError) else MachineError(str(failures[0]))
    return found


# where a cloud SDK's retries are told while a create runs (the create's progress); threads started by
# asyncio.to_thread see it, as they run in a copy of the caller's context
_calls = threading.local()  # a bounded call's thread: whether its caller gave up on it
_retry_listener: ContextVar[Callable[[str], None] | None] = ContextVar("machine_tui_retry_listener", default=None)


@contextlib.contextmanager
def retries_shown(report: Reporter) -> Iterator[None]:
    """Throttling and transient failures the SDK retries are shown in the create's progress, not only waited out."""
    token = _retry_listener.set(report.info)
    try:
        yield
    finally:
        _retry_listener.reset(token)


def show_retry(message: str) -> None:
    listener = _retry_listener.get()
    if listener is not None:
        listener(message)
