"""Pictures of the main screens compared with the approved ones in tests/app/__snapshots__ (pytest-textual-snapshot).
Textual is pinned in the test extra because its rendering changes between releases; after a deliberate change,
run `pytest tests/app/test_snapshots.py --snapshot-update` and look at the new SVGs before committing them."""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import choose_driver, clean_env, run_cli, wait_until
from consoleapp import ConsoleApp
from machine_tui.core.store import Store
from machine_tui.tui.app import MachineTable, MachineTuiApp
from textual.widgets import Input

STORE = "/tmp/machine-tui-snapshots/store"  # a fixed path: it shows in the header


@pytest.fixture
def fixed_store():
    import fcntl

    # one fixed path for every worker of a parallel run: one snapshot test at a time holds it
    lock = open("/tmp/machine-tui-snapshots.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    shutil.rmtree(os.path.dirname(STORE), ignore_errors=True)
    env = clean_env(STORE)
    for name in ("web", "db", "builder"):
        assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", name], env).returncode == 0
    os.makedirs(os.path.join(STORE, "machines", "broken"))
    with open(os.path.join(STORE, "machines", "broken", "config.json"), "w") as fh:
        fh.write("{")
    try:
        yield STORE
    finally:
        shutil.rmtree(os.path.dirname(STORE), ignore_errors=True)
        lock.close()


def main_app():
    return MachineTuiApp(Store(STORE), poll_interval=3600, timeout=2)


async def loaded(pilot):
    tables = pilot.app.query(MachineTable)  # mounted inside its container a moment after the app starts
    await wait_until(pilot, lambda: tables.nodes and tables.first().row_count == 4)
    await pilot.pause(0.2)


def test_main_screen(fixed_store, snap_compare):
    assert snap_compare(main_app(), terminal_size=(120, 24), run_before=loaded)


def test_help_screen(fixed_store, snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(main_app(), terminal_size=(120, 36), run_before=run_before)


def test_create_wizard(fixed_store, snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("c")
        await pilot.pause(0.3)
        await choose_driver(pilot, pilot.app.screen, "generic")
        for field in pilot.app.screen.query(Input):  # a blinking cursor would make the picture random
            field.cursor_blink = False
        await pilot.pause(0.1)

    assert snap_compare(main_app(), terminal_size=(120, 36), run_before=run_before)


def test_console_pane(snap_compare):
    async def run_before(pilot):
        app = pilot.app
        await wait_until(pilot, lambda: app.sessions)
        app.sessions[0].queue.put_nowait(
            b"docker@box:~$ docker ps\r\nCONTAINER ID   IMAGE     COMMAND   STATUS\r\n"
            b"\x1b[32m3f2a1b\x1b[0m         busybox   \"sh\"      \x1b[1mUp 2 minutes\x1b[0m\r\ndocker@box:~$ ")
        await pilot.pause(0.3)

    assert snap_compare(ConsoleApp(), terminal_size=(80, 10), run_before=run_before)


# at 80x24, the smallest terminal the app promises to fit: what a first user with a default window sees
def test_create_wizard_at_80x24(fixed_store, snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("c")
        await pilot.pause(0.3)
        await choose_driver(pilot, pilot.app.screen, "generic")
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause(0.1)

    assert snap_compare(main_app(), terminal_size=(80, 24), run_before=run_before)


def test_detail_pane_at_80x24(fixed_store, snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("v")
        await pilot.pause(0.3)

    assert snap_compare(main_app(), terminal_size=(80, 24), run_before=run_before)


def test_cluster_form_at_80x24(fixed_store, snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("N")
        await pilot.pause(0.3)
        await choose_driver(pilot, pilot.app.screen, "generic")  # the default driver depends on the host
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause(0.1)

    assert snap_compare(main_app(), terminal_size=(80, 24), run_before=run_before)


def test_machine_log_at_80x24(fixed_store, snap_compare):
    async def run_before(pilot):
        await loaded(pilot)
        await pilot.press("l")
        await pilot.pause(0.3)

    assert snap_compare(main_app(), terminal_size=(80, 24), run_before=run_before)


DRILL_PORT = 23761  # a fixed port: the machine's URL shows in the picture (the snapshot lock keeps it to one test)


def test_drill_down_at_80x24(fixed_store, snap_compare):
    """Enter on a machine: its containers (running first, with ports), as a first user's window shows them."""
    from fakedocker import FakeDocker
    from fakeengine import FakeEngine

    env = clean_env(STORE)
    assert run_cli(["rm", "-y", "web", "db", "builder"], env).returncode == 0
    assert run_cli(["create", "-d", "none", "--url", f"tcp://127.0.0.1:{DRILL_PORT}", "box"], env).returncode == 0
    shutil.rmtree(os.path.join(STORE, "machines", "broken"))
    docker = FakeDocker()
    docker.add("web", "nginx:1.27", ports=[{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}])
    docker.add("worker", "busybox:latest")
    docker.add("job", "busybox:latest", running=False)

    async def run_before(pilot):
        tables = pilot.app.query(MachineTable)
        await wait_until(pilot, lambda: tables.nodes and tables.first().row_count == 1)
        await pilot.press("enter")
        containers = pilot.app.screen.query_one("#container-table")
        await wait_until(pilot, lambda: containers.row_count == 3)
        await pilot.pause(0.3)

    with FakeEngine(STORE, "127.0.0.1", DRILL_PORT, docker=docker, hostname="box"):
        assert snap_compare(main_app(), terminal_size=(80, 24), run_before=run_before)
