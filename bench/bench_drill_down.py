"""Inside a machine (Enter), headless, against a loopback TLS engine (tests/helpers/fakedocker.py):
- 200 containers (150 running, each sampled for CPU and memory every poll): key press to composed frame, median and
  p95, while polling; the CPU one poll of the 200 costs;
- a container's log of 10 MB, whole: time until every line is in the view, and how long a key pressed during the
  stream waits.

    python bench/bench_drill_down.py
Goals (issue 15): key press to frame <= 16 ms with 200 containers; 10 MB of log followed in <= 3 s without freezing
input."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests"), os.path.join(HERE, "..", "tests", "helpers")]

from bench_tui import FrameTimer  # noqa: E402
from fakedocker import FakeDocker  # noqa: E402
from fakeengine import FakeEngine  # noqa: E402
from machine_tui.core.store import Store  # noqa: E402
from machine_tui.tui.app import MachineTable, MachineTuiApp  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def until(pilot, predicate, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.02)


async def drill_down(store: str, docker: FakeDocker) -> dict:
    app = MachineTuiApp(Store(store), poll_interval=5.0, timeout=10)
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.query_one(MachineTable)
        await until(pilot, lambda: table.row_count == 1)
        t0 = time.perf_counter()
        await pilot.press("enter")
        screen = app.screen
        containers = screen.query_one("#container-table")
        await until(pilot, lambda: containers.row_count == 201)  # and the chatty one, exited
        first = time.perf_counter() - t0
        await until(pilot, lambda: containers.get_row_at(0)[5].endswith("%"), 30)  # the second poll
        cpu0 = time.process_time()
        await screen.poll().wait()
        poll_cpu = time.process_time() - cpu0
        keyed, cpu = [], []
        with FrameTimer(screen) as frames:
            for i in range(150):
                before = len(frames)
                c = time.process_time()
                await pilot.press("j" if (i // 50) % 2 == 0 else "k")
                await pilot.pause()
                cpu.append((time.process_time() - c) * 1000)
                keyed += frames[before:before + 1]  # the frame the key press made
        with FrameTimer(screen) as polled:  # a poll's frame: every visible row's CPU and memory changed at once
            await screen.poll().wait()
            await pilot.pause()
    keyed.sort()
    cpu.sort()
    return {"Enter to 201 containers listed": f"{first:.2f} s",
            "key press, polling every 5 s: its frame's composition median / p95":
                f"{statistics.median(keyed):.1f} / {keyed[int(len(keyed) * 0.95)]:.1f} ms",
            "key press: CPU from key to composed frame, median / p95":
                f"{statistics.median(cpu):.1f} / {cpu[int(len(cpu) * 0.95)]:.1f} ms (Pilot's own work included)",
            "the frame after a poll (every visible row changed)": f"{max(polled or [0]):.1f} ms",
            "one poll of 200 containers (150 stats samples): CPU": f"{poll_cpu * 1000:.0f} ms"}


async def log_follow(store: str, docker: FakeDocker, container_id: str, lines: int) -> dict:
    from machine_tui.core.engine_client import EngineClient
    from machine_tui.tui.log_view import LogScreen, LogView
    from textual import events

    app = MachineTuiApp(Store(store), poll_interval=3600, timeout=10)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause(0.5)
        engine = await EngineClient.of(Store(store).load("box"))
        t0 = time.perf_counter()
        app.push_screen(LogScreen(engine, container_id, "chatty", tail="all"))
        await pilot.pause(0.05)
        view = app.screen.query_one(LogView)
        box = app.screen.query_one("#log-search-box")
        while view.line_count == 0:
            await asyncio.sleep(0.002)
        t_key = time.perf_counter()
        app.post_message(events.Key("slash", "/"))  # as the terminal delivers a key, mid-stream
        key_wait = None
        while view.line_count < lines:
            if key_wait is None and box.display:
                key_wait = time.perf_counter() - t_key
            await asyncio.sleep(0.002)
        total = time.perf_counter() - t0
        if key_wait is None:
            await until(pilot, lambda: box.display, 10)
            key_wait = time.perf_counter() - t_key
        engine.close()
    return {"10 MB of a container's log, whole, in the view": f"{total:.2f} s ({10 / total:.1f} MB/s)",
            "key pressed during the stream answered after": f"{key_wait * 1000:.0f} ms"}


def main():
    work = tempfile.mkdtemp(prefix="mt-bench-drill-")
    store = os.path.join(work, "store")
    port = free_port()
    env = dict(os.environ, MACHINE_STORAGE_PATH=store, MACHINE_TUI_LOG_DIR=os.path.join(work, "logs"),
               MACHINE_TUI_CONFIG_DIR=os.path.join(work, "config"))
    subprocess.run([sys.executable, "-m", "machine_tui.cli", "create", "-d", "none", "--url",
                    f"tcp://127.0.0.1:{port}", "box"], env=env, check=True, capture_output=True)
    os.environ.update(MACHINE_TUI_CONFIG_DIR=env["MACHINE_TUI_CONFIG_DIR"],
                      MACHINE_TUI_LOG_DIR=env["MACHINE_TUI_LOG_DIR"])
    docker = FakeDocker()
    for i in range(200):
        docker.add(f"svc-{i:03d}", "busybox:latest", running=i % 4 != 0,
                   ports=[{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8000 + i, "Type": "tcp"}])
    chatty = docker.add("chatty", running=False)
    line = "2026-12-02T10:00:00Z INFO request served in 12 ms from 10.0.0.1 path=/api/v1/items id=%07d\n"
    count = 10_000_000 // len(line % 0)
    for start in range(0, count, 1000):
        chatty.write("".join(line % i for i in range(start, min(count, start + 1000))).encode())
    results = {}
    with FakeEngine(store, "127.0.0.1", port, docker=docker, hostname="box"):
        results.update(asyncio.run(drill_down(store, docker)))
        results.update(asyncio.run(log_follow(store, docker, chatty.id, count)))
    for k, v in results.items():
        print(f"{k:<66} {v}")


if __name__ == "__main__":
    main()
