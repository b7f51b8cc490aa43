"""The TUI under load, headless (Textual's test driver renders every frame as it would on a terminal):
- 500 machines in the table: time from a key press (cursor down) to the frame being composed, median and p95;
- idle CPU with polling every 5 s, over 30 s; memory (peak RSS) with the 500 rows;
- the console drawing 10 MB of output (plain log lines, then the same with colour codes), and how long a key
  typed during the flood waits.

    python bench/bench_tui.py
Goals (issue 5): repaint <= 16 ms, idle CPU <= 2 %, memory <= 150 MB, 10 MB in <= 3 s without freezing input."""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests"), os.path.join(HERE, "..", "tests", "helpers")]

from machine_tui.core.store import Store  # noqa: E402
from machine_tui.tui.app import MachineTable, MachineTuiApp  # noqa: E402


class FrameTimer:
    """While in use, the time each frame of the screen takes to compose (Textual's compositor refresh), in ms."""

    def __init__(self, screen):
        self.screen, self.frames = screen, []
        self.compose = screen._compositor_refresh

    def _timed(self):
        t = time.perf_counter()
        self.compose()
        self.frames.append((time.perf_counter() - t) * 1000)

    def __enter__(self) -> list[float]:
        self.screen._compositor_refresh = self._timed
        return self.frames

    def __exit__(self, *exc):
        self.screen._compositor_refresh = self.compose


def make_store(n: int) -> Store:
    from generichost import add_none_machines

    return add_none_machines(tempfile.mkdtemp(prefix="mt-bench-tui-"), [f"m{i:03d}" for i in range(n)])


async def table_bench(store: Store, poll: float = 5.0, machines: int = 500) -> dict:
    app = MachineTuiApp(store, poll_interval=poll, timeout=2)
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.query_one(MachineTable)
        t0 = time.perf_counter()
        while table.row_count < machines:
            await pilot.pause(0.05)
        first = time.perf_counter() - t0
        await pilot.pause(1)
        times, walls = [], []
        with FrameTimer(app.screen) as frames:
            for _ in range(150):
                t, c = time.perf_counter(), time.process_time()
                await pilot.press("down")
                await pilot.pause()  # until the message queue is empty and the frame composed
                times.append((time.process_time() - c) * 1000)
                walls.append((time.perf_counter() - t) * 1000)
        if poll > 60:  # the idle figures only mean something with polling on
            return {"key press, no polling: frame composition median / p95":
                    f"{statistics.median(sorted(frames)):.1f} / {sorted(frames)[int(len(frames) * 0.95)]:.1f} ms"}
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(30)
        cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times.sort()
    frames.sort()
    return {f"first poll to {machines} rows": f"{first:.2f} s",
            "key press: CPU from key to composed frame, median / p95":
                f"{statistics.median(times):.1f} / {times[int(len(times) * 0.95)]:.1f} ms (Pilot's own work included)",
            "key press, polling every 5 s: frame composition median / p95":
                f"{statistics.median(frames):.1f} / {frames[int(len(frames) * 0.95)]:.1f} ms",
            "key press: wall time with Pilot's waits, median": f"{statistics.median(walls):.0f} ms",
            "idle CPU with polling every 5 s": f"{cpu:.1f} %", "peak RSS": f"{rss:.0f} MB"}


async def console_bench(coloured: bool) -> dict:
    from consoleapp import ConsoleApp
    from machine_tui.tui.console import SshConsole

    if coloured:
        line = b"\x1b[32m%07d\x1b[0m \x1b[1mINFO\x1b[0m request served in 12 ms from 10.0.0.1\r\n"
    else:
        line = b"%07d INFO request served in 12 ms from 10.0.0.1 path=/api/v1/items\r\n"
    data = b"".join(line % i for i in range(10_000_000 // len(line % 0)))
    app = ConsoleApp()
    async with app.run_test(size=(120, 40)) as pilot:
        con = app.query_one(SshConsole)
        con.focus()
        while not app.sessions:
            await pilot.pause(0.01)
        session = app.sessions[0]
        last = (line % (len(data) // len(line % 0) - 1)).split(b"\r")[0].decode()
        last_plain = last.replace("\x1b[32m", "").replace("\x1b[0m", "").replace("\x1b[1m", "")
        t0 = time.perf_counter()
        for i in range(0, len(data), 65536):
            session.queue.put_nowait(data[i:i + 65536])
        from textual import events

        await asyncio.sleep(0.2)  # the flood is under way
        key_wait = None
        t_key = time.perf_counter()
        app.post_message(events.Key("z", "z"))  # as the terminal driver delivers a key
        while last_plain not in "".join(con.render_line(y).text for y in range(con.size.height)):
            if key_wait is None and session.written == b"z":
                key_wait = time.perf_counter() - t_key
            await asyncio.sleep(0.002)
        total = time.perf_counter() - t0
    kind = "coloured" if coloured else "plain"
    return {f"10 MB {kind} output drawn": f"{total:.2f} s ({len(data) / total / 1e6:.1f} MB/s)",
            f"key typed during the {kind} flood reached the session after": f"{key_wait * 1000:.0f} ms"
            if key_wait is not None else "not before the flood ended"}


def main():
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--machines", type=int, default=500)
    ap.add_argument("--table-only", action="store_true", help="leave out the console floods")
    a = ap.parse_args()
    results = {}
    store = make_store(a.machines)
    results.update(asyncio.run(table_bench(store, machines=a.machines)))
    results.update(asyncio.run(table_bench(store, poll=3600, machines=a.machines)))
    if not a.table_only:
        results.update(asyncio.run(console_bench(False)))
        results.update(asyncio.run(console_bench(True)))
    for k, v in results.items():
        print(f"{k:<62} {v}")


if __name__ == "__main__":
    main()
