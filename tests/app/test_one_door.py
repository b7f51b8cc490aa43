"""The CLI and the app reach machines through one application service (core.service.Machines): a verb's store
effects are the same from both, because they are written once."""

from __future__ import annotations

import io
import json
import os

import pytest
from conftest import wait_until
from machine_tui.cli.main import dispatch
from machine_tui.core.drivers import DRIVERS
from machine_tui.core.store import Store
from machine_tui.tui.app import MachineTable, MachineTuiApp


def address(store: str) -> str:
    with open(os.path.join(store, "machines", "m1", "config.json")) as fh:
        return json.load(fh)["Driver"]["IPAddress"]


@pytest.fixture
def moving(monkeypatch, store):
    monkeypatch.setitem(DRIVERS, "moving", "helpers.movingdriver:MovingDriver")
    monkeypatch.setenv("MACHINE_STORAGE_PATH", store)
    assert dispatch(["create", "-d", "moving", "m1"], out=io.StringIO(), err=io.StringIO()) == 0
    assert address(store) == "127.0.0.10"


def test_a_failed_verb_keeps_what_the_driver_learned_from_the_cli(moving, store):
    err = io.StringIO()
    assert dispatch(["start", "m1"], out=io.StringIO(), err=err) == 1
    assert "the machine did not boot" in err.getvalue()
    assert address(store) == "127.0.0.11"  # saved once, after the verb, whatever its outcome


async def test_a_failed_verb_keeps_what_the_driver_learned_from_the_app(moving, store):
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    notes = []
    app.notify = lambda message, **kw: notes.append(str(message))
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(MachineTable)
        assert await wait_until(pilot, lambda: table.row_count == 1, 15)
        await pilot.press("s")
        assert await wait_until(pilot, lambda: any("did not boot" in n for n in notes), 15), notes
    assert address(store) == "127.0.0.11"  # the same door: the same save
