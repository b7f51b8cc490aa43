"""The options of a driver or a verb (mcnflag): one schema from which the CLI builds its flags and its help, the app
its create forms, and the completion its words."""

from __future__ import annotations

import os

from .errors import MachineError

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    from typing import Any


class Flag:
    """One create option of a driver (mcnflag): kind is string, int, bool or list.
    A plain class, not a dataclass: the CLI builds dozens at start-up and dataclasses cost ~9 ms to import."""

    __slots__ = ("name", "usage", "kind", "default", "env", "required", "choices", "advanced", "bounds", "secret")

    def __init__(self, name: str, usage: str, kind: str = "string", default: Any | None = None, env: str = "",
                 required: bool = False, choices: tuple[Any, ...] = (), advanced: bool = False,
                 bounds: tuple[int, int] | None = None, secret: bool = False) -> None:
        self.name, self.usage, self.kind, self.env = name, usage, kind, env
        self.default = ("" if kind in ("string", "int") else None) if default is None else default
        self.required, self.choices, self.advanced = required, choices, advanced
        self.bounds = bounds  # an int flag's smallest and largest accepted value (ports, sizes, counts)
        self.secret = secret  # a credential: never shown (the app masks it and never fills it in from the environment)

    def problem(self, value: Any) -> str:
        """Why value is refused for this flag ("" when it is fine): checked where values enter, CLI and app alike."""
        if self.choices and self.kind == "string" and value not in ("", None) and value not in self.choices:
            return f'invalid value "{value}" for flag --{self.name}: one of {", ".join(map(str, self.choices))}'
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

    def initial(self) -> Any:
        """Default with its env var applied, as the CLI and the TUI form both start from."""
        env_value = os.environ.get(self.env) if self.env else None
        if env_value not in (None, ""):
            return parse_flag_value(self, env_value) if self.kind != "list" else [v for v in env_value.split(",") if v]
        if self.kind == "list":
            return list(self.default or [])
        if self.kind == "bool":
            return bool(self.default)
        return self.default


def parse_flag_value(flag: Flag, text: str) -> str | int | bool:
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


def http_url_problem(url: str) -> str:
    """Why an http(s) URL typed as an option cannot be used ("" when it can): checked where it enters, not where a
    library trips over it later."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port out of range or not a number raises here
    except ValueError as err:
        return f"not a valid URL ({err})"
    if parts.scheme not in ("http", "https"):
        return "not an http:// or https:// URL"
    if not parts.hostname:
        return "no host in the URL"
    return ""
