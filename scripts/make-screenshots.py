"""Makes the README's pictures of the TUI from a real run: a throwaway store with real machines
(none driver; one answering loopback engine, one closed, one broken; a generic one that is a real OpenSSH sshd on
127.0.0.1, for the console; one whose engine runs containers), the app driven headless, and served to Debian's
headless Chromium for browser.png.

    python scripts/make-screenshots.py   # writes screenshots/*.svg
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "helpers")]

from vmrig import free_port  # noqa: E402


async def choose_driver(pilot, wizard, name):
    """The create wizard's driver, and its form made for it."""
    wizard.query_one("#driver").value = name
    for _ in range(150):
        if wizard.driver == name and wizard.form_ready:
            return
        await pilot.pause(0.1)


def cli(store, *args):
    env = dict(os.environ, MACHINE_STORAGE_PATH=store, MACHINE_TUI_LOG_DIR=store + "-logs")
    subprocess.run([sys.executable, "-m", "machine_tui.cli", *args], env=env, check=True, capture_output=True)


async def shoot(store):
    from machine_tui.core.store import Store
    from machine_tui.tui.app import MachineTuiApp

    app = MachineTuiApp(Store(store), poll_interval=60, timeout=3)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause(2.0)
        shots = os.path.join(ROOT, "screenshots")
        app.save_screenshot("main-screen.svg", path=shots)
        await pilot.press("down", "e")  # dev: its engine answers, so its env is shown
        await pilot.pause(1.5)
        app.save_screenshot("env.svg", path=shots)
        await pilot.press("escape", "up", "question_mark")
        await pilot.pause(0.5)
        app.save_screenshot("help.svg", path=shots)
        await pilot.press("escape", "c")
        await pilot.pause(0.5)
        app.screen.query_one("#name").value = "new-host"
        app.screen.query_one("#flag-url").value = "tcp://127.0.0.1:2376"
        await pilot.pause(0.3)
        app.save_screenshot("create-wizard.svg", path=shots)
        await pilot.press("escape", "c")  # a create that takes a while, caught halfway
        await pilot.pause(0.5)
        await choose_driver(pilot, app.screen, "fleetlab")
        app.screen.query_one("#name").value = "lab-host"
        app.screen.query_one("#name").focus()
        await pilot.press("enter")
        for _ in range(100):
            if "50 %" in str(app.screen.query_one("#op-label-lab-host").render()):
                break
            await pilot.pause(0.1)
        app.save_screenshot("create-progress.svg", path=shots)
        from machine_tui.tui.app import MachineTable
        from machine_tui.tui.console import SshConsole

        table = app.query_one(MachineTable)
        table.move_cursor(row=[k.value for k in table.rows].index("shell-box"))
        await pilot.press("t")
        for _ in range(100):  # until the shell's prompt is there (typed-ahead text would mix with it)
            cons = app.query(SshConsole)
            if cons and any(line.rstrip().endswith(("#", "$")) for line in cons.first().model.text_lines()):
                break
            await pilot.pause(0.1)
        await pilot.press(*"uname -sr; ls --color=always -F /usr; printf '\\033[1;32mready\\033[0m\\n'", "enter")
        await pilot.pause(2.0)
        app.save_screenshot("console.svg", path=shots)


