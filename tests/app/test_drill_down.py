"""Into a machine (Enter), pressed as a user presses it, against a loopback TLS engine that runs containers
(helpers/fakedocker.py): the containers with CPU and memory, the other tabs, a stop that asks first, a removal,
the log followed and searched, stats, a shell in the console pane, Escape back. The real dockerd is
tests/vm/test_tui_vm.py."""

from __future__ import annotations

import pytest
from conftest import clean_env, run_cli, wait_until
from fakedocker import FakeDocker
from fakeengine import FakeEngine
from machine_tui.core.store import Store
from machine_tui.tui.app import MachineTable, MachineTuiApp
from vmrig import free_port


@pytest.fixture
def box(store, tmp_path, monkeypatch):
    """A machine "box" whose engine runs web (with ports and a log), worker and an exited job."""
    monkeypatch.setenv("MACHINE_TUI_CONFIG_DIR", str(tmp_path / "config"))
    port = free_port()
    assert run_cli(["create", "-d", "none", "--url", f"tcp://127.0.0.1:{port}", "box"],
                   clean_env(store)).returncode == 0
    docker = FakeDocker()
    web = docker.add("web", "nginx:1.27", ports=[{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080,
                                                   "Type": "tcp"}])
    for i in range(300):
        web.write(f"GET /page/{i} 200\n".encode(), stream=1 + (i % 7 == 0))
    docker.add("worker", "busybox:latest")
    docker.add("job", "busybox:latest", running=False)
    with FakeEngine(store, "127.0.0.1", port, docker=docker, hostname="box"):
        docker.store = store
        yield docker


def rows(table):
    return [str(table.get_row(k)[0]) for k in table.rows]


async def opened(pilot, app):
    table = app.query_one(MachineTable)
    assert await wait_until(pilot, lambda: table.row_count == 1, 15)
    await pilot.press("enter")
    screen = app.screen
    containers = screen.query_one("#container-table")
    assert await wait_until(pilot, lambda: containers.row_count == 3, 15), \
        str(screen.query_one("#machine-summary").render())
    return screen, containers


async def test_enter_opens_the_machine_its_containers_then_escape_goes_back(box):
    from machine_tui.tui.machine_view import MachineScreen

    app = MachineTuiApp(Store(box.store), poll_interval=0.3, timeout=2)
    async with app.run_test(size=(130, 35)) as pilot:
        screen, containers = await opened(pilot, app)
        assert isinstance(screen, MachineScreen)
        assert rows(containers) == ["web", "worker", "job"]  # running first
        web = containers.get_row(next(k for k in containers.rows if str(containers.get_row(k)[0]) == "web"))
        assert web[1] == "nginx:1.27" and str(web[2]) == "running" and web[4] == "0.0.0.0:8080->80/tcp"
        # CPU from two samples: the second poll brings it
        assert await wait_until(pilot, lambda: containers.get_row_at(0)[5].endswith("%"), 10)
        assert containers.get_row_at(0)[6].endswith("MiB") and containers.get_row_at(2)[5] == "-"
        assert "3 containers, 2 running" in str(screen.query_one("#machine-summary").render())
        # vi keys and paging move the cursor
        await pilot.press("j", "j")
        assert containers.cursor_row == 2
        await pilot.press("g")
        assert containers.cursor_row == 0
        await pilot.press("G")
        assert containers.cursor_row == 2
        await pilot.press("k")
        assert containers.cursor_row == 1
        # sorted by a column, its arrow in the header; reversed; a click on a header sorts by it
        await pilot.press("o")
        assert rows(containers) == ["job", "web", "worker"]
        assert containers.columns[next(k for k in containers.columns if k.value == "NAME")].label.plain == "NAME ▲"
        await pilot.press("O")
        assert rows(containers) == ["worker", "web", "job"]
        header = containers.columns[next(k for k in containers.columns if k.value == "IMAGE")]
        await pilot.click("#container-table", offset=(sum(c.get_render_width(containers) for c in
                                                          list(containers.columns.values())[:1]) + 2, 0))
        # busybox before nginx; within busybox, the running one first
        assert header.label.plain == "IMAGE ▲" and rows(containers) == ["worker", "job", "web"]
        # the other tabs, by number
        await pilot.press("2")
        images = screen.query_one("#images-table")
        assert await wait_until(pilot, lambda: images.row_count == 1, 10)
        assert images.get_row_at(0)[0] == "busybox:latest"
        await pilot.press("3")
        volumes = screen.query_one("#volumes-table")
        assert await wait_until(pilot, lambda: volumes.row_count == 1, 10)
        await pilot.press("4")
        info = screen.query_one("#info-text")
        assert await wait_until(pilot, lambda: "ServerVersion:" in str(info.render()), 10)
        assert "20.10.24" in str(info.render()) and "Debian GNU/Linux 12" in str(info.render())
        await pilot.press("1", "escape")
        assert app.screen is app.main_screen


