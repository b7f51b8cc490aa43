"""`machine-tui serve` in a real browser: Debian's headless Chromium loads the printed URL (the table reaches the page,
a key pressed in the page reaches the app), the same page without the token is refused, a websocket from another
origin is refused, and closing the tab ends the tab's app process."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import pytest
from chromium import Browser, app_processes, chromium_binary
from conftest import clean_env, run_cli
from vmrig import free_port


@pytest.fixture
def served(store, tmp_path):
    env = clean_env(store, MACHINE_TUI_CONFIG_DIR=str(tmp_path / "config"))
    for name in ("web1", "db1"):
        assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", name], env).returncode == 0
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "machine_tui.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    assert line.startswith(f"machine-tui serves its app at http://127.0.0.1:{port}/?token="), \
        line + server.stderr.read() if server.poll() is not None else line
    try:
        yield server, line.split(" at ", 1)[1].strip(), port
    finally:
        server.terminate()
        server.wait(20)


def fetch(port: int, path: str, **headers):
    """GET from the server on 127.0.0.1: (status, headers, body)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers)
    answer = conn.getresponse()
    body = answer.read().decode(errors="replace")
    conn.close()
    return answer.status, answer.headers, body


async def until(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.2)
    return predicate()


def test_the_served_app_in_chromium(served):
    assert chromium_binary(), "this test needs Chromium: apt-get install chromium (scripts/install-test-deps does)"
    server, url, port = served
    assert "token=" in url and len(url.split("token=")[1]) >= 24

    async def go():
        async with Browser() as browser:
            # without the token: refused, and no app process is started
            _, bare = await browser.open(f"http://127.0.0.1:{port}/")
            text = ""
            for _ in range(50):
                text = await browser.evaluate(bare, "document.body ? document.body.innerText : ''") or ""
                if text:
                    break
                await asyncio.sleep(0.2)
            assert "open the URL with the token" in text, text
            assert app_processes(server.pid) == []

            # with it: the page connects, the app's table reaches it
            tab, page = await browser.open(url)
            assert await until(lambda: "db1" in browser.received(page) and "web1" in browser.received(page), 60), \
                browser.received(page)[-2000:]
            assert "DRIVER" in browser.received(page)
            assert len(app_processes(server.pid)) == 1
            # a key typed in the page reaches the app: ? opens the help
            focused = await browser.evaluate(page, "(() => { const t = document.querySelector('.xterm-helper-textarea');"
                                                   " if (t) t.focus(); return document.activeElement.className; })()")
            assert "xterm-helper-textarea" in focused, focused
            await browser.press(page, "?")
            assert await until(lambda: " machine-start" in browser.received(page), 20), \
                browser.received(page)[-1500:]

            # another origin's page cannot open the app's websocket, even in the browser that holds the cookie
            _, other = await browser.open("data:text/html,<title>elsewhere</title>")
            await asyncio.sleep(0.5)
            verdict = await browser.evaluate(other, f"""new Promise(done => {{
                const ws = new WebSocket('ws://127.0.0.1:{port}/ws');
                ws.onopen = () => done('opened'); ws.onerror = () => done('refused');
                setTimeout(() => done('no answer'), 10000); }})""")
            assert verdict == "refused"
            assert len(app_processes(server.pid)) == 1

            # the tab closes: its app process ends
            await browser.close(tab)
            assert await until(lambda: app_processes(server.pid) == [], 30), app_processes(server.pid)

    asyncio.run(go())
    assert server.poll() is None  # the server itself serves on


