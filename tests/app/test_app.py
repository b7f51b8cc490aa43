"""The full-screen app shows the machines of the store, live."""

from __future__ import annotations

import os

from conftest import choose_driver, clean_env, fill_a_create_that_waits, run_cli, wait_until
from machine_tui.core.store import Store
from machine_tui.tui.app import MachineTable, MachineTuiApp


async def test_main_screen_lists_machines_and_follows_the_store(store):
    env = clean_env(store)
    assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "alpha"], env).returncode == 0
    app = MachineTuiApp(Store(store), poll_interval=0.2, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(MachineTable)
        await wait_until(pilot, lambda: table.row_count == 1)  # the first poll pays for imports: slow under load
        assert [k.value for k in table.rows] == ["alpha"]
        assert str(table.get_cell("alpha", "STATE")) == "Running"
        assert "1 machines, 1 running" in str(app.query_one("#summary").render())
        # created by the CLI in another terminal: appears by itself
        assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "beta"], env).returncode == 0
        # each poll's interval stretches with the CPU it took (66x): under a loaded CI machine a change can take
        # several seconds to show, so the waits allow 15 s
        assert await wait_until(pilot, lambda: sorted(k.value for k in table.rows) == ["alpha", "beta"], 15)
        open(os.path.join(store, "machines", "beta", "config.json"), "w").write("{")
        assert await wait_until(pilot, lambda: str(table.get_cell("beta", "STATE")) == "Error", 15)
        assert run_cli(["rm", "-f", "beta"], env).returncode == 0
        assert await wait_until(pilot, lambda: [k.value for k in table.rows] == ["alpha"], 15)


def make_none(store, name, url="tcp://127.0.0.1:1"):
    assert run_cli(["create", "-d", "none", "--url", url, name], clean_env(store)).returncode == 0


async def test_remove_needs_the_typed_name(store):
    make_none(store, "keep")
    make_none(store, "gone")
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(MachineTable)
        await wait_until(pilot, lambda: table.row_count == 2)
        table.move_cursor(row=[k.value for k in table.rows].index("gone"))
        await pilot.press("d")
        await pilot.press(*"wrong", "enter")
        await pilot.pause(0.5)
        assert os.path.isdir(os.path.join(store, "machines", "gone"))
        await pilot.press("d")
        await pilot.press(*"gone", "enter")
        assert await wait_until(pilot, lambda: not os.path.exists(os.path.join(store, "machines", "gone")))
        assert await wait_until(pilot, lambda: [k.value for k in table.rows] == ["keep"])


async def test_actions_report_what_the_driver_says_and_marks_apply_to_all(store):
    make_none(store, "a1")
    make_none(store, "a2")
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    notes = []
    app.notify = lambda message, **kw: notes.append(message)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(MachineTable)
        await wait_until(pilot, lambda: table.row_count == 2)
        await pilot.press("space", "space")
        assert app.marked == {"a1", "a2"}
        await pilot.press("x")  # a stop asks first
        await pilot.pause(0.2)
        assert "Stop a1, a2?" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("y")
        assert await wait_until(pilot, lambda: len(notes) == 2)
        assert notes == ["hosts without a driver cannot be stopped"] * 2


async def test_env_inspect_help_and_filter(store):
    import socket

    from fakeengine import FakeEngine

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    make_none(store, "web", f"tcp://127.0.0.1:{port}")
    make_none(store, "db")
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    with FakeEngine(store, "127.0.0.1", port):
        async with app.run_test(size=(120, 30)) as pilot:
            table = app.query_one(MachineTable)
            await wait_until(pilot, lambda: table.row_count == 2)
            table.move_cursor(row=[k.value for k in table.rows].index("web"))
            await pilot.press("e")
            assert await wait_until(pilot, lambda: type(app.screen).__name__ == "TextScreen")
            body = str(app.screen.query_one("#text-body").render())
            assert f'export DOCKER_HOST="tcp://127.0.0.1:{port}"' in body
            assert "# eval $(machine-tui env web)" in body
            await pilot.press("escape")
            await pilot.press("i")
            await pilot.pause(0.2)
            assert '"DriverName": "none"' in str(app.screen.query_one("#text-body").render())
            await pilot.press("escape")
            await pilot.press("question_mark")
            await pilot.pause(0.2)
            help_body = str(app.screen.query_one("#text-body").render())
            assert "machine-remove" in help_body and "Remove" in help_body
            await pilot.press("escape")
            await pilot.press("slash", *"we", "enter")
            assert await wait_until(pilot, lambda: [k.value for k in table.rows] == ["web"])


