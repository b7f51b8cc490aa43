"""The app's fleet keys, pressed: `w` opens the selected machine's swarm (nodes, services; `d` drains the node under
the cursor, `a` activates it), `!` runs a command on the marked machines with a pane of output per machine."""

from __future__ import annotations

from conftest import choose_driver, clean_env, run_cli, start_sshd, wait_until
from fakeengine import FakeEngine, FakeSwarm
from generichost import add_generic
from machine_tui.core.events import Reporter
from machine_tui.core.store import Store
from machine_tui.tui.app import MachineTable, MachineTuiApp
from textual.widgets import DataTable, Static
from vmrig import free_port


def cell(table: DataTable, row: int, col: str) -> str:
    return str(table.get_cell_at((row, list(table.columns).index(col))))


async def test_w_shows_the_swarm_and_d_drains_the_node_under_the_cursor(store):
    from machine_tui.core.service import swarm

    env = clean_env(store)
    fake = FakeSwarm()
    engines, ports = [], {}
    for name in ("sw1", "sw2"):
        ports[name] = free_port()
        assert run_cli(["create", "-d", "none", "--url", f"tcp://127.0.0.1:{ports[name]}", name], env).returncode == 0
        engines.append(FakeEngine(store, "127.0.0.1", ports[name], swarm=fake, hostname=name).__enter__())
    try:
        st = Store(store)
        await swarm.init(st, "sw1", Reporter())
        await swarm.join(st, "sw1", ["sw2"], Reporter())
        fake.services.append({"ID": "s1", "name": "web", "replicas": 2})
        app = MachineTuiApp(st, poll_interval=30, timeout=2)
        async with app.run_test(size=(140, 45)) as pilot:
            table = app.screen.query_one(MachineTable)
            assert await wait_until(pilot, lambda: table.row_count == 2)
            await pilot.press("w")
            assert await wait_until(pilot, lambda: app.screen.query("#cluster-nodes")
                                    and app.screen.query_one("#cluster-nodes").row_count == 2, 10)
            nodes = app.screen.query_one("#cluster-nodes", DataTable)
            assert [cell(nodes, i, "MACHINE") for i in range(2)] == ["sw1", "sw2"]
            assert cell(nodes, 0, "LEADER") == "*" and cell(nodes, 1, "ROLE") == "worker"
            services = app.screen.query_one("#cluster-services", DataTable)
            assert cell(services, 0, "REPLICAS") == "2/2"
            await pilot.press("down", "d")
            assert await wait_until(pilot, lambda: cell(nodes, 1, "AVAILABILITY") == "drain", 10)
            assert cell(services, 0, "REPLICAS") == "1/2"  # the drained node's task is gone
            await pilot.press("a")
            assert await wait_until(pilot, lambda: cell(nodes, 1, "AVAILABILITY") == "active", 10)
            await pilot.press("escape")
            assert app.screen.id == "main"
    finally:
        for engine in engines:
            engine.__exit__(None, None, None)


async def test_w_on_a_machine_in_no_swarm_says_so(store):
    run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "lone"], clean_env(store))
    app = MachineTuiApp(Store(store), poll_interval=30, timeout=2)
    async with app.run_test(size=(140, 45)) as pilot:
        assert await wait_until(pilot, lambda: app.screen.query_one(MachineTable).row_count == 1)
        await pilot.press("w")
        await pilot.pause(0.2)
        assert app.screen.id == "main"
        assert any("lone is in no swarm" in str(n.message) for n in app._notifications)


async def test_bang_runs_a_command_on_the_marked_machines_a_pane_each(store, tmp_path):
    srv = start_sshd(tmp_path)
    try:
        st = Store(store)
        for name in ("h1", "h2", "h3"):
            add_generic(store, name, srv.port, srv.key, srv.user)
        app = MachineTuiApp(st, poll_interval=30, timeout=2)
        async with app.run_test(size=(140, 45)) as pilot:
            table = app.screen.query_one(MachineTable)
            assert await wait_until(pilot, lambda: table.row_count == 3)
            await pilot.press("space", "space")  # h1 and h2 marked, not h3
            await pilot.press("exclamation_mark")
            await pilot.pause(0.3)
            assert app.screen.query("#run-command")
            await pilot.press(*"echo ran-$((20+22))", "enter")
            assert await wait_until(pilot, lambda: "2 of 2 succeeded" in str(
                app.screen.query_one("#run-status").render()), 20)
            for name in ("h1", "h2"):
                text = str(app.screen.query_one(f"#run-text-{name}", Static).render())
                assert "[exit 0," in text and "ran-42" in text
            assert not app.screen.query("#run-text-h3")
    finally:
        srv.proc.terminate()
        srv.proc.wait(5)


async def test_shift_n_creates_a_swarm_cluster_a_row_per_machine_and_per_swarm_step(store, monkeypatch):
    from helpers.fleetlabdriver import lab_engines  # the module the registry line imports
    from machine_tui.core.drivers import DRIVERS
    from machine_tui.core.service.swarm import recorded_role

    monkeypatch.setitem(DRIVERS, "fleetlab", "helpers.fleetlabdriver:FleetLabDriver")
    fake = FakeSwarm()
    with lab_engines(store, ("lab1", "lab2", "lab3"), fake):
        st = Store(store)
        app = MachineTuiApp(st, poll_interval=30, timeout=2)
        async with app.run_test(size=(140, 45)) as pilot:
            await pilot.press("N")
            await pilot.pause(0.3)
            wizard = app.screen
            await choose_driver(pilot, wizard, "fleetlab")
            wizard.query_one("#name").value = "lab"
            wizard.query_one("#workers").value = "2"
            wizard.query_one("#name").focus()
            await pilot.press("enter")
            labels = lambda: [str(app.screen.query_one(f"#op-label-{n}").render())  # noqa: E731
                              for n in ("lab1", "lab2", "lab3")]
            assert await wait_until(pilot, lambda: all(t.endswith("created") for t in labels()), 20), labels()
            swarm_rows = {n: str(app.screen.query_one(f"#op-label-{n}-swarm").render()) for n in ("lab1", "lab2", "lab3")}
            assert swarm_rows == {"lab1": "lab1 swarm: lab1 is a swarm manager",
                                  "lab2": "lab2 swarm: lab2 is a swarm worker",
                                  "lab3": "lab3 swarm: lab3 is a swarm worker"}, swarm_rows
            assert all(app.screen.query_one(f"#op-bar-{n}-swarm").percentage == 1 for n in ("lab1", "lab2", "lab3"))
        roles = {n: recorded_role(st.load(n)) for n in ("lab1", "lab2", "lab3")}
        assert roles == {"lab1": ("manager", "lab1"), "lab2": ("worker", "lab1"), "lab3": ("worker", "lab1")}
        assert sorted(n["Spec"]["Role"] for n in fake.nodes.values()) == ["manager", "worker", "worker"]