async def shoot_cloud_wizards(store):
    """The create wizard's cloud forms with live choices, from the stand-ins of DigitalOcean and OpenStack."""
    from fakedigitalocean import FakeDigitalOcean
    from fakeopenstack import FakeOpenStack
    from machine_tui.core.store import Store
    from machine_tui.tui.app import MachineTuiApp

    do, cloud = FakeDigitalOcean(), FakeOpenStack()
    os.environ.update(MACHINE_TUI_DIGITALOCEAN_API=do.url, DIGITALOCEAN_ACCESS_TOKEN=do.token,
                      OS_AUTH_URL=cloud.auth_url, OS_USERNAME=cloud.user, OS_PASSWORD=cloud.password,
                      OS_TENANT_NAME=cloud.project, OS_DOMAIN_NAME=cloud.domain, OS_REGION_NAME=cloud.region)
    shots = os.path.join(ROOT, "screenshots")
    try:
        app = MachineTuiApp(Store(store), poll_interval=60, timeout=3)
        async with app.run_test(size=(130, 40)) as pilot:
            for driver, flag, shot in (("digitalocean", "digitalocean-size", "cloud-wizard-digitalocean.svg"),
                                       ("openstack", "openstack-flavor-name", "cloud-wizard-openstack.svg")):
                await pilot.press("c")
                await pilot.pause(0.5)
                wizard = app.screen
                await choose_driver(pilot, wizard, driver)
                wizard.query_one("#name").value = "web2"
                for _ in range(100):
                    if "Live choices" in str(wizard.query_one("#choices-status").render()):
                        break
                    await pilot.pause(0.1)
                wizard.query_one(f"#choice-{flag}").focus()
                await pilot.press("enter")  # the list of sizes, open
                await pilot.pause(0.5)
                app.save_screenshot(shot, path=shots)
                await pilot.press("escape", "escape")
                await pilot.pause(0.3)
    finally:
        do.close()
        cloud.close()


async def shoot_fleet(store):
    """The swarm view of a three-node cluster (loopback engines that are nodes of one emulated swarm) and a command
    run on the console's machine."""
    from machine_tui.core.store import Store
    from machine_tui.tui.app import MachineTable, MachineTuiApp

    shots = os.path.join(ROOT, "screenshots")
    app = MachineTuiApp(Store(store), poll_interval=60, timeout=3)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause(2.0)
        table = app.query_one(MachineTable)
        table.move_cursor(row=[k.value for k in table.rows].index("sw1"))
        await pilot.press("w")
        for _ in range(50):
            if app.screen.query("#cluster-nodes") and app.screen.query_one("#cluster-nodes").row_count:
                break
            await pilot.pause(0.1)
        await pilot.press("down", "d")
        await pilot.pause(1.0)
        app.save_screenshot("swarm-view.svg", path=shots)
        await pilot.press("escape")
        table.move_cursor(row=[k.value for k in table.rows].index("shell-box"))
        await pilot.press("exclamation_mark")
        await pilot.pause(0.5)
        await pilot.press(*"uname -sr; uptime; df -h / | tail -1", "enter")
        for _ in range(100):
            if "succeeded" in str(app.screen.query_one("#run-status").render()):
                break
            await pilot.pause(0.1)
        app.save_screenshot("run-command.svg", path=shots)


async def shoot_cluster_create(store):
    """`N`: a cluster of one manager and three workers being made, caught while the workers boot."""
    from machine_tui.core.store import Store
    from machine_tui.tui.app import MachineTuiApp

    shots = os.path.join(ROOT, "screenshots")
    app = MachineTuiApp(Store(store), poll_interval=60, timeout=3)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause(1.0)
        await pilot.press("N")
        await pilot.pause(0.5)
        wizard = app.screen
        await choose_driver(pilot, wizard, "fleetlab")
        wizard.query_one("#name").value = "lab"
        wizard.query_one("#workers").value = "3"
        wizard.query_one("#name").focus()
        await pilot.press("enter")
        for _ in range(300):
            if "lab1 is a swarm manager" in str(app.screen.query_one("#op-label-lab1-swarm").render()) and \
                    "40 %" in str(app.screen.query_one("#op-label-lab3").render()):
                break
            await pilot.pause(0.1)
        app.save_screenshot("cluster-create-progress.svg", path=shots)
        for _ in range(300):  # the rest finish before the engines go
            if all(str(app.screen.query_one(f"#op-label-lab{i}").render()).endswith(("created", "failed"))
                   for i in range(2, 5)):
                break
            await pilot.pause(0.1)