def app_with_keys(store, tmp_path, monkeypatch, keys_toml: str) -> MachineTuiApp:
    """The app on a store with one machine, `only`, and this keys.toml in its config folder."""
    make_none(store, "only")
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "keys.toml").write_text(keys_toml)
    monkeypatch.setenv("MACHINE_TUI_CONFIG_DIR", str(tmp_path / "cfg"))
    return MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)


async def test_keys_can_be_remapped_by_id(store, tmp_path, monkeypatch):
    app = app_with_keys(store, tmp_path, monkeypatch, '[keys]\nmachine-remove = "delete"\n')
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(MachineTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        await pilot.press("delete")
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "ConfirmRemove"


async def test_wizard_creates_a_machine_with_progress(store):
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    async with app.run_test(size=(140, 45)) as pilot:
        table = app.query_one(MachineTable)
        await pilot.press("c")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "CreateWizard"
        await pilot.press(*"bad_name", "enter")
        await pilot.pause(0.2)
        assert "Invalid hostname" in str(app.screen.query_one("#problem").render())
        app.screen.query_one("#name").value = "wiz"
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert "--url is required" in str(app.screen.query_one("#problem").render())
        app.screen.query_one("#flag-url").value = "tcp://127.0.0.1:1"
        app.screen.query_one("#flag-engine-label").value = "made=by-wizard"
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: "wiz" in [k.value for k in table.rows], 10)
        assert str(table.get_cell("wiz", "STATE")) == "Running"
        assert await wait_until(pilot, lambda: "created" in str(app.query_one("#op-label-wiz").render()))
        assert app.query_one("#op-bar-wiz").percentage == 1.0
    host = Store(store).load("wiz")
    assert host.engine["Labels"] == ["made=by-wizard"]
    assert host.driver_config["SwarmHost"] == ""  # shared flags not given reach the driver as docker-machine's do


async def test_wizard_form_follows_the_driver_schema(store):
    app = MachineTuiApp(Store(store), poll_interval=5, timeout=2)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("c")
        await pilot.pause(0.3)
        wizard = app.screen
        await choose_driver(pilot, wizard, "generic")
        ids = [w.id for w in wizard.query("#form Input")]
        assert ids[0] == "flag-generic-ip-address"  # required first
        assert "flag-generic-ssh-user" in ids and "flag-engine-opt" in ids
        assert wizard.query_one("#flag-generic-ssh-user").value == "root"
        await choose_driver(pilot, wizard, "virtualbox")  # the first driver docker-machine users ever typed
        ids = [w.id for w in wizard.query("#form Input")]
        assert "flag-virtualbox-image-url" in ids and "flag-virtualbox-boot2docker-url" in ids
        assert wizard.query_one("#flag-virtualbox-memory").value == "1024"
        assert wizard.query_one("#flag-virtualbox-hostonly-cidr").value == "192.168.99.1/24"