def test_another_host_or_origin_is_refused_even_with_the_token(served):
    """DNS rebinding (the browser thinks it talks to evil.example) and a page of another origin: 403, no app."""

    server, url, port = served
    token = url.split("token=")[1]

    def status(path, **headers):
        return fetch(port, path, **headers)[0]

    assert status(f"/?token={token}", Host=f"evil.example:{port}") == 403
    assert status(f"/?token={token[:-1]}") == 403
    assert status("/", Cookie=f"machine_tui_token={token}") == 200
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Cookie": f"machine_tui_token={token}"}
    assert status("/ws", **upgrade, Origin="http://evil.example") == 403
    assert status("/ws", **upgrade) == 101  # the same, from no page of another origin: let in
    # that socket closed at once: the app it started ends too
    assert asyncio.run(until(lambda: app_processes(server.pid) == [], 30)), app_processes(server.pid)


def test_serve_refuses_bad_input_in_one_line(store):
    env = clean_env(store)
    out = run_cli(["serve", "--port", "70000"], env)
    assert out.returncode == 1 and out.stderr == "Error: --port 70000: a TCP port is 1 to 65535\n"
    out = run_cli(["serve", "extra"], env)
    assert out.returncode == 1 and "serve takes no arguments" in out.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        out = run_cli(["serve", "--port", str(taken.getsockname()[1])], env, timeout=60)
    assert out.returncode == 1 and out.stderr.startswith("Error: cannot serve on 127.0.0.1:"), out.stderr
    assert "Traceback" not in out.stderr and os.linesep not in out.stderr.rstrip("\n")


def test_the_link_lets_one_browser_in_then_the_cookie_does_and_the_page_has_a_title(served):

    server, url, port = served
    token = url.split("token=")[1]

    def get(path, **headers):
        return fetch(port, path, **headers)

    code, headers, _ = get(f"/?token={token}")
    assert code == 303 and headers["Location"] == "/"  # the address bar loses the token
    cookie = headers["Set-Cookie"]
    assert f"machine_tui_token={token}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    code, _, body = get(f"/?token={token}")  # the same link again, from anywhere: refused
    assert code == 403 and "used already" in body
    code, _, body = get("/", Cookie=f"machine_tui_token={token}")
    assert code == 200 and "<title>machine-tui</title>" in body


def test_serve_refuses_every_address_without_a_public_url_and_brackets_ipv6(store):
    env = clean_env(store)
    for host in ("0.0.0.0", "::", ""):
        out = run_cli(["serve", "--host", host, "--port", str(free_port())], env)
        assert out.returncode == 1 and "listens on every address: give --public-url" in out.stderr, out.stderr
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "machine_tui.cli", "serve", "--host", "::1", "--port",
                               str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith(f"machine-tui serves its app at http://[::1]:{port}/?token="), line
    finally:
        server.terminate()
        assert server.wait(30) is not None


async def test_page_messages_are_clamped_and_malformed_ones_dropped():
    """A resize past any screen (one made a 5.2 GB app process) is clamped; junk never raises."""
    from aiohttp import WSMsgType
    from machine_tui.cli.serve import SIZE_BOUNDS, guarded_server

    class Message:
        def __init__(self, text):
            self.type, self.data = WSMsgType.TEXT, text

        def json(self):
            import json

            return json.loads(self.data)

    class Socket:
        def __init__(self, texts):
            self.texts, self.sent = texts, []

        def __aiter__(self):
            return self._gen()

        async def _gen(self):
            for text in self.texts:
                yield Message(text)

        async def send_json(self, data):
            self.sent.append(data)

    class Service:
        def __init__(self):
            self.sizes, self.keys = [], b""

        async def set_terminal_size(self, width, height):
            self.sizes.append((width, height))

        async def send_bytes(self, data):
            self.keys += data

    server = guarded_server("true", "127.0.0.1", 1, "t")
    service = Service()
    sock = Socket(['["resize", {"width": 120, "height": 40}]', '["resize", {"width": 10000000, "height": 9999999}]',
                   '["resize", {"width": "x"}]', '["stdin", "ls"]', 'not json', '[1]', '["ping", "p"]'])
    await server._process_messages(sock, service)
    assert service.sizes == [(120, 40), (SIZE_BOUNDS[1], SIZE_BOUNDS[1])]
    assert service.keys == b"ls" and sock.sent == [["pong", "p"]]
