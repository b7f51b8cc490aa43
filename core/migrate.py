"""Reading config.json of any version docker-machine ever wrote, with Go-like error texts."""

from __future__ import annotations

import json
import os

from .hostconfig import CONFIG_VERSION, DEFAULT_INSTALL_URL, DEFAULT_SWARM_HOST, DEFAULT_SWARM_IMAGE

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    from typing import Any


class ConfigError(Exception):
    pass


def go_json_error(text: str, err: json.JSONDecodeError) -> str:
    """Word a Python JSON error as Go's encoding/json would, since users compare with docker-machine."""
    if err.pos >= len(text.rstrip()):
        return "unexpected end of JSON input"
    ch = text[err.pos]
    quoted = repr(ch) if ch != "'" else "'\\''"
    if err.msg.startswith("Expecting property name"):
        where = "looking for beginning of object key string"
    elif err.msg.startswith("Expecting ':'"):
        where = "after object key"
    elif err.msg.startswith("Expecting ',' delimiter"):
        where = "after object key:value pair" if "{" in text[: err.pos] else "after array element"
    elif err.msg.startswith("Extra data"):
        where = "after top-level value"
    else:
        where = "looking for beginning of value"
    return f"invalid character {quoted} {where}"


def parse(text: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(go_json_error(text, err)) from None
    if not isinstance(doc, dict):
        raise ConfigError("json: cannot unmarshal " + _go_kind(doc) + " into Go value of type host.Host")
    check_types(doc)
    return doc


_GO_TYPES = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number"}
# the fields machine-tui reads, with the Go types docker-machine declares for them
_OBJECT_FIELDS = {
    "HostOptions": "host.Options",
    "HostOptions.EngineOptions": "engine.Options",
    "HostOptions.SwarmOptions": "swarm.Options",
    "HostOptions.AuthOptions": "auth.Options",
}
_STRING_FIELDS = ("DriverName", "Name") + tuple(
    "HostOptions.AuthOptions." + f for f in (
        "CertDir", "CaCertPath", "CaPrivateKeyPath", "CaCertRemotePath", "ServerCertPath", "ServerKeyPath",
        "ClientKeyPath", "ServerCertRemotePath", "ServerKeyRemotePath", "ClientCertPath", "StorePath"))


def _go_kind(value: Any) -> str:
    return _GO_TYPES.get(type(value), type(value).__name__)


def _field(doc: dict[str, Any], dotted: str) -> Any:
    value: object = doc
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def check_types(doc: dict[str, Any]) -> None:
    """A field of the wrong type is this machine's load error (as Go's decoder reports it), never a crash later."""
    def wrong(dotted: str, value: Any, go_type: str) -> None:
        raise ConfigError(f"json: cannot unmarshal {_go_kind(value)} into Go struct field Host.{dotted} "
                          f"of type {go_type}")

    for dotted, go_type in _OBJECT_FIELDS.items():
        value = _field(doc, dotted)
        if value is not None and not isinstance(value, dict):
            wrong(dotted, value, "*" + go_type)
    for dotted in _STRING_FIELDS:
        value = _field(doc, dotted)
        if value is not None and not isinstance(value, str):
            wrong(dotted, value, "string")
    driver = doc.get("Driver")
    if driver is not None and not isinstance(driver, dict):
        wrong("Driver", driver, "json.RawMessage (an object)")


def migrate(doc: dict[str, Any], name: str, store_path: str) -> tuple[dict[str, Any], bool]:
    """Bring a parsed config up to version 3. Returns (doc, migrated?)."""
    version = doc.get("ConfigVersion", 0)
    if not isinstance(version, int):
        raise ConfigError("json: cannot unmarshal ConfigVersion")
    if version > CONFIG_VERSION:
        raise ConfigError("config version is from the future -- you should upgrade your Docker Machine client")
    if version == CONFIG_VERSION:
        return doc, False
    if version == 0:
        doc = _v0_to_v1(doc, name)
    if doc.get("ConfigVersion", 0) <= 1:
        doc = _v1_to_v2(doc, store_path)
    doc = _v2_to_v3(doc, store_path)
    return doc, True


def _v0_to_v1(doc: dict[str, Any], name: str) -> dict[str, Any]:
    driver = doc.get("Driver") or {}
    swarm_host = doc.get("SwarmHost") or DEFAULT_SWARM_HOST
    auth = {
        "StorePath": doc.get("StorePath", ""),
        "CaCertPath": doc.get("CaCertPath", ""),
        "CaCertRemotePath": "",
        "ServerCertPath": doc.get("ServerCertPath", ""),
        "ServerKeyPath": doc.get("ServerKeyPath", ""),
        "ClientKeyPath": doc.get("ClientKeyPath", ""),
        "ServerCertRemotePath": "",
        "ServerKeyRemotePath": "",
        "PrivateKeyPath": doc.get("PrivateKeyPath", ""),
        "ClientCertPath": doc.get("ClientCertPath", ""),
    }
    return {
        "ConfigVersion": 1,
        "Driver": driver,
        "DriverName": doc.get("DriverName", ""),
        "HostOptions": {
            "Driver": "",
            "Memory": 0,
            "Disk": 0,
            "EngineOptions": {"TlsVerify": True, "InstallURL": DEFAULT_INSTALL_URL},
            "SwarmOptions": {
                "IsSwarm": bool(doc.get("SwarmMaster")) or bool(doc.get("SwarmDiscovery")),
                "Address": "",
                "Discovery": doc.get("SwarmDiscovery", ""),
                "Master": bool(doc.get("SwarmMaster")),
                "Host": swarm_host,
                "Image": DEFAULT_SWARM_IMAGE,
                "Strategy": "spread",
            },
            "AuthOptions": auth,
        },
        "Name": doc.get("Name") or name,
    }


def _v1_to_v2(doc: dict[str, Any], store_path: str) -> dict[str, Any]:
    auth = doc.setdefault("HostOptions", {}).setdefault("AuthOptions", {})
    if "PrivateKeyPath" in auth:
        auth["CaPrivateKeyPath"] = auth.pop("PrivateKeyPath")
    global_store = _global_store(auth, store_path)
    auth["CertDir"] = os.path.join(global_store, "certs")
    auth["StorePath"] = global_store
    doc["ConfigVersion"] = 2
    return doc


def _v2_to_v3(doc: dict[str, Any], store_path: str) -> dict[str, Any]:
    driver = doc.get("Driver")
    if not isinstance(driver, dict):
        driver = {}
    auth = (doc.get("HostOptions") or {}).get("AuthOptions") or {}
    driver["StorePath"] = _global_store(auth, store_path)
    doc["Driver"] = driver
    doc["ConfigVersion"] = CONFIG_VERSION
    return doc


def _global_store(auth: dict[str, Any], store_path: str) -> str:
    sp = auth.get("StorePath") or ""
    if sp.rstrip("/").endswith("/machines/" + os.path.basename(sp.rstrip("/"))) and "/machines/" in sp:
        return os.path.dirname(os.path.dirname(sp.rstrip("/")))
    return sp or store_path
