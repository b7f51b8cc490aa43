"""`serve`: the app in a browser, through textual-serve: each browser tab gets its own app process on this store.
Bound to 127.0.0.1 unless told otherwise; a random token in the printed URL lets a browser in (a cookie then keeps
it in for the page's websocket); a websocket from another origin or Host is refused (another site's page, DNS
rebinding); a tab that closes or goes silent ends its app process, killed if it does not quit by itself."""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
import shlex
import sys
from typing import Any

from ..core.aio import wait_for
from ..core.errors import MachineError
from .commands import PROG

COOKIE = "machine_tui_token"
QUIT_GRACE = 5.0  # seconds an app process has to quit after its tab went, before it is killed
SIZE_BOUNDS = (10, 1000)  # a tab's terminal, in cells: a huge resize would make an app process huge too
EVERYWHERE = ("0.0.0.0", "::", "")  # hosts that listen on every address


def guarded_server(command: str, host: str, port: int, token: str, public_url: str = ""):
    """A textual-serve Server that lets in only who holds the token, from this server's own origin."""
    from aiohttp import web
    from textual_serve.server import Server

    class GuardedServer(Server):
        def __init__(self) -> None:
            bracketed = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL is bracketed
            super().__init__(command, host=host, port=port, title="machine-tui",
                             public_url=public_url or f"http://{bracketed}:{port}")
            netloc = self.public_url.split("://", 1)[1]
            self.origins = {self.public_url.rstrip("/")}
            self.hosts = {netloc}
            if host in ("127.0.0.1", "localhost", "::1"):  # the same server by its other loopback names
                self.hosts |= {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
                self.origins |= {f"http://{h}" for h in self.hosts}
            self.sessions: set[Any] = set()  # textual-serve's AppService of each open tab
            self.link_used = False  # the printed URL's token lets one browser in; the cookie keeps it in

        def holds_token(self, request: web.Request, by_link: bool = False) -> bool:
            """The cookie, or (the index only, once) the token of the printed URL."""
            given = request.cookies.get(COOKIE, "")
            if by_link and not given and not self.link_used:
                given = request.query.get("token", "")
            return hmac.compare_digest(given.encode(), token.encode())

        def from_here(self, request: web.Request) -> bool:
            if request.host not in self.hosts:
                return False
            origin = request.headers.get("Origin")
            return origin is None or origin in self.origins

        async def handle_index(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
            if not self.from_here(request):
                raise web.HTTPForbidden(text="machine-tui: this server answers only on its own address\n")
            if not self.holds_token(request, by_link=True):
                used = " (that URL was used already: its browser keeps the way in; restart serve for a new one)" \
                    if self.link_used and request.query.get("token") else ""
                raise web.HTTPForbidden(text=f"machine-tui: open the URL with the token that `serve` printed{used}\n")
            if request.query.get("token"):
                # the link's token becomes a cookie, and the address bar loses it: a URL seen over a shoulder, in
                # the history or a screenshot no longer lets anyone in
                self.link_used = True
                moved = web.HTTPSeeOther("/")
                moved.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
                moved.headers["Referrer-Policy"] = "no-referrer"
                raise moved
            response: web.StreamResponse = await Server.handle_index(self, request)  # type: ignore[arg-type]
            if isinstance(response, web.Response) and response.text and "<title>" not in response.text:
                response.text = response.text.replace("<head>", "<head><title>machine-tui</title>", 1)
            response.headers["Referrer-Policy"] = "no-referrer"
            return response

        async def handle_download(self, request: web.Request) -> web.StreamResponse:
            if not (self.from_here(request) and self.holds_token(request)):
                raise web.HTTPForbidden()
            return await super().handle_download(request)

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            """One browser tab: its own app process, which ends with the tab (or when the tab goes silent past
            the websocket's heartbeat)."""
            if not self.from_here(request) or not self.holds_token(request):
                raise web.HTTPForbidden(text="machine-tui: refused\n")
            from textual_serve.app_service import AppService

            def size(name: str, default: int) -> int:
                value = request.query.get(name, "")
                return clamp(int(value)) if value.isdigit() else default

            websocket = web.WebSocketResponse(heartbeat=15)
            await websocket.prepare(request)
            async def close() -> None:
                await websocket.close()

            service = AppService(self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                                 close=close, download_manager=self.download_manager, debug=self.debug)
            self.sessions.add(service)
            try:
                await service.start(size("width", 80), size("height", 24))
                await self._process_messages(websocket, service)
            except asyncio.CancelledError:
                await websocket.close()
            finally:
                await self.end(service)
            return websocket

        async def _process_messages(self, websocket: web.WebSocketResponse, service: Any) -> None:
            """The page's messages to its app: keys, resizes (every one kept within SIZE_BOUNDS), pings, focus;
            anything else, or a malformed one, is dropped rather than ending the server's handler with a
            traceback."""
            from aiohttp import WSMsgType

            async for message in websocket:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    kind, data = message.json()
                    if kind == "stdin" and isinstance(data, str):
                        await service.send_bytes(data.encode("utf-8"))
                    elif kind == "resize" and isinstance(data, dict):
                        await service.set_terminal_size(clamp(int(data["width"])), clamp(int(data["height"])))
                    elif kind == "ping":
                        await websocket.send_json(["pong", data])
                    elif kind == "blur":
                        await service.blur()
                    elif kind == "focus":
                        await service.focus()
                except (ValueError, TypeError, KeyError):
                    continue

        async def end(self, service: Any) -> None:
            """The tab is gone: its app is asked to quit, and killed if it has not within QUIT_GRACE."""
            try:
                await wait_for(asyncio.shield(service.stop()), QUIT_GRACE)
            except (asyncio.TimeoutError, OSError, ConnectionError):
                process = service._process  # textual-serve keeps no other handle on it
                if process is not None and process.returncode is None:
                    process.kill()
                    await process.wait()
            self.sessions.discard(service)

        async def on_startup(self, app: web.Application) -> None:
            pass  # the URL is said once the server listens (announce), not before

        def announce(self, *_: Any) -> None:
            print(f"machine-tui serves its app at {self.public_url}/?token={token}", flush=True)
            print("Open it in a browser (the token is shown once; Ctrl+C stops the server)", flush=True)

        def serve(self, debug: bool = False) -> None:
            import signal

            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.request_exit)
            # aiohttp calls `print` once its sites listen: the URL is only given when it can be opened
            # shutdown_timeout: the open tabs' apps are ended (QUIT_GRACE) before the server goes, not 60 s later
            web.run_app(self._make_app(), host=self.host or None, port=self.port, handle_signals=False, loop=loop,
                        print=self.announce, shutdown_timeout=QUIT_GRACE + 1)

        async def on_shutdown(self, app: web.Application) -> None:
            await asyncio.gather(*(self.end(service) for service in list(self.sessions)))

        def initialize_logging(self) -> None:
            """One line printed at startup; aiohttp's errors (a client that hung up mid-request) go to
            machine-tui's own log, never as tracebacks on the terminal."""
            import logging

            from ..core.logfile import get_logger

            ours = get_logger()
            for name in ("aiohttp", "textual_serve", "asyncio"):
                logger = logging.getLogger(name)
                logger.propagate = False
                logger.handlers = list(ours.handlers) or [logging.NullHandler()]

    return GuardedServer()


def clamp(cells: int) -> int:
    low, high = SIZE_BOUNDS
    return max(low, min(high, cells))


def cmd_serve(ctx, opts, args):
    if args:
        raise MachineError(f"Error: serve takes no arguments (see '{PROG} serve --help')")
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        from ..core.extras import missing_extra

        raise missing_extra(f"{PROG} serve", "serve") from None
    host, port = opts["host"], int(opts["port"])
    if opts.get("public-url"):
        from ..core.flags import http_url_problem

        problem = http_url_problem(opts["public-url"])
        if problem:
            raise MachineError(f"Error: --public-url {opts['public-url']!r}: {problem}")
    if not 0 < port < 65536:
        raise MachineError(f"Error: --port {port}: a TCP port is 1 to 65535")
    if host in EVERYWHERE and not opts.get("public-url"):
        # every address listens, but a page answers only for the name it was opened by (DNS rebinding)
        raise MachineError(f"Error: --host {host!r} listens on every address: give --public-url with the address "
                           "browsers will use (http://NAME:PORT), or --host that one address")
    # a token chosen by a script comes from the environment, never the command line (ps shows that to everyone)
    token = os.environ.get("MACHINE_TUI_SERVE_TOKEN") or secrets.token_urlsafe(24)
    # each tab runs the app on this store, whatever the browser's user would have as a default
    os.environ["MACHINE_STORAGE_PATH"] = ctx.store.path
    os.environ.pop("MACHINE_TUI_SERVE_TOKEN", None)  # the app processes never see it
    # exec: the shell textual-serve starts becomes the app, so ending a tab's process ends the app itself
    command = f"exec {shlex.quote(sys.executable)} -m machine_tui.cli app"
    server = guarded_server(command, host, port, token, opts.get("public-url") or "")
    try:
        server.serve()
    except OSError as err:
        raise MachineError(f"Error: cannot serve on {host}:{port}: {err.strerror or err}") from None
    return 0
