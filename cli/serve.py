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

from ..core.errors import MachineError
from .commands import PROG

COOKIE = "machine_tui_token"
QUIT_GRACE = 5.0  # seconds an app process has to quit after its tab went, before it is killed


def guarded_server(command: str, host: str, port: int, token: str, public_url: str = ""):
    """A textual-serve Server that lets in only who holds the token, from this server's own origin."""
    from aiohttp import web
    from textual_serve.server import Server

    class GuardedServer(Server):
        def __init__(self) -> None:
            super().__init__(command, host=host, port=port, title="machine-tui", public_url=public_url or None)
            netloc = self.public_url.split("://", 1)[1]
            self.origins = {self.public_url.rstrip("/")}
            self.hosts = {netloc}
            if host in ("127.0.0.1", "localhost", "::1"):  # the same server by its other loopback names
                self.hosts |= {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
                self.origins |= {f"http://{h}" for h in self.hosts}
            self.sessions: set[Any] = set()  # textual-serve's AppService of each open tab

        def holds_token(self, request: web.Request) -> bool:
            given = request.query.get("token") or request.cookies.get(COOKIE, "")
            return hmac.compare_digest(given.encode(), token.encode())

        def from_here(self, request: web.Request) -> bool:
            if request.host not in self.hosts:
                return False
            origin = request.headers.get("Origin")
            return origin is None or origin in self.origins

        async def handle_index(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
            if not self.from_here(request):
                raise web.HTTPForbidden(text="machine-tui: this server answers only on its own address\n")
            if not self.holds_token(request):
                raise web.HTTPForbidden(text="machine-tui: open the URL with the token that `serve` printed\n")
            response: web.StreamResponse = await Server.handle_index(self, request)  # type: ignore[arg-type]
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
            response.headers["Referrer-Policy"] = "no-referrer"  # the token stays out of other sites' logs
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
                return max(10, min(1000, int(value))) if value.isdigit() else default

            websocket = web.WebSocketResponse(heartbeat=15)
            await websocket.prepare(request)
            service = AppService(self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                                 close=websocket.close, download_manager=self.download_manager, debug=self.debug)
            self.sessions.add(service)
            try:
                await service.start(size("width", 80), size("height", 24))
                await self._process_messages(websocket, service)
            except asyncio.CancelledError:
                await websocket.close()
            finally:
                await self.end(service)
            return websocket

        async def end(self, service: Any) -> None:
            """The tab is gone: its app is asked to quit, and killed if it has not within QUIT_GRACE."""
            try:
                await asyncio.wait_for(asyncio.shield(service.stop()), QUIT_GRACE)
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
            web.run_app(self._make_app(), host=self.host, port=self.port, handle_signals=False, loop=loop,
                        print=self.announce)

        async def on_shutdown(self, app: web.Application) -> None:
            await asyncio.gather(*(self.end(service) for service in list(self.sessions)))

        def initialize_logging(self) -> None:
            pass  # one line printed at startup; errors go to machine-tui's own log

    return GuardedServer()


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
    # a token chosen by a script comes from the environment, never the command line (ps shows that to everyone)
    token = os.environ.get("MACHINE_TUI_SERVE_TOKEN") or secrets.token_urlsafe(24)
    # each tab runs the app on this store, whatever the browser's user would have as a default
    os.environ["MACHINE_STORAGE_PATH"] = ctx.store.path
    os.environ.pop("MACHINE_TUI_SERVE_TOKEN", None)  # the app processes never see it
    command = f"{shlex.quote(sys.executable)} -m machine_tui.cli app"
    server = guarded_server(command, host, port, token, opts.get("public-url") or "")
    try:
        server.serve()
    except OSError as err:
        raise MachineError(f"Error: cannot serve on {host}:{port}: {err.strerror or err}") from None
    return 0