async def test_the_cloud_form_never_shows_a_credential_from_the_environment(store, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-from-env")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    app = MachineTuiApp(Store(store), poll_interval=5, timeout=2)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("c")
        await pilot.pause(0.3)
        wizard = app.screen
        await choose_driver(pilot, wizard, "amazonec2")
        secret = wizard.query_one("#flag-amazonec2-secret-key")
        assert secret.value == "" and secret.password
        assert "set in $AWS_SECRET_ACCESS_KEY" in str(secret.placeholder)
        assert "not set" in str(wizard.query_one("#flag-amazonec2-session-token").placeholder)
        assert wizard.query_one("#flag-amazonec2-instance-type").value == "t3.micro"
        wizard.query_one("#name").value = "aws1"
        request = wizard.collect()
        assert "amazonec2-secret-key" not in request.values and "amazonec2-secret-key" not in request.explicit
        assert "s3cr3t" not in str(request.values)


async def test_cancelled_create_leaves_nothing(store, tmp_path):
    import subprocess

    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("c")
        await pilot.pause(0.3)
        w = app.screen
        await choose_driver(pilot, w, "generic")
        fill_a_create_that_waits(w, "never", str(key))
        await pilot.press("enter")
        mdir = os.path.join(store, "machines", "never")
        assert await wait_until(pilot, lambda: os.path.isdir(mdir), 10)
        await pilot.pause(0.5)
        await pilot.press("z")
        assert await wait_until(pilot, lambda: not os.path.exists(mdir), 10)
        assert await wait_until(pilot, lambda: "cancelled" in str(app.query_one("#op-label-never").render()))


async def test_sort_keeps_the_cursor_on_its_machine_and_log_shows_operations(store):
    make_none(store, "b-up", "tcp://127.0.0.1:1")
    make_none(store, "a-broken")
    open(os.path.join(store, "machines", "a-broken", "config.json"), "w").write("{")
    make_none(store, "c-up")
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(MachineTable)
        await wait_until(pilot, lambda: table.row_count == 3)
        assert [k.value for k in table.rows] == ["a-broken", "b-up", "c-up"]
        table.move_cursor(row=2)  # c-up
        await pilot.press("o")  # by state: Error before Running
        await pilot.pause(0.5)
        assert [k.value for k in table.rows] == ["a-broken", "b-up", "c-up"]
        await pilot.press("o", "o")  # by URL: the broken one has none
        await pilot.pause(0.5)
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == "c-up"
        await pilot.press("x", "y")
        await pilot.pause(0.5)
        await pilot.press("l")
        await pilot.pause(0.3)
        body = str(app.screen.query_one("#text-body").render())
        assert "hosts without a driver cannot be stopped" in body


async def test_scrolling_a_long_table_draws_the_cursor_row_where_it_is(store):
    """The table keeps drawn rows between key presses; what it shows must equal a fresh drawing."""
    from generichost import add_none_machines

    s = add_none_machines(store, [f"m{i:02d}" for i in range(60)])
    app = MachineTuiApp(s, poll_interval=3600, timeout=2)
    async with app.run_test(size=(120, 20)) as pilot:
        table = app.query_one(MachineTable)
        assert await wait_until(pilot, lambda: table.row_count == 60)

        def drawn():
            return [[(seg.text, seg.style) for seg in table.render_line(y)] for y in range(table.size.height)]

        for presses in (1, 5, 20, 13, 20):
            for _ in range(presses):
                await pilot.press("down")
            await pilot.press("up", "down")
            await pilot.pause()
            kept = drawn()
            table._line_cache.clear()
            table._row_render_cache.clear()
            assert kept == drawn()
            lines = ["".join(text for text, _ in line) for line in kept]
            cursor_name = f"m{table.cursor_row:02d}"
            assert any(cursor_name in line for line in lines)  # the cursor's machine is in view
        assert table.cursor_row == 59


async def test_shift_s_on_the_table_runs_ssh(store, tmp_path, monkeypatch):
    """SSH has its own key (Enter opens the machine, as in k9s); the table's bindings never swallow it."""
    make_none(store, "only")
    monkeypatch.setenv("MACHINE_TUI_CONFIG_DIR", str(tmp_path / "nocfg"))
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    called = []
    app.action_ssh = lambda: called.append(app.selected())  # the real one suspends the terminal
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(MachineTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        assert app.focused is table
        await pilot.press("S")
        await pilot.pause(0.1)
        assert called == [["only"]]


async def test_help_shows_remapped_keys_and_unknown_ids_are_named(store, tmp_path, monkeypatch):
    app = app_with_keys(store, tmp_path, monkeypatch, '[keys]\nmachine-remove = "delete"\nmachine-frobnicate = "f"\n')
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        notes = [n.message for n in app._notifications]
        assert any("machine-frobnicate" in n for n in notes), notes
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        body = str(app.screen.query_one("#text-body").render())
        line = next(l for l in body.splitlines() if l.endswith(" machine-remove"))
        assert line.split()[0] == "delete", line


async def test_tab_from_the_wizard_name_lands_on_the_first_field(store):
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("c")
        await pilot.pause(0.3)
        await pilot.press(*"abc", "tab", "x")
        await pilot.pause(0.1)
        focused = app.screen.focused
        assert focused is not None and focused.id and focused.id.startswith("flag-"), focused
        if hasattr(focused, "value") and isinstance(focused.value, str):
            assert focused.value.endswith("x")  # the keystroke after Tab is not lost


async def test_the_app_shows_a_damaged_config_as_one_error_row(store):
    make_none(store, "good")
    make_none(store, "bad")
    import json

    cfg = os.path.join(store, "machines", "bad", "config.json")
    doc = json.load(open(cfg))
    doc["HostOptions"] = "oops"
    open(cfg, "w").write(json.dumps(doc))
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(MachineTable)
        assert await wait_until(pilot, lambda: table.row_count == 2)
        assert str(table.get_cell("bad", "STATE")) == "Error"
        assert str(table.get_cell("good", "STATE")) == "Running"
