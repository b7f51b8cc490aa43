"""Drivers: how a machine comes to exist and is switched on and off. One async interface modelled on
libmachine's Driver; each driver declares its flags so the CLI options and the TUI's create forms are
generated from the same schema. Adding a driver = one module + one line in DRIVERS."""

from __future__ import annotations

import enum
import importlib
import os

from ..errors import MachineError


class State(enum.Enum):
    NONE = ""
    RUNNING = "Running"
    PAUSED = "Paused"
    SAVED = "Saved"
    STOPPED = "Stopped"
    STOPPING = "Stopping"
    STARTING = "Starting"
    ERROR = "Error"
    TIMEOUT = "Timeout"

    def __str__(self) -> str:
        return self.value


class Flag:
    """One create option of a driver (mcnflag): kind is string, int, bool or list.
    A plain class, not a dataclass: the CLI builds dozens at start-up and dataclasses cost ~9 ms to import."""

    __slots__ = ("name", "usage", "kind", "default", "env", "required", "choices", "advanced", "bounds")

    def __init__(self, name: str, usage: str, kind: str = "string", default=None, env: str = "",
                 required: bool = False, choices: tuple = (), advanced: bool = False,
                 bounds: tuple[int, int] | None = None):
        self.name, self.usage, self.kind, self.env = name, usage, kind, env
        self.default = ("" if kind in ("string", "int") else None) if default is None else default
        self.required, self.choices, self.advanced = required, choices, advanced
        self.bounds = bounds  # an int flag's smallest and largest accepted value (ports, sizes, counts)

    def problem(self, value) -> str:
        """Why value is refused for this flag ("" when it is fine): checked where values enter, CLI and app alike."""
        if self.kind != "int" or value in ("", None):
            return ""
        if isinstance(value, bool) or not isinstance(value, int):
            return f'invalid value "{value}" for flag --{self.name}: not a whole number'
        if self.bounds and not self.bounds[0] <= value <= self.bounds[1]:
            low, high = self.bounds
            return f'invalid value "{value}" for flag --{self.name}: must be between {low} and {high}'
        return ""

    def __repr__(self) -> str:
        return f"Flag({self.name!r}, kind={self.kind!r}, default={self.default!r})"

    def initial(self):
        """Default with its env var applied, as the CLI and the TUI form both start from."""
        env_value = os.environ.get(self.env) if self.env else None
        if env_value not in (None, ""):
            return parse_flag_value(self, env_value) if self.kind != "list" else [v for v in env_value.split(",") if v]
        if self.kind == "list":
            return list(self.default or [])
        if self.kind == "bool":
            return bool(self.default)
        return self.default


def parse_flag_value(flag: Flag, text: str):
    if flag.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise MachineError(f'invalid value "{text}" for flag -{flag.name}: parse error') from None
    if flag.kind == "bool":
        low = text.lower()
        if low in ("1", "t", "true"):
            return True
        if low in ("0", "f", "false"):
            return False
        raise MachineError(f'invalid boolean value "{text}" for -{flag.name}: parse error')
    return text


PORT = (1, 65535)
PORT_OR_AUTO = (0, 65535)  # 0: a free port chosen at create
MEGABYTES = (1, 16 * 1024 * 1024)
MEMORY_MB = (64, 16 * 1024 * 1024)
CPUS = (1, 1024)


class Driver:
    """Base driver; the JSON config dict is the driver's whole state and is what config.json keeps."""

    name = "base"
    flags: list[Flag] = []
    provisions = True  # False: create stops after the driver (none)

    def __init__(self, config: dict):
        self.config = config

    @classmethod
    def new_config(cls, machine_name: str, store_path: str) -> dict:
        return {
            "IPAddress": "",
            "MachineName": machine_name,
            "SSHUser": "root",
            "SSHPort": 22,
            "SSHKeyPath": "",
            "StorePath": store_path,
            "SwarmMaster": False,
            "SwarmHost": "",
            "SwarmDiscovery": "",
        }

    # ----- configuration
    def set_config_from_flags(self, opts: dict) -> None:
        self.config["SwarmMaster"] = bool(opts.get("swarm-master", False))
        self.config["SwarmHost"] = opts.get("swarm-host", "") or ""
        self.config["SwarmDiscovery"] = opts.get("swarm-discovery", "") or ""

    @property
    def machine_name(self) -> str:
        return self.config.get("MachineName", "")

    @property
    def store_path(self) -> str:
        return self.config.get("StorePath", "")

    def resolve_store_path(self, *parts: str) -> str:
        return os.path.join(self.store_path, "machines", self.machine_name, *parts)

    # ----- lifecycle
    async def pre_create_check(self) -> None:
        return None

    async def create(self, report) -> None:
        return None

    async def state(self) -> State:
        raise NotImplementedError

    async def get_ip(self) -> str:
        ip = self.config.get("IPAddress", "")
        if not ip:
            raise MachineError("IP address is not set")
        return ip

    async def get_url(self) -> str:
        raise NotImplementedError

    async def start(self) -> None:
        raise MachineError(f"{self.name} driver does not support start")

    async def stop(self) -> None:
        raise MachineError(f"{self.name} driver does not support stop")

    async def restart(self) -> None:
        raise MachineError(f"{self.name} driver does not support restart")

    async def kill(self) -> None:
        raise MachineError(f"{self.name} driver does not support kill")

    async def remove(self) -> None:
        return None

    # ----- ssh
    async def ssh_hostname(self) -> str:
        return await self.get_ip()

    def ssh_port(self) -> int:
        return int(self.config.get("SSHPort") or 22)

    def ssh_user(self) -> str:
        return self.config.get("SSHUser") or "root"

    def ssh_key_path(self) -> str:
        return self.config.get("SSHKeyPath") or ""

    def log_path(self) -> str:
        """A console or serial log the driver keeps, if any (the TUI shows it)."""
        return ""

    async def why_down(self) -> str:
        """Why the machine vanished under an operation (e.g. its VM process died), or "" if it did not."""
        return ""

    async def prepare_host(self, conn, report) -> None:
        """Driver work inside the guest once SSH answers, before provisioning (e.g. growing the disk)."""
        return None


# name -> "module:Class"; imported only when a machine of that driver is touched.
DRIVERS: dict[str, str] = {
    "none": "none:NoneDriver",
    "qemu": "qemu:QemuDriver",
    "generic": "generic:GenericDriver",
    "virtualbox": "virtualbox:VirtualBoxDriver",
}


class DriverNotFound(MachineError):
    def __init__(self, name: str):
        # docker-machine asks for a plugin binary; machine-tui's drivers are built in, so name them instead.
        super().__init__(f'Driver "{name}" not found. Available drivers: {", ".join(sorted(DRIVERS))}.')


def driver_class(name: str) -> type[Driver]:
    spec = DRIVERS.get(name)
    if spec is None:
        raise DriverNotFound(name)
    module, cls = spec.split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def driver_names() -> list[str]:
    return sorted(DRIVERS)


class UnknownDriver(Driver):
    """A machine made by a driver we do not have: shown, never rewritten (its JSON stays verbatim)."""

    def __init__(self, config: dict, name: str):
        super().__init__(config)
        self.name = name

    async def state(self) -> State:
        raise MachineError(f'Driver "{self.name}" not found. Do you have the plugin binary accessible in your PATH?')

    async def get_url(self) -> str:
        return str(await self.state())


def driver_for(host) -> Driver:
    try:
        return driver_class(host.driver_name)(host.driver_config)
    except DriverNotFound:
        return UnknownDriver(host.driver_config, host.driver_name)
