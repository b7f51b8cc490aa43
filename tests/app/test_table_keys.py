"""The machine table's keys as k9s and lazydocker users expect them, pressed: vi movement and paging, a filter that
follows each key typed (Escape clears it), sorting by any column with the direction shown in the header (a header
click sorts), the detail pane, stop and kill asking first (and a setting that stops it), the theme kept for next time,
and the footer keeping ? and q in sight at 80x24."""

from __future__ import annotations

import os

import pytest
from conftest import clean_env, run_cli, wait_until
from machine_tui.core.store import Store
from machine_tui.tui.app import MachineTable, MachineTuiApp


@pytest.fixture
def config(tmp_path, monkeypatch):
    folder = tmp_path / "config"
    monkeypatch.setenv("MACHINE_TUI_CONFIG_DIR", str(folder))
    return folder


def make(store, *names, url="tcp://127.0.0.1:1"):
    for name in names:
        assert run_cli(["create", "-d", "none", "--url", url, name], clean_env(store)).returncode == 0


def shown(table):
    return [k.value for k in table.rows]


async def loaded(pilot, app, count):
    table = app.query_one(MachineTable)
    assert await wait_until(pilot, lambda: table.row_count == count, 15)
    return table


async def test_vi_keys_and_half_pages(store, config):
    from generichost import add_none_machines

    s = add_none_machines(store, [f"m{i:02d}" for i in range(40)])  # saved in-process: 40 CLI runs take longer
    app = MachineTuiApp(s, poll_interval=3600, timeout=2)
    async with app.run_test(size=(100, 24)) as pilot:
        table = await loaded(pilot, app, 40)
        await pilot.press("j", "j", "j")
        assert table.cursor_row == 3
        await pilot.press("k")
        assert table.cursor_row == 2
        await pilot.press("G")
        assert table.cursor_row == 39
        await pilot.press("g")
        assert table.cursor_row == 0
        await pilot.press("ctrl+d")
        half = table.cursor_row
        assert 4 <= half <= 12  # half of what the table shows at 24 lines
        await pilot.press("ctrl+d", "ctrl+u")
        assert table.cursor_row == half
        await pilot.press("ctrl+u")
        assert table.cursor_row == 0


