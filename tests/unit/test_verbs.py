"""The application layer: one table of machine verbs that the CLI and the app both read. A verb added to it is
a CLI command, an app key with its footer entry, a palette entry and a help line, and it runs the same way in both."""

from __future__ import annotations

import subprocess
import sys

from conftest import clean_env, run_cli

NEW_VERB = '''
import asyncio, io, sys
from machine_tui.core import verbs

async def touch(store, host, report, options):
    report.info(f"touched {host.name} loudly={options['loudly']}")
    store.update(host.name, lambda h: h.doc.update(Touched=True))

verbs.VERBS["touch"] = verbs.Verb("touch", "Touch", "Touch a machine", "T", touch,
                                  fits=lambda st: st == "Running", busy="Touching",
                                  options=((verbs.Flag("loudly", "Say it loudly", "bool"), "l"),))
'''


def test_one_entry_in_the_verb_table_is_a_command_a_key_a_palette_entry_and_help(store):
    env = clean_env(store)
    assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "m"], env).returncode == 0
    check = NEW_VERB + f'''
from machine_tui.cli.main import dispatch
out, err = io.StringIO(), io.StringIO()
assert dispatch(["-s", {store!r}, "touch", "--loudly", "m"], out, err, io.StringIO()) == 0, err.getvalue()
print(out.getvalue().strip())
help_out = io.StringIO()
dispatch(["--help"], help_out, io.StringIO())
print([l.split()[0] for l in help_out.getvalue().splitlines() if l.strip().startswith("touch")])
from machine_tui.tui.main_screen import MainScreen
from machine_tui.tui.palette import MachineCommands
from machine_tui.tui.screens import help_text
b = next(b for b in MainScreen.BINDINGS if b.id == "machine-touch")
print(b.key, b.action, b.description, b.show)
print([v for v, *_ in MachineCommands.PER_MACHINE if v == "Touch"])
print([l for l in help_text(MainScreen.BINDINGS).splitlines() if "machine-touch" in l])
print(MainScreen.NEEDS_STATE["touch"]("Running"), MainScreen.NEEDS_STATE["touch"]("Stopped"))
'''
    r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "touched m loudly=True"
    assert lines[1] == "['touch']"
    assert lines[2] == "T operate('touch') Touch True"
    assert lines[3] == "['Touch']"
    assert "T" in lines[4] and "Touch" in lines[4]
    assert lines[5] == "True False"
    assert '"Touched": true' in run_cli(["inspect", "m"], env).stdout


async def test_the_app_runs_a_verb_from_the_table_with_its_busy_word(store, monkeypatch):
    from machine_tui.core import verbs
    from machine_tui.core.store import Store
    from machine_tui.tui.app import MachineTable, MachineTuiApp

    env = clean_env(store)
    assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "m"], env).returncode == 0
    import asyncio

    gate = asyncio.Event()
    seen = []

    async def slow(store_, host, report, options):
        seen.append(host.name)
        await gate.wait()

    # the restart verb's function replaced: the app must run whatever the table says, showing the verb's busy word
    monkeypatch.setattr(verbs.VERBS["restart"], "run", slow)
    app = MachineTuiApp(Store(store), poll_interval=0.2, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(MachineTable)
        while table.row_count == 0:
            await pilot.pause(0.05)
        await pilot.press("R")
        for _ in range(40):
            if str(table.get_cell("m", "STATE")) == "Starting":
                break
            await pilot.pause(0.05)
        assert seen == ["m"] and str(table.get_cell("m", "STATE")) == "Starting"
        gate.set()
        for _ in range(40):
            if str(table.get_cell("m", "STATE")) == "Running":
                break
            await pilot.pause(0.05)
        assert str(table.get_cell("m", "STATE")) == "Running"


async def test_how_a_verb_saves_is_one_place_both_front_ends_go_through(store, monkeypatch, capsys):
    """A verb that fails after its driver learned a new address: the CLI and the app both keep what it learned, and
    both through the service's one save (replaced here, it is what each front end then does)."""
    import asyncio
    import json
    import os

    import pytest
    from machine_tui.cli.main import main
    from machine_tui.core import verbs
    from machine_tui.core.errors import MachineError
    from machine_tui.core.service import Machines
    from machine_tui.core.store import Store
    from machine_tui.tui.app import MachineTable, MachineTuiApp

    assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "m"], clean_env(store)).returncode == 0

    async def learns_then_fails(store_, host, report, options):
        host.doc["Driver"]["IPAddress"] = f"10.0.0.{len(saved) + 1}"
        raise MachineError("the host did not come back")

    saved: list[str] = []
    keep = Machines._save_driver_state

    def save(self, host):
        saved.append(host.doc["Driver"]["IPAddress"])
        keep(self, host)

    monkeypatch.setattr(verbs.VERBS["restart"], "run", learns_then_fails)
    monkeypatch.setattr(Machines, "_save_driver_state", save)

    def recorded() -> str:
        with open(os.path.join(store, "machines", "m", "config.json")) as fh:
            return json.load(fh)["Driver"]["IPAddress"]

    def cli() -> int:  # the CLI in this process, so the replaced parts hold (on a thread: it runs its own loop)
        with pytest.raises(SystemExit) as ended:
            main(["-s", store, "restart", "m"])
        return ended.value.code

    assert await asyncio.to_thread(cli) == 1 and "the host did not come back" in capsys.readouterr().err
    assert saved == ["10.0.0.1"] and recorded() == "10.0.0.1"

    app = MachineTuiApp(Store(store), poll_interval=3600, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(MachineTable)
        while table.row_count == 0:
            await pilot.pause(0.05)
        await pilot.press("R")
        while len(saved) < 2:
            await pilot.pause(0.05)
    assert saved == ["10.0.0.1", "10.0.0.2"] and recorded() == "10.0.0.2"


def test_one_version_everywhere():
    import os
    import tomllib

    from machine_tui.cli.commands import VERSION_LINE
    from machine_tui.core import VERSION, build_id

    with open(os.path.join(os.path.dirname(__file__), "..", "..", "pyproject.toml"), "rb") as fh:
        assert tomllib.load(fh)["project"]["version"] == VERSION
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "CHANGELOG.md")) as fh:
        assert f"## {VERSION} (" in fh.read()
    import re

    # the build is the commit this copy runs from (8 hex digits) or "release": never a word that says nothing
    assert re.fullmatch(rf"machine-tui version {re.escape(VERSION)}, build ([0-9a-f]{{8}}|release)", VERSION_LINE)
    assert build_id() != "python"
