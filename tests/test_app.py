"""The full-screen app shows the machines of the store, live."""

from __future__ import annotations

import os

from conftest import clean_env, run_cli
from machine_tui.core.store import Store
from machine_tui.tui.app import MachineTable, MachineTuiApp


async def test_main_screen_lists_machines_and_follows_the_store(store):
    env = clean_env(store)
    assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "alpha"], env).returncode == 0
    app = MachineTuiApp(Store(store), poll_interval=0.2, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.5)
        table = app.query_one(MachineTable)
        assert [k.value for k in table.rows] == ["alpha"]
        assert str(table.get_cell("alpha", "STATE")) == "Running"
        assert "1 machines, 1 running" in str(app.query_one("#summary").render())
        # created by the CLI in another terminal: appears by itself
        assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "beta"], env).returncode == 0
        await pilot.pause(1.0)
        assert sorted(k.value for k in table.rows) == ["alpha", "beta"]
        open(os.path.join(store, "machines", "beta", "config.json"), "w").write("{")
        await pilot.pause(1.0)
        assert str(table.get_cell("beta", "STATE")) == "Error"
        assert run_cli(["rm", "-f", "beta"], env).returncode == 0
        await pilot.pause(1.0)
        assert [k.value for k in table.rows] == ["alpha"]
