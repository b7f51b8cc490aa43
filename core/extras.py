"""The optional parts of machine-tui (a cloud's client library, the browser server) and how to add one with the
installer that installed machine-tui: pip, pipx or uv."""

from __future__ import annotations

import os
import sys

from .errors import MachineError

# extra -> the packages it brings (pyproject.toml's optional-dependencies)
EXTRAS = {"aws": "boto3", "digitalocean": "pydo", "openstack": "openstacksdk", "serve": "textual-serve"}


def installer() -> str:
    """pipx and uv tool install into a venv of their own, found by its path; anything else is pip's."""
    prefix = sys.prefix.replace(os.sep, "/")
    if "/pipx/venvs/" in prefix:
        return "pipx"
    if "/uv/tools/" in prefix:
        return "uv"
    return "pip"


def install_hint(extra: str) -> str:
    """The one command that adds the extra where machine-tui lives."""
    tool = installer()
    if tool == "pipx":
        return f"pipx inject machine-tui {EXTRAS[extra]}"
    if tool == "uv":
        return f"uv tool install --force 'machine-tui[{extra}]'"
    return f"pip install 'machine-tui[{extra}]'"


def missing_extra(what: str, extra: str) -> MachineError:
    """The error for a feature whose extra is not installed: what needs what, and the command that adds it."""
    return MachineError(f"{what} needs {EXTRAS[extra]}, which is not installed: {install_hint(extra)}")
