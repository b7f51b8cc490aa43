"""A loopback Docker Engine API stand-in with mutual TLS: server cert signed by the store's CA, client
certificates required, answers GET /version (and /_ping). Used where the real engine is not needed."""

from __future__ import annotations

import json
import os
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from machine_tui.core import certs

VERSION = {"Version": "19.03.5", "ApiVersion": "1.40", "Os": "linux", "Arch": "amd64"}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server API)
        path = self.path.split("?")[0]
        if path.endswith("/version"):
            body = json.dumps(VERSION).encode()
        elif path.endswith("/_ping"):
            body = b"OK"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # socketserver's default of 5 drops concurrent SYNs (1 s client retries)

    def __init__(self, addr, ctx):
        self.ctx = ctx
        super().__init__(addr, _Handler)

    def finish_request(self, request, client_address):
        # TLS handshake in the worker thread, not in the accept loop, so clients are served concurrently
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(tls, client_address)


class FakeEngine:
    def __init__(self, store_path: str, host: str, port: int, sans: list[str] | None = None):
        self.host, self.port = host, port
        folder = os.path.join(store_path, "fake-engine")
        os.makedirs(folder, exist_ok=True)
        cert, key = os.path.join(folder, "server.pem"), os.path.join(folder, "server-key.pem")
        ca, ca_key = os.path.join(store_path, "certs", "ca.pem"), os.path.join(store_path, "certs", "ca-key.pem")
        certs.make_signed(cert, key, ca, ca_key, "test.fake", sans or [host, "localhost"], server=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.load_verify_locations(ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.server = _Server((host, port), ctx)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
