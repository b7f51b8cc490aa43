"""Makes the README's pictures of the TUI from a real run: a throwaway store with real machines
(none driver; one answering loopback engine, one closed, one broken), the app driven headless.

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
sys.path.insert(0, os.path.join(ROOT, "tests"))


def cli(store, *args):
    env = dict(os.environ, MACHINE_STORAGE_PATH=store, MACHINE_TUI_LOG_DIR=store + "-logs")
    subprocess.run([sys.executable, "-m", "machine_tui.tui.cli", *args], env=env, check=True, capture_output=True)


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
    with FakeEngine(store, "127.0.0.1", port):
        asyncio.run(shoot(store))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
