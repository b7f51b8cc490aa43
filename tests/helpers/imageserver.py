"""A loopback HTTP server for image downloads: serves a folder, honours Range, and can cut a transfer short
(to prove resumption), as web servers and CDNs do."""

from __future__ import annotations

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ImageServer:
    def __init__(self, folder: str):
        self.folder = folder
        self.requests: list[tuple[str, str]] = []  # (path, Range header or "")
        self.cut_after: int | None = None  # cut the next answer longer than this
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range", "")))
                path = os.path.join(server.folder, self.path.lstrip("/").split("?")[0])
                if not os.path.isfile(path):
                    self.send_error(404, "Not Found")
                    return
                size = os.path.getsize(path)
                start = 0
                rng = self.headers.get("Range", "")
                if rng.startswith("bytes=") and rng.endswith("-"):
                    start = int(rng[6:-1])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(size - start))
                self.end_headers()
                limit = server.cut_after
                if limit is not None and size - start > limit:
                    server.cut_after = None
                else:
                    limit = None
                with open(path, "rb") as fh:
                    fh.seek(start)
                    sent = 0
                    while chunk := fh.read(65536):
                        if limit is not None and sent + len(chunk) > limit:
                            self.wfile.write(chunk[: limit - sent])
                            self.wfile.flush()
                            self.close_connection = True
                            self.connection.shutdown(2)
                            return
                        self.wfile.write(chunk)
                        sent += len(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def __enter__(self) -> "ImageServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