def shoot_batch_cli(store):
    """`create --count 4 node` as a terminal shows it: the CLI's own rows (one member failing), recorded halfway."""
    from machine_tui.cli.progress import RichBatchSink
    from machine_tui.core import operations
    from machine_tui.core.errors import MachineError
    from machine_tui.core.events import Reporter
    from machine_tui.core.store import Store
    from rich.console import Console

    names = ["node1", "node2", "node3", "node4"]
    st = Store(store)
    sink = RichBatchSink(open(os.devnull, "w"), open(os.devnull, "w"), names)

    async def batch():
        gate = asyncio.Semaphore(3)

        async def one(name):
            async with gate:
                try:
                    await operations.create(st, name, "fleetlab", {}, Reporter(sink, name))
                    sink.finish(name, "")
                except MachineError as err:
                    sink.finish(name, str(err))

        async def shoot_halfway():
            await asyncio.sleep(4.2)
            shot = Console(record=True, width=110, file=open(os.devnull, "w"), force_terminal=True)
            shot.print("$ machine-tui create -d fleetlab --count 4 --parallel 3 node", markup=False, highlight=False)
            shot.print(sink.progress.get_renderable())
            shot.save_svg(os.path.join(ROOT, "screenshots", "batch-create-cli.svg"),
                          title="machine-tui create --count 4")

        await asyncio.gather(shoot_halfway(), *(one(n) for n in names))

    asyncio.run(batch())


def lab_machines(store, paces, fail=None):
    """Engines for the lab driver's machines (nodes of one emulated swarm); each create takes its pace."""
    from fakeengine import FakeEngine, FakeSwarm
    from helpers.fleetlabdriver import FleetLabDriver  # the module the registry line imports
    from machine_tui.core.drivers import DRIVERS

    DRIVERS["fleetlab"] = "helpers.fleetlabdriver:FleetLabDriver"
    fake, engines = FakeSwarm(), []
    for name, pace in paces.items():
        FleetLabDriver.ENGINES[name] = free_port()
        FleetLabDriver.PACE[name] = pace
        engines.append(FakeEngine(store, "127.0.0.1", FleetLabDriver.ENGINES[name], swarm=fake,
                                  hostname=name).__enter__())
    FleetLabDriver.FAIL.update(fail or {})
    return engines


async def shoot_inside(store):
    """Enter on a machine: its containers; Enter on one: its log, searched; the detail pane; the app at 80x24."""
    from machine_tui.core.store import Store
    from machine_tui.tui.app import MachineTable, MachineTuiApp

    shots = os.path.join(ROOT, "screenshots")
    app = MachineTuiApp(Store(store), poll_interval=2, timeout=3)
    async with app.run_test(size=(130, 36)) as pilot:
        await pilot.pause(1.5)
        table = app.query_one(MachineTable)
        table.move_cursor(row=[k.value for k in table.rows].index("box"))
        await pilot.press("v")
        await pilot.pause(0.3)
        app.save_screenshot("detail-pane.svg", path=shots)
        await pilot.press("v", "enter")
        containers = app.screen.query_one("#container-table")
        for _ in range(100):  # until the CPU column has its second sample
            if containers.row_count and containers.get_row_at(0)[5].endswith("%"):
                break
            await pilot.pause(0.1)
        app.save_screenshot("inside-a-machine.svg", path=shots)
        containers.move_cursor(row=[str(containers.get_row(k)[0]) for k in containers.rows].index("web"))
        await pilot.press("enter")
        await pilot.pause(1.5)
        await pilot.press("slash", *"POST", "enter")
        await pilot.pause(0.5)
        app.save_screenshot("container-logs.svg", path=shots)
    app = MachineTuiApp(Store(store), poll_interval=60, timeout=3)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(1.5)
        app.save_screenshot("app-80x24.svg", path=shots)


