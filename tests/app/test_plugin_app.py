"""The app with a docker-machine driver plugin on PATH: the plugin is in the wizard's driver list with a form made
from its flags, and its machines show in the live table with the state the plugin gives."""

from __future__ import annotations

import json
import os

from conftest import choose_driver, clean_env, run_cli, wait_until
from machine_tui.core.store import Store
from machine_tui.tui.app import MachineTable, MachineTuiApp


async def test_the_wizard_offers_a_plugin_with_its_flags_and_the_table_shows_its_machines(store, lab_bin, monkeypatch):
    monkeypatch.setenv("PATH", f"{lab_bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("LAB_TEXT", "from the environment")
    assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "pl1"], clean_env(store)).returncode == 0
    path = os.path.join(store, "machines", "pl1", "config.json")
    with open(path) as f:
        doc = json.load(f)
    doc["DriverName"], doc["Driver"] = "lab", {"MachineName": "pl1", "IPAddress": "127.0.0.1", "State": 4}
    with open(path, "w") as f:
        json.dump(doc, f)
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    async with app.run_test(size=(140, 45)) as pilot:
        table = app.query_one(MachineTable)
        assert await wait_until(pilot, lambda: table.row_count == 1 and
                                str(table.get_cell("pl1", "STATE")) == "Stopped", 15)
        assert str(table.get_cell("pl1", "DRIVER")) == "lab"
        await pilot.press("c")
        assert await wait_until(pilot, lambda: type(app.screen).__name__ == "CreateWizard")
        wizard = app.screen
        await choose_driver(pilot, wizard, "lab")
        assert wizard.query_one("#flag-lab-text").value == "from the environment"  # its EnvVar, as the CLI reads it
        assert wizard.query_one("#flag-lab-number").value == "3"
        ids = [w.id for w in wizard.query("#form Input")]
        assert "flag-lab-items" in ids and "flag-lab-ssh-host" in ids
        assert "plugin" in str(wizard.query_one("#driver-summary").render())
