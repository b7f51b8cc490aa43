"""A stand-in for DigitalOcean's API v2 on 127.0.0.1, written from its published reference for the calls the
digitalocean driver makes: bearer auth, JSON bodies, the status codes and error bodies
({"id": "not_found", "message": ...}), rate-limit headers, droplets that are `new` with no address on the first
read, then `active` with one. Addresses come from 192.0.2.0/24 (TEST-NET-1, never routed): nothing dials them.
Faults are queued per method and path and answered before the request is handled."""

from __future__ import annotations

import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REGIONS = [{"slug": s, "name": n, "available": s != "ams2", "sizes": ["s-1vcpu-1gb"], "features": []}
           for s, n in (("nyc1", "New York 1"), ("nyc3", "New York 3"), ("sfo3", "San Francisco 3"),
                        ("ams2", "Amsterdam 2"), ("ams3", "Amsterdam 3"), ("fra1", "Frankfurt 1"),
                        ("lon1", "London 1"), ("sgp1", "Singapore 1"))]

# from the API reference's size and image examples: prices per hour in dollars, memory in MB, disk in GB
SIZES = [{"slug": slug, "memory": mem, "vcpus": cpus, "disk": disk, "transfer": 1.0, "price_monthly": monthly,
          "price_hourly": hourly, "regions": ["nyc3", "sfo3", "ams3"], "available": slug != "s-8vcpu-16gb",
          "description": "Basic"}
         for slug, mem, cpus, disk, monthly, hourly in [
             ("s-1vcpu-512mb-10gb", 512, 1, 10, 4.0, 0.00595), ("s-1vcpu-1gb", 1024, 1, 25, 6.0, 0.00893),
             ("s-2vcpu-2gb", 2048, 2, 60, 18.0, 0.02679), ("s-4vcpu-8gb", 8192, 4, 160, 48.0, 0.07143),
             ("s-8vcpu-16gb", 16384, 8, 320, 96.0, 0.14286)]]
IMAGES = [{"id": 100 + i, "name": name, "distribution": dist, "slug": slug, "public": True, "type": "base",
           "regions": ["nyc3", "sfo3"], "min_disk_size": 10, "status": "available"}
          for i, (slug, dist, name) in enumerate([("ubuntu-24-04-x64", "Ubuntu", "24.04 (LTS) x64"),
                                                  ("ubuntu-22-04-x64", "Ubuntu", "22.04 (LTS) x64"),
                                                  ("debian-12-x64", "Debian", "12 x64"),
                                                  ("fedora-41-x64", "Fedora", "41 x64")])]


