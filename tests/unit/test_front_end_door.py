"""One door: every module of the core is either forbidden to the front ends (pyproject.toml's import contract) or
named here as their shared vocabulary. A new core module must be placed on purpose, and the door stays narrow."""

from __future__ import annotations

import os
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOOR = {"service", "verbs"}  # the application service and the verb table
VOCABULARY = {"__init__",  # VERSION
              "errors", "flags", "createflags", "events", "states",  # what is said and asked
              "store", "hostconfig",  # the store handle the service is made of, a machine's record and name rules
              "tabwriter", "gotemplate", "gojson", "terminal",  # formatters, and the console's screen model
              "logfile", "settings", "aio", "extras"}  # the log, the settings files, bounded waits, missing extras


def core_modules() -> set[str]:
    core = os.path.join(ROOT, "core")
    return {name.removesuffix(".py") for name in os.listdir(core)
            if name.endswith(".py") or os.path.isfile(os.path.join(core, name, "__init__.py"))}


def forbidden() -> set[str]:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        contracts = tomllib.load(f)["tool"]["importlinter"]["contracts"]
    door = next(c for c in contracts if c["name"].startswith("The front ends reach machines through one door"))
    assert door["source_modules"] == ["machine_tui.cli", "machine_tui.tui"]
    return {m.removeprefix("machine_tui.core.") for m in door["forbidden_modules"]}


def test_every_core_module_is_either_the_door_vocabulary_or_forbidden_to_the_front_ends():
    placed = DOOR | VOCABULARY | forbidden()
    assert core_modules() - placed == set(), "place these: the door, the vocabulary, or forbidden"
    assert (DOOR | VOCABULARY) & forbidden() == set()
    assert placed - core_modules() == set(), "gone from the core: take them off the lists"


def test_every_package_folder_is_in_the_wheel():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        setuptools = tomllib.load(f)["tool"]["setuptools"]
    where = {folder: package for package, folder in setuptools["package-dir"].items()}
    found = set()
    for top, package in where.items():
        for folder, _dirs, files in os.walk(os.path.join(ROOT, top)):
            if "__init__.py" in files and "__pycache__" not in folder:
                rel = os.path.relpath(folder, os.path.join(ROOT, top))
                found.add(package if rel == "." else package + "." + rel.replace(os.sep, "."))
    assert found - set(setuptools["packages"]) == set(), "a package a wheel would leave out"
