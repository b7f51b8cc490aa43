"""Any docker-machine driver plugin as a machine-tui driver: `docker-machine-driver-NAME` from PATH, or one of
docker-machine's own built-in drivers served by the `docker-machine` binary (MACHINE_PLUGIN_DRIVER_NAME).

As docker-machine does, each operation starts the plugin, hands it the machine's JSON (SetConfigRaw), calls it, takes
its JSON back (GetConfigRaw) where the call may change it, and closes it; config.json keeps that JSON as the plugin
wrote it, so docker-machine and machine-tui read each other's machines."""

from __future__ import annotations

import json
import re
import shutil
from typing import TYPE_CHECKING, Any

from ..errors import HostNotRunning, MachineError, PreCreateError
from ..flags import Flag
from ..plugins import gob
from ..plugins.rpc import EMPTY, LONG_CALL_BOUND, RPC_FLAGS, RPC_FLAGS_NAME, Plugin, RemoteError
from ..states import State
from .base import Driver

if TYPE_CHECKING:
    from ..events import Reporter

PREFIX = "docker-machine-driver-"
# docker-machine 0.16's built-in drivers (localbinary.CoreDrivers): the docker-machine binary serves each
DOCKER_MACHINE_DRIVERS = ("amazonec2", "azure", "digitalocean", "exoscale", "generic", "google", "hyperv", "none",
                          "openstack", "rackspace", "softlayer", "virtualbox", "vmwarefusion", "vmwarevcloudair",
                          "vmwarevsphere")
STATES = list(State)  # libmachine's state.State numbers them in this order: None, Running, Paused, ...
KINDS = {"*mcnflag.StringFlag": "string", "*mcnflag.IntFlag": "int", "*mcnflag.BoolFlag": "bool",
         "*mcnflag.StringSliceFlag": "list"}
PLUGIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SECRET = re.compile(r"secret|token|password|passwd|api-key|access-key", re.I)
# create options every docker-machine driver may read from its flags (libmachine's drivers read these three)
NOT_RUNNING = "Host is not running"  # libmachine's drivers.ErrHostIsNotRunning, as a plugin sends it
SHARED_VALUES = {"swarm-master": False, "swarm-host": "tcp://0.0.0.0:3376", "swarm-discovery": ""}


def find_plugin(name: str) -> tuple[str, str]:
    """(binary, "") for docker-machine-driver-NAME on PATH; (docker-machine's path, "docker-machine") for one of
    docker-machine's built-in drivers when that binary is on PATH; ("", "") when neither."""
    if not PLUGIN_NAME.fullmatch(name):
        return "", ""  # a name that could be a path is never looked up
    found = shutil.which(PREFIX + name)
    if found:
        return found, ""
    if name in DOCKER_MACHINE_DRIVERS:
        host = shutil.which("docker-machine")
        if host:
            return host, "docker-machine"
    return "", ""


def flag_from_plugin(item: Any) -> Flag | None:
    """One of mcnflag's flags as machine-tui's Flag (None for a kind mcnflag does not have)."""
    if not isinstance(item, gob.Concrete) or item.name not in KINDS or not isinstance(item.value, dict):
        return None
    kind, v = KINDS[item.name], item.value
    name = str(v.get("Name", ""))
    default = None if kind == "bool" else v.get("Value")
    if kind == "list":
        default = list(default or [])
    return Flag(name, str(v.get("Usage", "")), kind, default=default, env=str(v.get("EnvVar", "")),
                secret=bool(SECRET.search(name)))


_flags_cache: dict[tuple[str, str], list[Flag]] = {}


def plugin_flags(name: str, binary: str) -> list[Flag]:
    key = (name, binary)
    if key not in _flags_cache:
        with Plugin(name, binary).start() as plugin:
            answer = plugin.call("GetCreateFlags")
        _flags_cache[key] = [f for f in (flag_from_plugin(item) for item in answer or []) if f is not None]
    return _flags_cache[key]


def plugin_driver_class(name: str, with_flags: bool = True) -> type[PluginDriver] | None:
    """A driver class for the plugin of that name (its flags asked of the plugin when with_flags), or None."""
    binary, host = find_plugin(name)
    if not binary:
        return None
    flags = plugin_flags(name, binary) if with_flags else []
    origin = f"{host}'s built-in {name} driver" if host else f"the plugin {binary}"
    attrs = {"name": name, "binary": binary, "host_binary": host, "flags": flags,
             "summary": f"docker-machine driver {name}, through {origin}"}
    return type(f"Plugin_{name}", (PluginDriver,), attrs)