class FakeDigitalOcean:
    def __init__(self, token: str = "do-token", team: str = "team-0001"):
        self.token = token
        self.team = team  # the token's team uuid (GET /v2/account)
        self.keys: dict[int, dict] = {}
        self.droplets: dict[int, dict] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, faults included
        self.faults: list[tuple[str, str, int, dict, dict]] = []  # (method, path regex, status, body, headers)
        self.stuck = False  # True: droplets stay `new`, with no address (a region in trouble)
        self.remaining = 4999  # the token's requests left this hour (ratelimit-remaining, of 5000)
        self.locked_reads = 0  # reads for which a new droplet stays locked; a delete sent meanwhile is ignored
        self.after = None  # after(method, path): called once a request is handled, before it is answered
        self.hooks = None  # the end-to-end harness: a VM per droplet (on_create/on_action/on_delete)
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                fake._handle(self, "GET")

            def do_POST(self):  # noqa: N802
                fake._handle(self, "POST")

            def do_DELETE(self):  # noqa: N802
                fake._handle(self, "DELETE")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, path: str, status: int, message: str, error_id: str = "", headers=None) -> None:
        """The next `method` request on a path matching `path` gets this error."""
        body = {"id": error_id or {401: "unauthorized", 404: "not_found", 422: "unprocessable_entity",
                                   429: "too_many_requests"}.get(status, "server_error"), "message": message}
        self.faults.append((method, path, status, body, headers or {}))

    # ----- the API
    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        from urllib.parse import parse_qs, unquote, urlsplit

        parts = urlsplit(req.path)
        path = unquote(parts.path).rstrip("/")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(req.headers.get("Content-Length") or 0)
        body = json.loads(req.rfile.read(length) or b"{}") if length else {}
        with self._lock:
            self.requests.append((method, path))
            if req.headers.get("Authorization") != f"Bearer {self.token}":
                return self._send(req, 401, {"id": "unauthorized", "message": "Unable to authenticate you"})
            for fault in self.faults:
                if fault[0] == method and re.fullmatch(fault[1], path):
                    self.faults.remove(fault)
                    return self._send(req, fault[2], fault[3], fault[4])
            status, answer = self._route(method, path, body, query)
        if self.after is not None:
            self.after(method, path)
        self._send(req, status, answer, {"ratelimit-remaining": str(self.remaining)})

    def _route(self, method: str, path: str, body: dict, query: dict | None = None) -> tuple[int, dict | None]:
        missing = (404, {"id": "not_found", "message": "The resource you were accessing could not be found."})
        query = query or {}
        if method == "GET" and path == "/v2/account":
            return 200, {"account": {"uuid": "acct-" + self.team, "email": "user@example.com", "status": "active",
                                     "droplet_limit": 25, "email_verified": True,
                                     "team": {"uuid": self.team, "name": "My Team"}}}
        if method == "GET" and path == "/v2/droplets":
            found = [self._view(d) for d in self.droplets.values()
                     if not query.get("tag_name") or query["tag_name"] in d["tags"]]
            return 200, self._page("droplets", found, query, path)
        if method == "GET" and path == "/v2/regions":
            return 200, {"regions": REGIONS, "links": {}, "meta": {"total": len(REGIONS)}}
        if method == "GET" and path == "/v2/sizes":
            return 200, {"sizes": SIZES, "links": {}, "meta": {"total": len(SIZES)}}
        if method == "GET" and path == "/v2/images":
            return 200, {"images": IMAGES, "links": {}, "meta": {"total": len(IMAGES)}}
        if method == "GET" and path == "/v2/account/keys":
            keys = list(self.keys.values())
            return 200, {"ssh_keys": keys, "links": {}, "meta": {"total": len(keys)}}
        if method == "POST" and path == "/v2/account/keys":
            if any(k["public_key"] == body.get("public_key") for k in self.keys.values()):
                return 422, {"id": "unprocessable_entity", "message": "SSH Key is already in use on your account"}
            key_id = next(self._ids)
            key = {"id": key_id, "name": body["name"], "public_key": body["public_key"],
                   "fingerprint": _fingerprint(body["public_key"])}
            self.keys[key_id] = key
            return 201, {"ssh_key": key}
        m = re.fullmatch(r"/v2/account/keys/([^/]+)", path)
        if m:
            key = next((k for k in self.keys.values() if m.group(1) in (str(k["id"]), k["fingerprint"])), None)
            if key is None:
                return missing
            if method == "DELETE":
                del self.keys[key["id"]]
                return 204, None
            return 200, {"ssh_key": key}
        if method == "POST" and path == "/v2/droplets":
            if body.get("region") not in {r["slug"] for r in REGIONS}:
                return 422, {"id": "unprocessable_entity", "message": "You specified an invalid region."}
            if any(k not in self.keys for k in body.get("ssh_keys", [])):
                return 422, {"id": "unprocessable_entity", "message": "You specified an invalid SSH key."}
            droplet_id = next(self._ids)
            droplet = {"id": droplet_id, "name": body["name"], "status": "new", "locked": self.locked_reads > 0,
                       "_locked_reads": self.locked_reads,
                       "networks": {"v4": [], "v6": []}, "region": {"slug": body["region"]},
                       "size_slug": body["size"], "image": {"slug": body["image"]}, "tags": body.get("tags", []),
                       "ssh_keys": body.get("ssh_keys", []), "backups": body.get("backups", False)}
            self.droplets[droplet_id] = droplet
            if self.hooks:
                droplet["_address"] = self.hooks.on_create(droplet, [self.keys[k]["public_key"]
                                                                     for k in droplet["ssh_keys"]])
            return 202, {"droplet": {k: v for k, v in droplet.items() if not k.startswith("_")}, "links": {"actions": [{"id": 1, "rel": "create"}]}}
        m = re.fullmatch(r"/v2/droplets/(\d+)(/actions)?", path)
        if m:
            droplet = self.droplets.get(int(m.group(1)))
            if droplet is None:
                return missing
            if m.group(2) and method == "POST":
                if self.hooks:
                    self.hooks.on_action(droplet, body["type"])
                droplet["status"] = {"power_on": "active", "reboot": "active", "shutdown": "off",
                                     "power_off": "off"}[body["type"]]
                return 201, {"action": {"id": next(self._ids), "status": "in-progress", "type": body["type"],
                                        "resource_id": droplet["id"], "resource_type": "droplet"}}
            if method == "DELETE":
                if droplet["locked"]:
                    return 204, None  # accepted, and ignored: the droplet is still being made
                if self.hooks:
                    self.hooks.on_delete(droplet)
                del self.droplets[droplet["id"]]
                return 204, None
            if droplet["locked"]:
                droplet["_locked_reads"] -= 1
                droplet["locked"] = droplet["_locked_reads"] > 0
            if droplet["status"] == "new" and self.stuck:
                pass
            elif droplet["status"] == "new" and droplet.pop("_seen", False):
                droplet["status"] = "active"  # active, with its address, from the second read on
                droplet["networks"]["v4"] = [
                    {"ip_address": f"10.10.0.{droplet['id'] % 250}", "type": "private"},
                    {"ip_address": droplet.get("_address") or f"192.0.2.{droplet['id'] % 250}", "type": "public"}]
            elif droplet["status"] == "new":
                droplet["_seen"] = True
            return 200, {"droplet": self._view(droplet)}
        return 404, {"id": "not_found", "message": f"no route {method} {path}"}

    @staticmethod
    def _view(droplet: dict) -> dict:
        return {k: v for k, v in droplet.items() if not k.startswith("_")}

    def _page(self, key: str, items: list, query: dict, path: str) -> dict:
        """The API's pagination: per_page (at most 200) and page, links.pages.next while more remain."""
        per_page = min(200, int(query.get("per_page", 20)))
        page = int(query.get("page", 1))
        chunk = items[(page - 1) * per_page:page * per_page]
        links: dict = {}
        if page * per_page < len(items):
            links["pages"] = {"next": f"{self.url}{path}?page={page + 1}&per_page={per_page}"}
        return {key: chunk, "links": links, "meta": {"total": len(items)}}

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, status: int, body: dict | None, headers: dict | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        for k, v in {"ratelimit-limit": "5000", "ratelimit-remaining": "4999", "ratelimit-reset": "0",
                     **(headers or {})}.items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(data)


def _fingerprint(public_key: str) -> str:
    """The key's MD5 fingerprint, as DigitalOcean names keys."""
    import base64
    import hashlib

    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))