async def test_filter_follows_each_key_and_escape_clears_it(store, config):
    make(store, "web1", "web2", "db1")
    app = MachineTuiApp(Store(store), poll_interval=3600, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        table = await loaded(pilot, app, 3)
        await pilot.press("slash", "w")
        assert shown(table) == ["web1", "web2"]  # no Enter needed
        await pilot.press("e", "b", "2")
        assert shown(table) == ["web2"]
        assert "filter: web2 (1 shown)" in str(app.query_one("#summary").render())
        await pilot.press("backspace")
        assert shown(table) == ["web1", "web2"]
        await pilot.press("escape")
        assert shown(table) == ["db1", "web1", "web2"]
        assert not app.query_one("#filter").display and table.has_focus
        await pilot.press("slash", *"none")  # the driver's name matches too
        assert len(shown(table)) == 3
        await pilot.press("enter")  # Enter keeps the filter and goes back to the table
        assert table.has_focus and "filter: none" in str(app.query_one("#summary").render())


async def test_sort_arrow_in_the_header_reverse_and_header_click(store, config):
    make(store, "a-one", "b-two", "c-three")
    app = MachineTuiApp(Store(store), poll_interval=3600, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        table = await loaded(pilot, app, 3)

        def headers():
            return {k.value: c.label.plain for k, c in table.columns.items()}

        assert headers()["NAME"] == "NAME ▲" and headers()["STATE"] == "STATE"
        table.move_cursor(row=2)
        await pilot.press("O")  # reversed: the arrow turns, the cursor stays on its machine
        assert shown(table) == ["c-three", "b-two", "a-one"] and headers()["NAME"] == "NAME ▼"
        assert table.current_key() == "c-three"
        await pilot.press("o")  # the next column, as the screen shows them
        assert headers()["ACTIVE"] == "ACTIVE ▲" and headers()["NAME"] == "NAME"
        # a click on the DRIVER header sorts by it; a second click turns it round
        await pilot.click(MachineTable, offset=(headers_x(table, "DRIVER"), 0))
        assert headers()["DRIVER"] == "DRIVER ▲"
        await pilot.click(MachineTable, offset=(headers_x(table, "DRIVER"), 0))
        assert headers()["DRIVER"] == "DRIVER ▼"


def headers_x(table, key):
    x = 0
    for k, column in table.columns.items():
        if k.value == key:
            return x + 2
        x += column.get_render_width(table)
    raise KeyError(key)


async def test_detail_pane_shows_the_machine_under_the_cursor(store, config):
    make(store, "alpha", "beta")
    app = MachineTuiApp(Store(store), poll_interval=3600, timeout=2)
    async with app.run_test(size=(140, 35)) as pilot:
        await loaded(pilot, app, 2)
        assert not app.query_one("#details").display
        await pilot.press("v")
        text = str(app.query_one("#details-text").render())
        assert text.startswith("alpha") and "Driver" in text and "none" in text
        assert "Client cert" in text and "expires " in text and "days)" in text  # the store's client certificate
        assert "Swarm" in text and "URL" in text
        await pilot.press("j")
        assert str(app.query_one("#details-text").render()).startswith("beta")
        await pilot.press("v")
        assert not app.query_one("#details").display


async def test_stop_asks_first_and_a_stops_the_asking_for_good(store, config):
    make(store, "one")
    app = MachineTuiApp(Store(store), poll_interval=3600, timeout=2)
    notes = []
    async with app.run_test(size=(120, 30)) as pilot:
        app.notify = lambda message, **kw: notes.append(str(message))
        await loaded(pilot, app, 1)
        await pilot.press("x")
        await pilot.pause(0.2)
        assert "Stop one?" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert notes[-1].startswith("Nothing done: one not stopping")
        await pilot.press("K")
        await pilot.pause(0.2)
        assert "Kill one?" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("a")  # yes, and never ask again
        assert await wait_until(pilot, lambda: any("hosts without a driver cannot be" in n for n in notes)), notes
        with open(config / "settings.toml") as fh:
            assert "confirm_stop = false" in fh.read()
        assert oct(os.stat(config / "settings.toml").st_mode & 0o777) == "0o600"
    app = MachineTuiApp(Store(store), poll_interval=3600, timeout=2)  # the next run does not ask
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app, 1)
        await pilot.press("x")
        await pilot.pause(0.3)
        assert app.screen is app.main_screen


async def test_the_theme_picked_is_the_next_runs_theme(store, config):
    make(store, "one")
    app = MachineTuiApp(Store(store), poll_interval=3600, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app, 1)
        await pilot.press("T")  # Textual's theme picker
        await pilot.pause(0.3)
        await pilot.press(*"nord")
        await pilot.pause(0.5)
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: app.theme == "nord")
    assert 'theme = "nord"' in (config / "settings.toml").read_text()
    app = MachineTuiApp(Store(store), poll_interval=3600, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app, 1)
        assert app.theme == "nord"


async def test_a_broken_settings_file_is_one_notice(store, config):
    os.makedirs(config)
    (config / "settings.toml").write_text("[app\ntheme = ")
    make(store, "one")
    app = MachineTuiApp(Store(store), poll_interval=3600, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app, 1)
        assert any("settings.toml" in str(n.message) for n in app._notifications)
        await pilot.press("x")  # the defaults hold: it asks
        await pilot.pause(0.2)
        assert app.screen.query("#confirm-question")


async def test_at_80x24_the_footer_keeps_help_quit_and_the_palette_in_sight(store, config):
    from textual.widgets._footer import FooterKey

    make(store, "one")
    app = MachineTuiApp(Store(store), poll_interval=3600, timeout=2)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app, 1)

        def pinned():
            keys = {k.action: k for k in app.screen.query(FooterKey)}
            return [keys[a].region for a in ("help", "app.quit", "command_palette") if a in keys]

        # the footer is recomposed after the bindings settle: wait for it, no fixed pause
        assert await wait_until(pilot, lambda: len(pinned()) == 3 and all(r.width for r in pinned()), 15)
        for region in pinned():
            assert region.width and region.right <= 80 and region.y == 23, region
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        body = str(app.screen.query_one("#text-body").render())
        for expected in ("Open", "Details", "Reverse the sort", "First row", "Half a page down", "Logs",
                         "Next match", "Theme"):
            assert expected in body, expected
        assert "?        Help" in body and "/        Filter" in body
