"""The three registries named by strings (drivers, verbs, the CLI's command handlers) are imported only when used, so
no import tool follows them: this test resolves every entry, so a rename cannot leave one dangling."""

from __future__ import annotations

import importlib
import inspect

from machine_tui.cli.commands import COMMANDS
from machine_tui.core.drivers import DRIVERS, Driver, driver_class
from machine_tui.core.verbs import VERBS


def test_every_driver_entry_is_a_driver_of_that_name():
    for name in DRIVERS:
        cls = driver_class(name)
        assert issubclass(cls, Driver) and cls.name == name, name


def test_every_verb_names_an_async_function_of_the_core():
    for name, verb in VERBS.items():
        assert inspect.iscoroutinefunction(verb.function()), name


def test_every_command_handler_resolves():
    for cmd in COMMANDS:
        if not cmd.handler:
            assert cmd.name == "help", cmd.name  # help is answered by the dispatcher itself
            continue
        module, func = cmd.handler.split(":")
        if module == "verb":
            assert func in VERBS, cmd.name
            continue
        assert callable(getattr(importlib.import_module(f"machine_tui.cli.{module}"), func)), cmd.name
