"""The environment knobs machine-tui reads, each in one place, read when used (not when a module is imported)."""

from __future__ import annotations

import os

WAIT_SECONDS = 3.0  # docker-machine waits 60 x 3 s for a machine and for its SSH


def wait_tries() -> int:
    """MACHINE_WAIT_RETRIES shortens (or lengthens) every wait for a machine or its SSH."""
    try:
        return max(1, int(os.environ.get("MACHINE_WAIT_RETRIES") or 60))
    except ValueError:
        return 60


def plugin_call_bound(default: float) -> float:
    """Seconds a driver plugin may take over a quick call (a state, a URL) before it is taken for hung."""
    try:
        return float(os.environ.get("MACHINE_TUI_PLUGIN_TIMEOUT") or 0) or default
    except ValueError:
        return default


def storage_path() -> str:
    return os.environ.get("MACHINE_STORAGE_PATH", "")


def log_dir_override() -> str:
    return os.environ.get("MACHINE_TUI_LOG_DIR", "")


def amazonec2_image_parameter() -> str:
    """The SSM parameter naming amazonec2's default image ("": Canonical's Ubuntu LTS)."""
    return os.environ.get("MACHINE_TUI_AMAZONEC2_IMAGE_PARAMETER", "")


def digitalocean_token() -> str:
    return os.environ.get("DIGITALOCEAN_ACCESS_TOKEN", "")


def digitalocean_api() -> str:
    """DigitalOcean's API (MACHINE_TUI_DIGITALOCEAN_API: a proxy, or the tests' stand-in)."""
    return os.environ.get("MACHINE_TUI_DIGITALOCEAN_API") or "https://api.digitalocean.com"


def config_dir_override() -> str:
    return os.environ.get("MACHINE_TUI_CONFIG_DIR", "")


def github_api() -> str:
    """Where the boot2docker release is looked up (a loopback stand-in in the tests)."""
    return os.environ.get("MACHINE_TUI_GITHUB_API", "https://api.github.com").rstrip("/")


def virtualbox_path() -> str:
    """MACHINE_TUI_VIRTUALBOX_PATH forces the VirtualBox backend: api or vboxmanage ("" chooses)."""
    return os.environ.get("MACHINE_TUI_VIRTUALBOX_PATH", "")


def default_store_path(explicit: str | None = None) -> str:
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    env = storage_path()
    if env:
        return os.path.abspath(os.path.expanduser(env))
    return os.path.join(os.path.expanduser("~"), ".docker", "machine")