class PluginDriver(Driver):
    """A machine whose driver runs in a plugin process, spoken to through docker-machine's protocol."""

    binary = ""
    host_binary = ""  # "docker-machine" when docker-machine serves one of its built-in drivers

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self.options: dict[str, Any] = {}
        self.ssh: tuple[str, int, str, str] | None = None
        self.live: Plugin | None = None

    @classmethod
    def new_config(cls, machine_name: str, store_path: str) -> dict[str, Any]:
        # libmachine's BaseDriver as docker-machine's create marshals it for the plugin's first SetConfigRaw
        return {"IPAddress": "", "MachineName": machine_name, "SSHUser": "", "SSHPort": 0, "SSHKeyPath": "",
                "StorePath": store_path, "SwarmMaster": False, "SwarmHost": "", "SwarmDiscovery": ""}

    def set_config_from_flags(self, opts: dict[str, Any]) -> None:
        self.options = dict(opts)  # sent to the plugin by configure(), where its refusal is reported

    def flag_values(self) -> dict[str, Any]:
        """RPCFlags.Values as docker-machine's getDriverOpts makes them: every flag of the plugin at its default
        (false for a bool), the shared swarm options, then what was given; each of its flag's Go type."""
        values: dict[str, Any] = dict(SHARED_VALUES)
        kinds = {f.name: f.kind for f in self.flags}
        for flag in self.flags:
            values[flag.name] = flag.initial()
        for key, value in self.options.items():
            if value is not None and (key in kinds or key in SHARED_VALUES):
                values[key] = value
        for key, value in list(values.items()):
            kind = kinds.get(key, "bool" if isinstance(value, bool) else "string")
            if kind == "int":
                values[key] = int(value or 0)
            elif kind == "bool":
                values[key] = bool(value)
            elif kind == "list":
                values[key] = [str(v) for v in (value or [])]
            else:
                values[key] = "" if value is None else str(value)
        return values

    # ----- one plugin process per operation
    def exchange(self, calls: list[tuple[str, Any, Any, float | None]], keep: bool,
                 on_output: Any = None) -> list[Any]:
        """Start the plugin, give it the machine, make the calls in order, take the machine back if keep."""
        plugin = Plugin(self.name, self.binary, on_output=on_output, builtin_of=self.host_binary)
        self.live = plugin
        answers: list[Any] = []
        try:
            plugin.start()
            plugin.call("SetConfigRaw", gob.BYTES, json.dumps(self.config).encode())
            try:
                for method, arg_type, arg, bound in calls:
                    answers.append(plugin.call(method, arg_type, arg, bound))
            finally:
                if keep and not plugin.dead:
                    try:
                        self.take_config(plugin.call("GetConfigRaw"))
                    except MachineError:
                        pass  # the call's own error says more
        finally:
            plugin.close()
            self.live = None
        return answers

    def take_config(self, raw: Any) -> None:
        try:
            new = json.loads(bytes(raw or b"{}"))
        except ValueError:
            raise MachineError(f"{self.binary}: GetConfigRaw answered what is not JSON") from None
        if isinstance(new, dict) and new:
            self.config.clear()  # in place: the host record holds this very dict
            self.config.update(new)

    async def run(self, calls: list[tuple[str, Any, Any, float | None]], keep: bool = False,
                  on_output: Any = None) -> list[Any]:
        import asyncio

        try:
            return await asyncio.to_thread(self.exchange, calls, keep, on_output)
        except asyncio.CancelledError:
            if self.live is not None:
                self.live.kill()  # the thread's call ends with it
            raise

    async def ask(self, method: str, keep: bool = False, bound: float | None = None) -> Any:
        return (await self.run([(method, EMPTY, None, bound)], keep))[0]

    # ----- lifecycle
    async def configure(self) -> None:
        args = gob.Concrete(RPC_FLAGS_NAME, RPC_FLAGS, {"Values": self.flag_values()})
        await self.run([("SetConfigFromFlags", gob.INTERFACE, args, None)], keep=True)

    async def pre_create_check(self) -> None:
        try:
            await self.ask("PreCreateCheck", keep=True, bound=LONG_CALL_BOUND)
        except RemoteError as err:
            raise PreCreateError(f'Error with pre-create check: "{err}"') from None

    async def create(self, report: Reporter) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        name = self.machine_name

        def said(line: str) -> None:  # the plugin's own progress, as docker-machine shows it: "(name) line"
            try:
                loop.call_soon_threadsafe(report.info, f"({name}) {line}")
            except RuntimeError:
                pass  # a line that comes after the create ended (its loop is closed): the log has it

        try:
            await self.run([("Create", EMPTY, None, LONG_CALL_BOUND)], keep=True, on_output=said)
        except RemoteError as err:
            raise MachineError(f"Error in driver during machine creation: {err}") from None

    async def state(self) -> State:
        number = await self.ask("GetState")
        return STATES[number] if isinstance(number, int) and 0 <= number < len(STATES) else State.ERROR

    async def get_url(self) -> str:
        try:
            return str(await self.ask("GetURL"))
        except RemoteError as err:
            if str(err) == NOT_RUNNING:
                raise HostNotRunning() from None
            raise

    async def get_ip(self) -> str:
        return str(await self.ask("GetIP"))

    async def start(self) -> None:
        await self.ask("Start", keep=True, bound=LONG_CALL_BOUND)

    async def stop(self) -> None:
        await self.ask("Stop", keep=True, bound=LONG_CALL_BOUND)

    async def restart(self) -> None:
        await self.ask("Restart", keep=True, bound=LONG_CALL_BOUND)

    async def kill(self) -> None:
        await self.ask("Kill", keep=True, bound=LONG_CALL_BOUND)

    async def remove(self) -> None:
        await self.ask("Remove", bound=LONG_CALL_BOUND)

    # ----- ssh: the four answers in one plugin run, asked when the hostname is
    async def ssh_hostname(self) -> str:
        calls: list[tuple[str, Any, Any, float | None]] = [
            (m, EMPTY, None, None) for m in ("GetSSHHostname", "GetSSHPort", "GetSSHUsername", "GetSSHKeyPath")]
        host, port, user, key = await self.run(calls)
        self.ssh = (str(host), int(port or 22), str(user or "root"), str(key or ""))
        return self.ssh[0]

    def ssh_port(self) -> int:
        return self.ssh[1] if self.ssh else super().ssh_port()

    def ssh_user(self) -> str:
        return self.ssh[2] if self.ssh else super().ssh_user()

    def ssh_key_path(self) -> str:
        return self.ssh[3] if self.ssh else super().ssh_key_path()