def box_engine(store):
    """A machine "box" whose engine runs a few containers, one of them with a busy log."""
    from fakedocker import FakeDocker
    from fakeengine import FakeEngine

    port = free_port()
    cli(store, "create", "-d", "none", "--url", f"tcp://127.0.0.1:{port}", "box")
    docker = FakeDocker()
    web = docker.add("web", "nginx:1.27", ports=[{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080,
                                                  "Type": "tcp"}])
    for i in range(400):
        method = "POST" if i % 9 == 0 else "GET"
        web.write(f'10.0.2.2 - - [02/Dec/2026:10:{i // 60:02d}:{i % 60:02d} +0000] "{method} /api/items/{i} '
                  f'HTTP/1.1" {201 if method == "POST" else 200} {512 + i * 7 % 900} "-" "curl/7.88.1"\n'.encode())
    docker.add("api", "local/api:2.3", ports=[{"IP": "0.0.0.0", "PrivatePort": 8000, "PublicPort": 8000,
                                               "Type": "tcp"}])
    docker.add("db", "postgres:16", ports=[{"PrivatePort": 5432, "Type": "tcp"}])
    docker.add("cache", "redis:7")
    docker.add("migrate", "local/api:2.3", running=False)
    docker.images += [{"Id": "sha256:" + "cd" * 32, "RepoTags": ["nginx:1.27"], "Created": 1764000000,
                       "Size": 192_000_000}]
    return FakeEngine(store, "127.0.0.1", port, docker=docker, hostname="box")


