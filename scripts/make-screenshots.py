"""Makes the README's pictures of the TUI from a real run: a throwaway store with real machines
(none driver; one answering loopback engine, one closed, one broken; a generic one that is a real OpenSSH sshd on
127.0.0.1, for the console), the app driven headless.

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
        await pilot.press("e")
        await pilot.pause(1.5)
        app.save_screenshot("env.svg", path=shots)
        await pilot.press("escape", "question_mark")
        await pilot.pause(0.5)
        app.save_screenshot("help.svg", path=shots)
        await pilot.press("escape", "c")
        await pilot.pause(0.5)
        app.screen.query_one("#name").value = "new-host"
        app.screen.query_one("#flag-url").value = "tcp://127.0.0.1:2376"
        await pilot.pause(0.3)
        app.save_screenshot("create-wizard.svg", path=shots)
        await pilot.press("enter")
        await pilot.pause(2.0)
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
                wizard.query_one("#driver").value = driver
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


def add_swarm(store):
    """sw1 (manager), sw2 and sw3 (workers), a service of 3 replicas: engines that answer as swarm nodes."""
    from fakeengine import FakeEngine, FakeSwarm
    from machine_tui.core import swarm
    from machine_tui.core.events import Reporter
    from machine_tui.core.store import Store

    fake = FakeSwarm()
    engines = []
    for name in ("sw1", "sw2", "sw3"):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
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
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli(store, "create", "-d", "none", "--url", f"tcp://127.0.0.1:{port}", "dev")
    cli(store, "create", "-d", "none", "--url", "tcp://127.0.0.1:1", "staging")
    cli(store, "create", "-d", "none", "--url", f"tcp://127.0.0.1:{port}", "--engine-label", "tier=web", "web1")
    os.makedirs(os.path.join(store, "machines", "broken"), 0o700)
    with open(os.path.join(store, "machines", "broken", "config.json"), "w") as fh:
        fh.write('{"ConfigVersion": 3, "Driver": ')
    sshd, ssh_port, key, user = start_sshd(os.path.join(work, "sshd"))
    add_shell_machine(store, "shell-box", ssh_port, key, user)
    try:
        with FakeEngine(store, "127.0.0.1", port):
            asyncio.run(shoot(store))
        asyncio.run(shoot_cloud_wizards(store))
        engines = add_swarm(store)
        try:
            asyncio.run(shoot_fleet(store))
        finally:
            for engine in engines:
                engine.__exit__(None, None, None)
    finally:
        sshd.terminate()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
