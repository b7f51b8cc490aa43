"""Debian's Chromium, headless, driven over the DevTools protocol (its websocket, with aiohttp's client): open a tab,
evaluate JavaScript, press keys, read the websocket frames the page received, take a PNG, close the tab. For the
`serve` test and the browser screenshot; Chromium is told to reach nothing but what it is pointed at."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile

FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-pings",
         "--disable-extensions", "--disable-default-apps", "--metrics-recording-only", "--mute-audio",
         "--remote-debugging-port=0", "--remote-allow-origins=*", "--window-size=1400,900"]


def chromium_binary() -> str:
    return shutil.which("chromium") or shutil.which("chromium-browser") or ""


class Browser:
    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix="mt-chromium-")
        self.proc = None
        self.ws = None
        self.http = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self.events: list[dict] = []
        self._reader = None

    async def __aenter__(self):
        import aiohttp

        binary = chromium_binary()
        assert binary, "the serve test needs Chromium: apt-get install chromium (scripts/install-test-deps does)"
        self.proc = await asyncio.create_subprocess_exec(
            binary, *FLAGS, f"--user-data-dir={self.folder}", "about:blank",
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = ""
        while not url:
            line = await asyncio.wait_for(self.proc.stderr.readline(), 60)
            assert line, "chromium ended before it listened"
            found = re.search(rb"DevTools listening on (ws://\S+)", line)
            url = found.group(1).decode() if found else ""
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(url, max_msg_size=0)
        self._reader = asyncio.ensure_future(self._read())
        self._drain = asyncio.ensure_future(self._drain_stderr())
        return self

    async def _drain_stderr(self):
        while await self.proc.stderr.readline():
            pass

    async def _read(self):
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._waiting:
                self._waiting.pop(data["id"]).set_result(data)
            else:
                self.events.append(data)

    async def send(self, method: str, params: dict | None = None, session: str = "") -> dict:
        ident = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        message = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        await self.ws.send_str(json.dumps(message))
        answer = await asyncio.wait_for(future, 60)
        assert "error" not in answer, answer
        return answer.get("result", {})

    async def open(self, url: str) -> tuple[str, str]:
        """A new tab at url: (target id, session id), with its network events recorded."""
        target = (await self.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
        session = (await self.send("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
        await self.send("Network.enable", {}, session)
        await self.send("Page.enable", {}, session)
        # the page's own size, whatever the headless window's frame takes (else the last line falls outside)
        await self.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 800, "deviceScaleFactor": 1,
                                                                "mobile": False}, session)
        await self.send("Page.navigate", {"url": url}, session)
        return target, session

    async def evaluate(self, session: str, expression: str):
        result = await self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                      "returnByValue": True}, session)
        return result.get("result", {}).get("value")

    async def press(self, session: str, text: str) -> None:
        """Keys as a user types them into the focused page: each one a key down, its character, a key up."""
        for char in text:
            await self.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": char}, session)
            await self.send("Input.dispatchKeyEvent", {"type": "char", "key": char, "text": char}, session)
            await self.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": char}, session)

    def received(self, session: str) -> str:
        """What the page's websockets received, as text (binary frames decoded)."""
        out = []
        for event in self.events:
            if event.get("sessionId") == session and event.get("method") == "Network.webSocketFrameReceived":
                frame = event["params"]["response"]
                data = frame.get("payloadData", "")
                if frame.get("opcode") == 2:
                    data = base64.b64decode(data).decode("utf-8", "replace")
                out.append(data)
        return "".join(out)

    async def screenshot(self, session: str) -> bytes:
        shot = await self.send("Page.captureScreenshot", {"format": "png"}, session)
        return base64.b64decode(shot["data"])

    async def close(self, target: str) -> None:
        await self.send("Target.closeTarget", {"targetId": target})

    async def __aexit__(self, *exc):
        if self.ws is not None:
            await self.ws.close()
        if self.http is not None:
            await self.http.close()
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def app_processes(server_pid: int) -> list[int]:
    """The app processes a `serve` started (its descendants running `machine_tui.cli app`)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [server_pid]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            todo.append(child)
            try:
                with open(f"/proc/{child}/cmdline", "rb") as fh:
                    if b"machine_tui.cli\0app" in fh.read():
                        found.append(child)
            except OSError:
                pass
    return found