def shoot_browser(store):
    """`serve`, and the app in Debian's headless Chromium: a PNG from the browser itself."""
    from chromium import Browser, chromium_binary

    if not chromium_binary():
        print("no chromium: browser.png not remade (apt-get install chromium)")
        return
    port = free_port()
    env = dict(os.environ, MACHINE_STORAGE_PATH=store, MACHINE_TUI_LOG_DIR=store + "-logs")
    server = subprocess.Popen([sys.executable, "-m", "machine_tui.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = server.stdout.readline().split(" at ", 1)[1].strip()

    async def shoot_page():
        async with Browser() as browser:
            tab, page = await browser.open(url)
            await browser.send("Emulation.setFocusEmulationEnabled", {"enabled": True}, page)
            for _ in range(50):  # a browser tab in front has the focus: the app draws its footer for it
                if await browser.evaluate(page, "(() => { const t = document.querySelector('.xterm-helper-textarea');"
                                                " if (t) t.focus(); return !!t; })()"):
                    break
                await asyncio.sleep(0.2)
            for _ in range(150):  # the table and the footer have reached the page
                if "shell-box" in browser.received(page) and "palette" in browser.received(page):
                    break
                await asyncio.sleep(0.2)
            await asyncio.sleep(3.0)
            with open(os.path.join(ROOT, "screenshots", "browser.png"), "wb") as fh:
                fh.write(await browser.screenshot(page))
            await browser.close(tab)

    try:
        asyncio.run(shoot_page())
    finally:
        server.terminate()
        server.wait(20)


def remove_all(store, names):
    from machine_tui.core import operations
    from machine_tui.core.events import Reporter
    from machine_tui.core.store import Store

    for name in names:
        if Store(store).exists(name):
            asyncio.run(operations.remove(Store(store), name, True, Reporter()))


def add_swarm(store):
    """sw1 (manager), sw2 and sw3 (workers), a service of 3 replicas: engines that answer as swarm nodes."""
    from fakeengine import FakeEngine, FakeSwarm
    from machine_tui.core.events import Reporter
    from machine_tui.core.service import swarm
    from machine_tui.core.store import Store

    fake = FakeSwarm()
    engines = []
    for name in ("sw1", "sw2", "sw3"):
        port = free_port()
        cli(store, "create", "-d", "none", "--url", f"tcp://127.0.0.1:{port}", name)
        engines.append(FakeEngine(store, "127.0.0.1", port, swarm=fake, hostname=name).__enter__())
    st = Store(store)
    asyncio.run(swarm.init(st, "sw1", Reporter()))
    asyncio.run(swarm.join(st, "sw1", ["sw2", "sw3"], Reporter()))
    fake.services += [{"ID": "s1", "name": "web", "replicas": 3}, {"ID": "s2", "name": "api", "replicas": 2}]
    return engines


def start_sshd(folder):
    """A real OpenSSH server on 127.0.0.1 with its own host key, accepting one key for this user."""
    import getpass

    os.makedirs(folder)
    for key in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(folder, key)], check=True)
    shutil.copy(os.path.join(folder, "user_key.pub"), os.path.join(folder, "authorized_keys"))
    os.makedirs("/run/sshd", exist_ok=True)
    port = free_port()
    with open(os.path.join(folder, "sshd_config"), "w") as fh:
        fh.write(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder}/host_key\nPidFile {folder}/sshd.pid\n"
                 f"AuthorizedKeysFile {folder}/authorized_keys\nStrictModes no\nUsePAM no\n"
                 "PasswordAuthentication no\nKbdInteractiveAuthentication no\n")
    proc = subprocess.Popen([shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-f", os.path.join(folder, "sshd_config")])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            import time

            time.sleep(0.05)
    return proc, port, os.path.join(folder, "user_key"), getpass.getuser()


def add_shell_machine(store, name, port, key, user):
    from machine_tui.core.operations import TLSFiles, build_host
    from machine_tui.core.store import Store

    st = Store(store)
    host, driver = build_host(st, name, "generic", {"generic-ip-address": "127.0.0.1", "generic-ssh-port": port,
                                                     "generic-ssh-key": key, "generic-ssh-user": user}, TLSFiles())
    driver.config["SSHKeyPath"] = key
    st.create_machine_dir(name)
    st.save(host)


def main():
    from fakeengine import FakeEngine

    work = tempfile.mkdtemp(prefix="mt-shots-")
    store = os.path.join(work, "store")
    port = free_port()
    cli(store, "create", "-d", "none", "--url", f"tcp://127.0.0.1:{port}", "dev")
    cli(store, "create", "-d", "none", "--url", "tcp://127.0.0.1:1", "staging")
    cli(store, "create", "-d", "none", "--url", f"tcp://127.0.0.1:{port}", "--engine-label", "tier=web", "web1")
    os.makedirs(os.path.join(store, "machines", "broken"), 0o700)
    with open(os.path.join(store, "machines", "broken", "config.json"), "w") as fh:
        fh.write('{"ConfigVersion": 3, "Driver": ')
    sshd, ssh_port, key, user = start_sshd(os.path.join(work, "sshd"))
    add_shell_machine(store, "shell-box", ssh_port, key, user)
    engines = lab_machines(store, {"lab-host": 8.0, "lab1": 1.5, "lab2": 6.0, "lab3": 8.0, "lab4": 7.0,
                                   "node1": 5.0, "node2": 7.0, "node3": 6.0, "node4": 3.0},
                           fail={"node3": "no capacity left on the lab host"})
    try:
        with FakeEngine(store, "127.0.0.1", port):
            asyncio.run(shoot(store))
        asyncio.run(shoot_cluster_create(store))
        shoot_batch_cli(store)
        remove_all(store, ["lab-host", "lab1", "lab2", "lab3", "lab4", "node1", "node2", "node3", "node4"])
        with box_engine(store):
            asyncio.run(shoot_inside(store))
            shoot_browser(store)
        remove_all(store, ["box"])
        asyncio.run(shoot_cloud_wizards(store))
        swarm_engines = add_swarm(store)
        try:
            asyncio.run(shoot_fleet(store))
        finally:
            for engine in swarm_engines:
                engine.__exit__(None, None, None)
    finally:
        for engine in engines:
            engine.__exit__(None, None, None)
        sshd.terminate()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
