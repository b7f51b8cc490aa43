"""The app with Windows' behaviours simulated on Linux (sys.platform win32, no fcntl, termios, pty, tty, grp, pwd or
resource; msvcrt locks and kernel32 process calls recorded, a signal to a process fails the test): the live table,
a create from the wizard, and the env view in the shell that started the app."""

from __future__ import annotations

import sys

from conftest import choose_driver, wait_until
from machine_tui.core import hostos
from machine_tui.core.store import Store
from machine_tui.tui.app import MachineTable, MachineTuiApp


async def test_the_app_lists_creates_and_gives_powershell_env_lines_on_windows(windows, store, monkeypatch):
    from fakeengine import FakeEngine
    from vmrig import free_port

    monkeypatch.delenv("SHELL", raising=False)
    monkeypatch.setattr(hostos, "parent_program", lambda: "powershell.exe")
    port = free_port()
    # Textual picks its terminal driver by the platform it saw at its own import (here Linux's, which needs
    # termios): that is Textual's affair, and the Pilot runs headless anyway. From here on, ours must do without.
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    for module in ("termios", "pty", "tty", "grp", "pwd", "resource"):
        monkeypatch.setitem(sys.modules, module, None)
    async with app.run_test(size=(140, 45)) as pilot:
        table = app.query_one(MachineTable)
        await pilot.press("c")
        assert await wait_until(pilot, lambda: type(app.screen).__name__ == "CreateWizard")
        wizard = app.screen
        await choose_driver(pilot, wizard, "none")
        wizard.query_one("#name").value = "win1"
        wizard.query_one("#flag-url").value = f"tcp://127.0.0.1:{port}"
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: "win1" in [k.value for k in table.rows], 15)
        assert await wait_until(pilot, lambda: str(table.get_cell("win1", "STATE")) == "Running", 15)
        with FakeEngine(store, "127.0.0.1", port):
            table.move_cursor(row=0)
            await pilot.press("e")
            assert await wait_until(pilot, lambda: type(app.screen).__name__ == "TextScreen", 15)
            body = str(app.screen.query_one("#text-body").render())
    assert f'$Env:DOCKER_HOST = "tcp://127.0.0.1:{port}"' in body, body
    assert windows.locks  # the store's writes were locked through msvcrt
