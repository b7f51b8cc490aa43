"""The config.json document of one machine, field for field as docker-machine v0.16.2 lays it out.

A host is kept as the plain JSON dict (insertion-ordered) so that fields we do not know, and whole
`Driver` objects of drivers we do not know, are written back exactly as they were read."""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    from typing import Any

CONFIG_VERSION = 3
DEFAULT_INSTALL_URL = "https://get.docker.com"
DEFAULT_SWARM_HOST = "tcp://0.0.0.0:3376"
DEFAULT_SWARM_IMAGE = "swarm:latest"

_VALID_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9\-.]*")
INVALID_NAME_MESSAGE = "Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -"
# the name becomes the guest's hostname (Linux: HOST_NAME_MAX) and a folder name
MAX_NAME_LENGTH = 64
TOO_LONG_NAME_MESSAGE = f"Invalid hostname specified. A machine name has at most {MAX_NAME_LENGTH} characters"


def is_valid_name(name: Any) -> bool:
    return isinstance(name, str) and len(name) <= MAX_NAME_LENGTH and bool(_VALID_NAME.fullmatch(name))


def invalid_name_message(name: Any) -> str:
    """Why a name is refused, in docker-machine's words ("" if it is fine)."""
    if is_valid_name(name):
        return ""
    if isinstance(name, str) and _VALID_NAME.fullmatch(name):
        return TOO_LONG_NAME_MESSAGE
    return INVALID_NAME_MESSAGE


def engine_options(
    *,
    arbitrary_flags: Any | None = None,
    env: Any | None = None,
    insecure_registry: Any | None = None,
    labels: Any | None = None,
    storage_driver: str = "",
    registry_mirror: Any | None = None,
    install_url: Any = DEFAULT_INSTALL_URL,
) -> dict[str, Any]:
    return {
        "ArbitraryFlags": list(arbitrary_flags or []),
        "Dns": None,
        "GraphDir": "",
        "Env": list(env or []),
        "Ipv6": False,
        "InsecureRegistry": list(insecure_registry or []),
        "Labels": list(labels or []),
        "LogLevel": "",
        "StorageDriver": storage_driver,
        "SelinuxEnabled": False,
        "TlsVerify": True,
        "RegistryMirror": list(registry_mirror or []),
        "InstallURL": install_url,
    }


def swarm_options(
    *,
    agent: bool = False,
    master: bool = False,
    address: str = "",
    discovery: str = "",
    host: str = DEFAULT_SWARM_HOST,
    image: Any = DEFAULT_SWARM_IMAGE,
    strategy: str = "spread",
    arbitrary_flags: Any | None = None,
    arbitrary_join_flags: Any | None = None,
    experimental: bool = False,
) -> dict[str, Any]:
    return {
        "IsSwarm": bool(agent or master),
        "Address": address,
        "Discovery": discovery,
        "Agent": bool(agent),
        "Master": bool(master),
        "Host": host,
        "Image": image,
        "Strategy": strategy,
        "Heartbeat": 0,
        "Overcommit": 0,
        "ArbitraryFlags": list(arbitrary_flags or []),
        "ArbitraryJoinFlags": list(arbitrary_join_flags or []),
        "Env": None,
        "IsExperimental": bool(experimental),
    }


def auth_options(store_path: str, name: str, *, ca_cert: str = "", ca_key: str = "", client_cert: str = "",
                 client_key: str = "", sans: Any | None = None) -> dict[str, Any]:
    certs = os.path.join(store_path, "certs")
    mdir = os.path.join(store_path, "machines", name)
    return {
        "CertDir": certs,
        "CaCertPath": ca_cert or os.path.join(certs, "ca.pem"),
        "CaPrivateKeyPath": ca_key or os.path.join(certs, "ca-key.pem"),
        "CaCertRemotePath": "",
        "ServerCertPath": os.path.join(mdir, "server.pem"),
        "ServerKeyPath": os.path.join(mdir, "server-key.pem"),
        "ClientKeyPath": client_key or os.path.join(certs, "key.pem"),
        "ServerCertRemotePath": "",
        "ServerKeyRemotePath": "",
        "ClientCertPath": client_cert or os.path.join(certs, "cert.pem"),
        "ServerCertSANs": list(sans or []),
        "StorePath": mdir,
    }


def new_host(name: str, driver_name: str, driver: dict[str, Any], engine: dict[str, Any], swarm: dict[str, Any],
             auth: dict[str, Any]) -> dict[str, Any]:
    return {
        "ConfigVersion": CONFIG_VERSION,
        "Driver": driver,
        "DriverName": driver_name,
        "HostOptions": {
            "Driver": "",
            "Memory": 0,
            "Disk": 0,
            "EngineOptions": engine,
            "SwarmOptions": swarm,
            "AuthOptions": auth,
        },
        "Name": name,
    }


class Host:
    """One machine as read from the store: its config document plus the folder it lives in."""

    def __init__(self, name: str, doc: dict[str, Any], machine_dir: str):
        self.name = name
        self.doc = doc
        self.dir = machine_dir
        self.relocated_from = ""  # set when the store was moved since this config was written

    @property
    def driver_name(self) -> str:
        value = self.doc.get("DriverName")
        return value if isinstance(value, str) else ""

    @property
    def driver_config(self) -> dict[str, Any]:
        drv = self.doc.get("Driver")
        if not isinstance(drv, dict):
            drv = {}
            self.doc["Driver"] = drv
        return drv

    @property
    def host_options(self) -> dict[str, Any]:
        opts = self.doc.get("HostOptions")
        if not isinstance(opts, dict):
            opts = self.doc["HostOptions"] = {}
        return opts

    def _section(self, key: str) -> dict[str, Any]:
        value = self.host_options.get(key)
        return value if isinstance(value, dict) else {}

    @property
    def engine(self) -> dict[str, Any]:
        return self._section("EngineOptions")

    @property
    def swarm(self) -> dict[str, Any]:
        return self._section("SwarmOptions")

    @property
    def auth(self) -> dict[str, Any]:
        return self._section("AuthOptions")

    def __repr__(self) -> str:
        return f"Host({self.name!r}, driver={self.driver_name!r})"