async def test_stop_asks_first_remove_asks_always_and_the_engine_does_them(box):
    app = MachineTuiApp(Store(box.store), poll_interval=0.3, timeout=2)
    async with app.run_test(size=(130, 35)) as pilot:
        screen, containers = await opened(pilot, app)
        web = next(c for c in box.containers.values() if c.name == "web")
        await pilot.press("x")
        await pilot.pause(0.2)
        assert "Stop the container web on box?" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("n")
        await pilot.pause(0.3)
        assert web.running
        await pilot.press("x", "y")
        assert await wait_until(pilot, lambda: not web.running, 5)
        assert await wait_until(pilot, lambda: "web: stop: done" in str(screen.query_one("#view-status").render()))
        assert await wait_until(pilot, lambda: any(str(containers.get_row_at(i)[2]) == "exited"
                                                   and containers.get_row_at(i)[0] == "web" for i in range(3)), 10)
        # the cursor stayed on web through the new order; start it again, no question asked
        assert containers.get_row_at(containers.cursor_row)[0] == "web"
        await pilot.press("s")
        assert await wait_until(pilot, lambda: web.running, 5)
        # the engine's own refusal is said: killing a stopped container
        job = next(c for c in box.containers.values() if c.name == "job")
        assert await wait_until(pilot, lambda: rows(containers)[-1] == "job", 10)
        containers.move_cursor(row=2)
        await pilot.press("K", "y")
        assert await wait_until(pilot, lambda: "is not running" in str(screen.query_one("#view-status").render()))
        await pilot.press("d")
        await pilot.pause(0.2)
        assert app.screen.query_one("#confirm-question")
        await pilot.press("a")  # removal cannot be made to stop asking: `a` does nothing there
        await pilot.pause(0.1)
        await pilot.press("y")
        assert await wait_until(pilot, lambda: job.id not in box.containers, 5)
        assert await wait_until(pilot, lambda: containers.row_count == 2, 10)


async def test_a_containers_log_follows_and_is_searched(box):
    app = MachineTuiApp(Store(box.store), poll_interval=0.3, timeout=2)
    web = next(c for c in box.containers.values() if c.name == "web")
    async with app.run_test(size=(130, 35)) as pilot:
        screen, containers = await opened(pilot, app)
        await pilot.press("enter")  # on web: its log
        from machine_tui.tui.log_view import LogView

        view = app.screen.query_one(LogView)
        assert await wait_until(pilot, lambda: view.line_count == 300, 10), view.line_count
        assert view.lines[0] == "GET /page/0 200" and view.following
        ok = await wait_until(pilot, lambda: view.scroll_y == view.max_scroll_y > 0)  # at the end
        assert ok, (view.scroll_y, view.max_scroll_y, view.following, view.size, view.virtual_size)
        web.write(b"a new request\n")
        assert await wait_until(pilot, lambda: view.lines[-1:] == ["a new request"], 10)
        await pilot.press("g")
        assert view.scroll_y == 0 and not view.following
        await pilot.press("slash", *"page/150", "enter")
        assert await wait_until(pilot, lambda: int(view.scroll_y) == 150)
        await pilot.press("n")  # no other match below: it stays
        assert int(view.scroll_y) == 150
        await pilot.press("G")
        assert view.following
        web.set_running(False)
        assert await wait_until(pilot, lambda: "log ended" in str(app.screen.query_one("#log-title").render()), 10)
        await pilot.press("escape")
        assert app.screen is screen


async def test_stats_and_a_shell_inside_the_container(box):
    app = MachineTuiApp(Store(box.store), poll_interval=0.3, timeout=2)
    async with app.run_test(size=(130, 40)) as pilot:
        screen, containers = await opened(pilot, app)
        await pilot.press("u")
        text = app.screen.query_one("#stats-text")
        assert await wait_until(pilot, lambda: "%" in str(text.render()).splitlines()[0], 10), str(text.render())
        assert "Memory" in str(text.render()) and "40.0 MiB of 1.9 GiB" in str(text.render())
        await pilot.press("escape")
        assert app.screen is screen
        from machine_tui.tui.console import SshConsole

        await pilot.press("t")
        assert await wait_until(pilot, lambda: screen.query(SshConsole), 10)
        console = screen.query_one(SshConsole)
        assert await wait_until(pilot, lambda: any(line.rstrip().endswith("#") for line in console.model.text_lines()),
                                10)
        await pilot.press(*"echo inside the box", "enter")
        assert await wait_until(pilot, lambda: "inside the box" in console.model.text_lines()[1], 10), \
            console.model.text_lines()[:3]
        await pilot.press(*"exit", "enter")
        assert await wait_until(pilot, lambda: console.ended, 10)
        assert any("session ended (exit 0)" in line for line in console.model.text_lines())


async def test_an_engine_that_does_not_answer_is_said_and_the_app_stays(store, tmp_path, monkeypatch):
    monkeypatch.setenv("MACHINE_TUI_CONFIG_DIR", str(tmp_path / "config"))
    assert run_cli(["create", "-d", "none", "--url", f"tcp://127.0.0.1:{free_port()}", "dead"],
                   clean_env(store)).returncode == 0
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    async with app.run_test(size=(130, 35)) as pilot:
        table = app.query_one(MachineTable)
        assert await wait_until(pilot, lambda: table.row_count == 1, 15)
        await pilot.press("enter")
        summary = app.screen.query_one("#machine-summary")
        assert await wait_until(pilot, lambda: "connection refused" in str(summary.render()), 10)
        assert "Cannot reach the engine of dead" in str(summary.render())
        await pilot.press("escape")
        assert app.screen is app.main_screen
