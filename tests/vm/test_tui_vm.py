"""From the TUI alone, on a real VM: the create wizard makes a qemu machine, its progress shows, the table says
Running, the console runs `docker ps` in it; Enter opens it: a container of a locally loaded image shows, its log
streams, a shell by exec runs in it, x stops it; then single keys stop, start and remove the machine."""

from __future__ import annotations

import os

import vmrig
from conftest import choose_driver, clean_env, run_cli, wait_until
from machine_tui.core.store import Store
from machine_tui.tui.app import MachineTable, MachineTuiApp
from machine_tui.tui.console import SshConsole


def state(app, name):
    row = app.rows.get(name)
    return row.State if row else None


async def test_wizard_create_console_stop_start_remove_on_a_vm(store, tmp_path, monkeypatch):
    try:
        await drive_the_app(store, tmp_path, monkeypatch)
    finally:  # never leave a VM behind, even when an assertion failed
        run_cli(["rm", "-f", "-y", "tuivm"], clean_env(store), timeout=120)


async def drive_the_app(store, tmp_path, monkeypatch):
    image = vmrig.build_image()
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    app = MachineTuiApp(Store(store), poll_interval=1.0, timeout=5)
    notes = []
    app.notify = lambda message, **kw: notes.append(message)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("c")
        await pilot.pause(0.3)
        w = app.screen
        await choose_driver(pilot, w, "qemu")
        w.query_one("#name").value = "tuivm"
        w.query_one("#flag-qemu-local-image").value = image
        w.query_one("#flag-qemu-cpus").value = "2"
        w.query_one("#flag-qemu-accel").value = "tcg"
        w.query_one("#flag-qemu-no-internet").value = True
        await pilot.click("#create")
        # the create runs in the background with its progress bar, the table already lists the machine
        assert await wait_until(pilot, lambda: app.query("#op-label-tuivm"), 10)
        seen = set()

        def running():
            if app.query("#op-label-tuivm"):
                seen.add(str(app.query_one("#op-label-tuivm").render()))
            return state(app, "tuivm") == "Running" and "tuivm: created" in seen

        ok = await wait_until(pilot, running, 600)
        console_log = os.path.join(store, "machines", "tuivm", "console.log")
        assert ok, f"{seen} {notes} {open(console_log, errors='replace').read()[-2000:] if os.path.exists(console_log) else ''}"
        assert len(seen) > 3  # the bar's label followed the steps

        table = app.query_one(MachineTable)
        table.move_cursor(row=[k.value for k in table.rows].index("tuivm"))
        await pilot.press("t")
        con = app.query_one(SshConsole)
        assert await wait_until(pilot, lambda: con.session is not None, 60)
        await pilot.press(*"docker ps", "enter")
        assert await wait_until(pilot, lambda: any("CONTAINER ID" in line for line in con.model.text_lines()), 60)
        await pilot.press("ctrl+right_square_bracket")
        assert table.has_focus

        await look_inside(pilot, app, tmp_path)

        await pilot.press("x", "y")  # stop, and yes
        assert await wait_until(pilot, lambda: state(app, "tuivm") == "Stopped", 180), notes
        assert await wait_until(pilot, lambda: con.ended, 30)  # the console says the session is gone
        await pilot.press("s")  # start
        # while it boots the row says so (it used to read Timeout while the engine was not answering yet)
        assert await wait_until(pilot, lambda: state(app, "tuivm") == "Starting", 10), notes
        seen_states = set()
        assert await wait_until(pilot, lambda: seen_states.add(state(app, "tuivm")) or
                                state(app, "tuivm") == "Running", 300), notes
        assert "Timeout" not in seen_states, seen_states
        await pilot.press("d")
        await pilot.pause(0.3)
        await pilot.press(*"tuivm", "enter")
        assert await wait_until(pilot, lambda: not os.path.exists(os.path.join(store, "machines", "tuivm")), 120)
        assert await wait_until(pilot, lambda: table.row_count == 0, 10)


async def look_inside(pilot, app, tmp_path):
    """Enter on the machine: its real dockerd's container, log, shell and stop, from the app."""
    from machine_tui.tui.log_view import LogView

    env = {"DOCKER_CONFIG": str(tmp_path / "docker-config")}
    vmrig.docker(env, "tuivm", "import", vmrig.busybox_rootfs(str(tmp_path)), "local/bb:1")
    vmrig.docker(env, "tuivm", "run", "-d", "--name", "ticker", "local/bb:1", "/bin/busybox", "sh", "-c",
                 "i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done")
    await pilot.press("enter")
    screen = app.screen
    containers = screen.query_one("#container-table")
    assert await wait_until(pilot, lambda: containers.row_count == 1, 60), \
        str(screen.query_one("#machine-summary").render())
    row = containers.get_row_at(0)
    assert row[0] == "ticker" and row[1] == "local/bb:1" and str(row[2]) == "running"
    assert await wait_until(pilot, lambda: containers.get_row_at(0)[5].endswith("%"), 60)  # CPU from two samples

    await pilot.press("enter")  # its log, followed
    view = app.screen.query_one(LogView)
    assert await wait_until(pilot, lambda: view.line_count >= 3, 30), view.lines
    first = view.line_count
    assert await wait_until(pilot, lambda: view.line_count >= first + 2, 30)  # new lines stream in
    assert view.lines[-1].startswith("tick ")
    await pilot.press("escape")

    await pilot.press("t")  # a shell inside it, by exec over the engine's TLS

    assert await wait_until(pilot, lambda: screen.query(SshConsole), 30)
    con = screen.query_one(SshConsole)
    assert await wait_until(pilot, lambda: con.session is not None, 60)
    await pilot.press(*"echo inside-$((6*7))", "enter")
    assert await wait_until(pilot, lambda: any("inside-42" in line for line in con.model.text_lines()), 30), \
        con.model.text_lines()[:5]
    await pilot.press(*"exit", "enter")
    assert await wait_until(pilot, lambda: con.ended, 30)
    await pilot.press("ctrl+right_square_bracket")

    await pilot.press("x", "y")  # stop the container, asked first
    assert await wait_until(pilot, lambda: str(containers.get_row_at(0)[2]) == "exited", 60)
    assert vmrig.docker(env, "tuivm", "inspect", "-f", "{{.State.Running}}", "ticker").strip() == "false"
    await pilot.press("escape")
    assert app.screen is app.main_screen
