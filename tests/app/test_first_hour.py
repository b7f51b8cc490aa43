"""What a new user meets in the first hour of the app (issue 21), pressed as they press it."""

from __future__ import annotations

import pytest
from conftest import wait_until
from machine_tui.tui.app import MachineTable, MachineTuiApp


@pytest.fixture
def config(tmp_path, monkeypatch):
    folder = tmp_path / "config"
    monkeypatch.setenv("MACHINE_TUI_CONFIG_DIR", str(folder))
    return folder


def none_store(store, *names):
    from generichost import add_none_machines

    return add_none_machines(store, list(names))


async def opened(pilot, app, key: str, screen: str):
    """The screen a key opens, once it is up."""
    await pilot.press(key)
    assert await wait_until(pilot, lambda: type(app.screen).__name__ == screen, 15)
    return app.screen


async def rows_shown(pilot, app, count: int):
    """The machine table once the first poll has shown its rows."""
    table = app.query_one(MachineTable)
    assert await wait_until(pilot, lambda: table.row_count == count, 15)
    return table


async def test_q_quits_from_the_machine_table(store, config):
    app = MachineTuiApp(none_store(store, "web1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(100, 30)) as pilot:
        table = await rows_shown(pilot, app, 1)
        assert table.has_focus
        await pilot.press("q")
        assert await wait_until(pilot, lambda: not app.is_running, 15)


async def test_ctrl_c_names_the_key_that_quits(store, config):
    app = MachineTuiApp(none_store(store, "web1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+c")
        assert await wait_until(pilot, lambda: any("to quit" in str(n.message) for n in app._notifications), 15)
        said = [str(n.message) for n in app._notifications if "to quit" in str(n.message)]
        assert "[b]q[/b]" in said[0]
        assert app.is_running


async def test_openstack_form_with_a_cloud_that_refuses_keeps_the_app(store, config, monkeypatch):
    """Choosing openstack while its cloud does not answer: the form says so in one line, the app goes on."""
    from conftest import choose_driver

    monkeypatch.setenv("OS_AUTH_URL", "http://127.0.0.1:9/v3")  # a closed loopback port
    monkeypatch.setenv("OS_USERNAME", "someone")
    monkeypatch.setenv("OS_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("OS_TENANT_NAME", "project")
    app = MachineTuiApp(none_store(store, "web1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("c")
        assert await wait_until(pilot, lambda: app.screen.__class__.__name__ == "CreateWizard", 15)
        wizard = app.screen
        await choose_driver(pilot, wizard, "openstack")

        def said():
            return str(wizard.query_one("#choices-status").render())

        assert await wait_until(pilot, lambda: "cannot reach" in said() or "OpenStack" in said() and "127.0.0.1:9"
                                in said(), 120), said()
        assert "hunter2" not in said() and "\n" not in said().strip()
        assert app.is_running and app.screen is wizard and not app.worker_failures


async def test_a_failing_background_task_is_a_toast_not_the_end_of_the_app(store, config):
    app = MachineTuiApp(none_store(store, "web1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(100, 30)) as pilot:
        async def boom():
            raise RuntimeError("the provider hung up")

        app.run_worker(boom(), exit_on_error=True)
        assert await wait_until(pilot, lambda: app.worker_failures, 15)
        assert app.is_running
        assert any("the provider hung up" in str(n.message) for n in app._notifications)
        await pilot.press("q")
        assert await wait_until(pilot, lambda: not app.is_running, 15)
    assert app.return_code in (0, None)


async def burst(pilot, app, *keys):
    """Keys as a terminal delivers a fast typist's or a paste's: all queued before the first is handled."""
    from textual import events
    from textual.keys import _character_to_key

    for key in keys:
        char = key if len(key) == 1 else None
        app.post_message(events.Key(_character_to_key(key) if char else key, char))
    await pilot.pause(0.3)


async def test_keys_typed_in_one_burst_after_slash_all_reach_the_filter(store, config):
    app = MachineTuiApp(none_store(store, "api1", "db1", "web1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        table = await rows_shown(pilot, app, 3)
        await burst(pilot, app, "/", "d")
        assert app.screen is app.main_screen  # no "Remove api1?" question
        assert app.query_one("#filter").value == "d"
        assert [k.value for k in table.rows] == ["db1"]
        await pilot.press("escape")
        await burst(pilot, app, "/", "x", "y", "z", "z", "y")
        assert app.screen is app.main_screen and app.query_one("#filter").value == "xyzzy"
        assert table.row_count == 0 and not app.main_screen.operations.busy


async def test_finished_and_cancelled_create_rows_go_away_and_the_status_line_clears(store, config, tmp_path,
                                                                                      monkeypatch):
    import os
    import subprocess

    from conftest import choose_driver, fill_a_create_that_waits
    from machine_tui.tui.create_progress import CreateProgressPanel
    from machine_tui.tui.widgets import StatusLine

    app = MachineTuiApp(none_store(store, "seed"), poll_interval=3600, timeout=2)
    screen = app.main_screen
    monkeypatch.setattr(StatusLine, "LINGER", 0.5)
    monkeypatch.setattr(CreateProgressPanel, "ROW_LINGER", 0.5)
    monkeypatch.setattr(CreateProgressPanel, "FAILED_ROW_LINGER", 1.0)
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    async with app.run_test(size=(140, 45)) as pilot:
        wizard = await opened(pilot, app, "c", "CreateWizard")
        await choose_driver(pilot, wizard, "none")
        wizard.query_one("#name").value = "made"
        wizard.query_one("#flag-url").value = "tcp://127.0.0.1:1"
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: "made" in screen.progress.created, 30)
        assert await wait_until(pilot, lambda: not app.query("#op-made"), 30)  # finished: its row went

        wizard = await opened(pilot, app, "c", "CreateWizard")
        await choose_driver(pilot, wizard, "generic")
        fill_a_create_that_waits(wizard, "never", str(key))
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: os.path.isdir(os.path.join(store, "machines", "never")), 30)
        await pilot.press("z")
        assert await wait_until(pilot, lambda: app.query("#op-label-never") and "cancelled" in str(
            app.query_one("#op-label-never").render()), 30)
        assert await wait_until(pilot, lambda: not app.query("#op-never"), 30)  # cancelled: it went too

        status = lambda: str(app.query_one("#status").render())  # noqa: E731
        assert await wait_until(pilot, lambda: status() == "", 15)
        await pilot.press("G", "x")  # stop seed (a none machine cannot): the answer is said, then the line clears
        assert await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmAction", 15)
        await pilot.press("y")
        assert await wait_until(pilot, lambda: status().startswith("seed: "), 15)
        assert await wait_until(pilot, lambda: status() == "", 15)


def header_line(app) -> str:
    table = app.query_one(MachineTable)
    return "".join(seg.text for seg in table.render_line(0))


async def test_o_walks_the_columns_in_the_screens_order_and_the_arrow_follows_at_once(store, config):
    app = MachineTuiApp(none_store(store, "b1", "a1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(140, 30)) as pilot:
        await rows_shown(pilot, app, 2)
        assert "NAME ▲" in header_line(app)
        for column in ("ACTIVE", "DRIVER", "STATE", "URL", "DOCKER", "ERRORS", "NAME"):
            await pilot.press("o")
            await pilot.pause()
            assert f"{column} ▲" in header_line(app), (column, header_line(app))
            assert header_line(app).count("▲") == 1
        await pilot.press("O")
        await pilot.pause()
        assert "NAME ▼" in header_line(app) and "▲" not in header_line(app)


async def test_enter_with_marked_rows_opens_the_machine_under_the_cursor(store, config):
    app = MachineTuiApp(none_store(store, "m1", "m2", "m3"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(140, 30)) as pilot:
        table = await rows_shown(pilot, app, 3)
        await pilot.press("space", "j", "j")  # m1 marked, the cursor on m3
        assert app.marked == {"m1"} and table.current_key() == "m3"
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: type(app.screen).__name__ == "MachineScreen", 15)
        assert app.screen.machine == "m3"


async def palette(pilot, app, text):
    await pilot.press("ctrl+p")
    assert await wait_until(pilot, lambda: type(app.screen).__name__ == "CommandPalette", 15)
    await pilot.press(*text)
    await pilot.pause(0.5)


async def test_the_palette_opens_a_machine_and_its_details_by_name_and_says_what_each_does(store, config):
    app = MachineTuiApp(none_store(store, "api1", "db1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(140, 40)) as pilot:
        await rows_shown(pilot, app, 2)
        await palette(pilot, app, "details of db1")
        options = app.screen.query_one("CommandList")
        shown = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert any("Details of db1" in s for s in shown), shown
        assert not any("the machine db1" in s and s.split()[0].islower() for s in shown)  # "console the machine"
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: app.query_one("#details").display, 15)
        assert await wait_until(pilot, lambda: str(app.query_one("#details-text").render()).startswith("db1"), 15)
        await palette(pilot, app, "open db1")
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: type(app.screen).__name__ == "MachineScreen", 15)
        assert app.screen.machine == "db1"


async def test_help_at_80x24_fits_scrolls_with_vi_keys_and_names_ctrl_q_and_keys_toml(store, config):
    from textual.containers import VerticalScroll

    app = MachineTuiApp(none_store(store, "web1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(80, 24)) as pilot:
        await rows_shown(pilot, app, 1)
        await pilot.press("question_mark")
        assert await wait_until(pilot, lambda: type(app.screen).__name__ == "TextScreen", 15)
        body = app.screen.query_one("#text-body")
        text = str(body.render())
        assert await wait_until(pilot, lambda: body.content_region.width > 0, 15)
        # nothing wraps (but the path of keys.toml, which is as long as the test's temporary folder)
        widest = max(len(line) for line in text.splitlines() if "keys.toml" not in line)
        assert widest <= body.content_region.width, (widest, body.content_region.width)
        for expected in ("ctrl+q", "Quit", "The swarm view (w)", "Drain node", "In a console tab", "Reconnect",
                         str(config / "keys.toml")):
            assert expected in text, expected
        scroll = app.screen.query_one(VerticalScroll)
        await pilot.press("j", "j", "j")
        assert await wait_until(pilot, lambda: scroll.scroll_y == 3, 15)
        await pilot.press("G")
        assert await wait_until(pilot, lambda: scroll.scroll_y == scroll.max_scroll_y > 3, 15)
        await pilot.press("g")
        assert await wait_until(pilot, lambda: scroll.scroll_y == 0, 15)
        await pilot.press("q")  # closes the help, not the app
        assert await wait_until(pilot, lambda: app.screen is app.main_screen, 15)
        assert app.is_running


async def test_an_empty_store_says_what_c_does_and_what_this_host_can_run(store, config):
    import os

    from machine_tui.core.store import Store

    images = os.path.join(store, "cache", "images", "abc123")
    os.makedirs(images)
    for name in ("docker.qcow2", "vmlinuz"):
        open(os.path.join(images, name), "w").close()
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        hint = app.query_one("#first-machine")
        assert await wait_until(pilot, lambda: hint.display, 15)
        text = str(hint.render())
        assert "Press c to create one" in text
        assert "QEMU found" in text and images in text  # QEMU is installed here (scripts/install-test-deps)
        from generichost import add_none_machines

        add_none_machines(store, ["web1"])
        assert await wait_until(pilot, lambda: not hint.display, 15)  # gone with the first machine


async def test_t_on_a_none_machine_says_why_there_is_no_console(store, config):
    from machine_tui.tui.console import SshConsole

    app = MachineTuiApp(none_store(store, "web1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        await rows_shown(pilot, app, 1)
        await pilot.press("t")
        assert await wait_until(pilot, lambda: any("none driver" in str(n.message) for n in app._notifications), 15)
        assert not app.query(SshConsole) and not app.query_one("#consoles").display


async def test_at_80x24_the_wizard_keeps_create_and_cancel_in_sight_and_says_how_to_submit(store, config):
    from conftest import choose_driver

    app = MachineTuiApp(none_store(store, "web1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(80, 24)) as pilot:
        wizard = await opened(pilot, app, "c", "CreateWizard")
        await choose_driver(pilot, wizard, "amazonec2")  # a long form
        for button in ("#create", "#cancel", "#submit-hint"):
            widget = wizard.query_one(button)
            assert await wait_until(pilot, lambda w=widget: w.region.height > 0 and w.region.bottom <= 24, 15), \
                (button, widget.region)
        assert "ctrl+s creates" in str(wizard.query_one("#submit-hint").render())
        wizard.query_one("#create").focus()
        await pilot.pause()
        assert wizard.focused is wizard.query_one("#create") and wizard.query_one("#create").region.bottom <= 24
        await pilot.press("escape")


async def test_at_80x24_the_cluster_form_draws_its_workers_field(store, config):
    app = MachineTuiApp(none_store(store, "web1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(80, 24)) as pilot:
        wizard = await opened(pilot, app, "N", "ClusterWizard")
        for field in ("#managers", "#workers"):
            widget = wizard.query_one(field)
            assert await wait_until(pilot, lambda w=widget: w.region.width >= 5 and w.region.right <= 80, 15), \
                (field, widget.region)
        assert await wait_until(pilot, lambda: wizard.query_one("#create").region.bottom <= 24, 15)


async def test_at_80x24_the_footer_shows_whole_keys_only(store, config):
    from textual.widgets._footer import FooterKey

    app = MachineTuiApp(none_store(store, "web1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(80, 24)) as pilot:
        await rows_shown(pilot, app, 1)
        assert await wait_until(pilot, lambda: len(app.screen.query(FooterKey)) > 3, 15)
        await pilot.pause()
        for key in app.screen.query(FooterKey):
            drawn = "".join(seg.text for seg in key.render_line(0))
            assert key.region.right <= 80 and key.description in drawn, (key.key_display, drawn, key.region)
            assert key.region.width >= len(key.key_display) + len(key.description) + 1, (key.key_display, key.region)


async def test_flag_help_wraps_instead_of_being_cut(store, config):
    from conftest import choose_driver

    app = MachineTuiApp(none_store(store, "web1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(80, 30)) as pilot:
        wizard = await opened(pilot, app, "c", "CreateWizard")
        await choose_driver(pilot, wizard, "generic")
        await pilot.pause()
        label = next(w for w in wizard.query(".flag-label") if "--generic-ssh-key" in str(w.render()))
        assert await wait_until(pilot, lambda: label.region.height >= 2, 15)  # wrapped onto a second line
        drawn = "".join("".join(seg.text for seg in label.render_line(y)) for y in range(label.region.height))
        assert "GENERIC_SSH_KEY]" in drawn


async def test_the_wizard_says_what_each_driver_makes_folds_a_clouds_extras_and_offers_the_built_image(store, config):
    import os

    from conftest import choose_driver

    image = os.path.join(store, "cache", "images", "recipe1")
    os.makedirs(image)
    for name in ("docker.qcow2", "vmlinuz"):
        open(os.path.join(image, name), "w").close()
    app = MachineTuiApp(none_store(store, "web1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await opened(pilot, app, "c", "CreateWizard")
        summary = lambda: str(wizard.query_one("#driver-summary").render())  # noqa: E731
        await choose_driver(pilot, wizard, "amazonec2")
        assert "EC2 instance" in summary()
        form = wizard.query_one("#form")
        outside = [w.id for w in form.children if w.id and w.id.startswith("flag-")]
        assert {"flag-amazonec2-region", "flag-amazonec2-instance-type", "flag-amazonec2-ami"} <= set(outside)
        assert "flag-amazonec2-vpc-id" not in outside and wizard.query("#flag-amazonec2-vpc-id")  # folded, there
        assert not wizard.query("#flag-amazonec2-block-duration-minutes")  # AWS ended spot blocks: not offered
        await choose_driver(pilot, wizard, "qemu")
        assert "QEMU" in summary()
        assert wizard.query_one("#flag-qemu-local-image").value == image


@pytest.mark.parametrize("which", ["keys.toml", "settings.toml"])
@pytest.mark.parametrize("what", ["latin-1", "fifo"])
async def test_a_settings_file_that_is_not_utf8_or_not_a_file_is_one_line_and_the_app_goes_on(store, config, which,
                                                                                               what):
    import os

    config.mkdir()
    path = config / which
    if what == "fifo":
        os.mkfifo(path)  # nothing ever writes to it: a reader that opens it would wait for ever
    else:
        path.write_bytes(b"[keys]\nmachine-remove = \"\xe9\"\n" if which == "keys.toml" else b"[app]\ntheme = \"\xe9\"\n")
    app = MachineTuiApp(none_store(store, "web1"), poll_interval=3600, timeout=2)
    async with app.run_test(size=(100, 30)) as pilot:
        await rows_shown(pilot, app, 1)
        said = [str(n.message) for n in app._notifications if which in str(n.message)]
        assert said and "is not read" in said[0] and "\n" not in said[0], said
        assert ("not UTF-8" if what == "latin-1" else "not a regular file") in said[0]
        await pilot.press("q")
        assert await wait_until(pilot, lambda: not app.is_running, 15)


def test_a_fifo_in_place_of_a_config_json_is_an_error_row_not_a_hang(store):
    import os

    from conftest import clean_env, run_cli

    none_store(store, "web1", "web2")
    config = os.path.join(store, "machines", "web1", "config.json")
    os.unlink(config)
    os.mkfifo(config)
    r = run_cli(["ls", "--format", "{{.Name}} {{.State}} {{.Error}}"], clean_env(store), timeout=60)
    assert r.returncode == 0 and "Traceback" not in r.stderr
    rows = {line.split()[0]: line for line in r.stdout.splitlines()}
    assert rows["web1"].startswith("web1 Error") and "not a regular file" in rows["web1"], rows
    assert set(rows) == {"web1", "web2"}


async def test_escape_during_a_slow_poll_inside_a_machine_leaves_no_failure_behind(store, config):
    import socket

    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)  # accepts, never speaks TLS: the drill-down's poll waits for its timeout
    try:
        from conftest import clean_env, run_cli
        from machine_tui.core.store import Store

        url = f"tcp://127.0.0.1:{hole.getsockname()[1]}"  # made by the CLI: the CA and client certificate too
        assert run_cli(["create", "-d", "none", "--url", url, "slow"], clean_env(store)).returncode == 0
        app = MachineTuiApp(Store(store), poll_interval=3600, timeout=3)  # a poll held ~8 s by the hole
        async with app.run_test(size=(120, 30)) as pilot:
            table = app.query_one(MachineTable)
            assert await wait_until(pilot, lambda: table.row_count == 1, 15)
            await pilot.press("enter")
            assert await wait_until(pilot, lambda: type(app.screen).__name__ == "MachineScreen", 15)
            screen = app.screen
            polls = lambda: [w for w in screen.workers if w.group == "machine-poll"]  # noqa: E731
            assert await wait_until(pilot, lambda: any(w.is_running for w in polls()), 15)
            await pilot.press("escape")
            assert await wait_until(pilot, lambda: app.screen is app.main_screen, 15)
            assert await wait_until(pilot, lambda: not any(w.is_running for w in polls()), 30)
            await pilot.pause(0.5)
            assert app.worker_failures == [] and app.is_running
    finally:
        hole.close()
