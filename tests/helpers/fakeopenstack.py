"""A stand-in for an OpenStack cloud on 127.0.0.1, written from the published API references (keystone v3, nova
v2.1, neutron v2.0, glance v2) for the calls openstacksdk makes for the openstack driver: version discovery without a
token, a password token with its catalog, flavors, images, networks, ports, floating IPs, security groups and their
rules, key pairs, servers that are BUILD on the first read and ACTIVE after, power actions (409 where the state
forbids them), and each service's error bodies. Fixed addresses come from 10.0.0.0/24 and floating ones from
203.0.113.0/24 (TEST-NET-3, never routed): nothing dials them unless a test's `hooks` give a loopback address that
answers. Faults are queued per method and path and answered before the request is handled."""

from __future__ import annotations

import itertools
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FLAVORS = [{"id": str(i), "name": n, "vcpus": c, "ram": r, "disk": d}
           for i, (n, c, r, d) in enumerate([("m1.tiny", 1, 512, 1), ("m1.small", 1, 2048, 20),
                                             ("m1.medium", 2, 4096, 40), ("m1.large", 4, 8192, 80)], start=1)]
IMAGES = [{"id": "9b1ed1f2-0000-4000-8000-00000000000%d" % i, "name": n, "os_distro": d, "status": "active",
           "visibility": "public", "disk_format": "qcow2", "container_format": "bare", "min_disk": 0, "min_ram": 0,
           "size": 600 << 20}
          for i, (n, d) in enumerate([("ubuntu-24.04", "ubuntu"), ("debian-12", "debian"), ("cirros", "")])]


class FakeOpenStack:
    def __init__(self, user: str = "demo", password: str = "s3cret", project: str = "demo",
                 domain: str = "Default", region: str = "RegionOne"):
        self.user, self.password, self.project, self.domain, self.region = user, password, project, domain, region
        self.project_id = uuid.uuid4().hex
        self.tokens: set[str] = set()
        self.app_credentials: dict[str, str] = {}  # application credential id -> secret (scoped to the project)
        self.networks = {
            "net-private": {"id": "net-private", "name": "private", "status": "ACTIVE", "router:external": False,
                            "subnets": ["sub-private"], "project_id": self.project_id},
            "net-public": {"id": "net-public", "name": "public", "status": "ACTIVE", "router:external": True,
                           "subnets": ["sub-public"], "project_id": "admin"},
        }
        self.keypairs: dict[str, dict] = {}
        self.servers: dict[str, dict] = {}
        self.ports: dict[str, dict] = {}
        self.floatingips: dict[str, dict] = {}
        self.groups: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, faults included
        self.faults: list[tuple[str, str, int, Any, dict]] = []  # (method, path regex, status, body, headers)
        self.build_reads = 1  # reads of a new server that still say BUILD
        self.fate = ""  # "ERROR": new servers fail to build; "BUILD": they never finish
        self.floating_address: str | None = None  # every floating IP's address, when set (a loopback harness)
        self.after: Any = None  # after(method, path): called once a request is handled, before it is answered
        self.hooks: Any = None  # the end-to-end harness: boots a VM per server (on_create/on_action/on_delete)
        # nova's microversions: the newest this cloud speaks (an older cloud answers older shapes and refuses newer
        # requests with 406), and the version each compute request was answered at
        self.compute_max = "2.96"
        self.microversions: list[str] = []
        self._asked = "2.1"
        self._addresses = itertools.count(10)
        self._floating = itertools.count(10)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                fake._handle(self, "GET")

            def do_POST(self):  # noqa: N802
                fake._handle(self, "POST")

            def do_PUT(self):  # noqa: N802
                fake._handle(self, "PUT")

            def do_DELETE(self):  # noqa: N802
                fake._handle(self, "DELETE")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.auth_url = self.url + "/identity/v3"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, method: str | None = None, prefix: str = "") -> list[str]:
        return [f"{m} {p}" for m, p in self.requests if (method is None or m == method) and p.startswith(prefix)]

    def resources(self) -> dict[str, list]:
        """What exists in the project (the shared public network aside)."""
        return {"servers": list(self.servers), "keypairs": list(self.keypairs), "floatingips": list(self.floatingips),
                "groups": [g["name"] for g in self.groups.values()],
                "ports": list(self.ports)}

    # ----- plumbing
    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        path, query = parts.path.rstrip("/") or "/", {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else {}
        with self._lock:
            self.requests.append((method, path))
            for i, (m, pattern, status, payload, headers) in enumerate(self.faults):
                if m == method and re.search(pattern, path):
                    del self.faults[i]
                    return self._send(h, status, payload, headers)
            discovery = method == "GET" and path in ("/identity", "/identity/v3", "/compute", "/compute/v2.1",
                                                      "/image", "/network")
            if not discovery and path != "/identity/v3/auth/tokens" and h.headers.get("X-Auth-Token") not in \
                    self.tokens:
                return self._send(h, 401, {"error": {"code": 401, "title": "Unauthorized",
                                                     "message": "The request you have made requires authentication."}})
            if path.startswith("/compute"):
                refused = self._microversion(h.headers)
                if refused:
                    return self._send(h, *refused)
            try:
                status, payload, headers = self._route(method, path, query, body)
            except KeyError:
                status, payload, headers = _not_found(path)
            if self.after is not None:
                self.after(method, path)
            self._send(h, status, payload, headers)

    def _send(self, h: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict | None = None) -> None:
        data = b"" if payload is None else payload.encode() if isinstance(payload, str) else \
            json.dumps(payload).encode()
        h.send_response(status)
        kind = "text/plain" if isinstance(payload, str) else "application/json"
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _route(self, method: str, path: str, query: dict, body: dict) -> tuple[int, Any, dict]:
        for prefix, handler in (("/identity", self._identity), ("/compute", self._compute),
                                ("/network", self._network), ("/image", self._image)):
            if path == prefix or path.startswith(prefix + "/"):
                return handler(method, path[len(prefix):], query, body)
        raise KeyError(path)

    # ----- keystone
    def _identity(self, method: str, path: str, query: dict, body: dict) -> tuple[int, Any, dict]:
        v3 = {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
              "links": [{"rel": "self", "href": self.url + "/identity/v3/"}],
              "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]}
        if method == "GET" and path == "":
            return 300, {"versions": {"values": [v3]}}, {}
        if method == "GET" and path == "/v3":
            return 200, {"version": v3}, {}
        if method == "POST" and path == "/v3/auth/tokens":
            return self._token(body)
        if method == "GET" and path == "/v3/regions":
            return 200, {"regions": [{"id": self.region, "description": "", "parent_region_id": None,
                                      "links": {}}], "links": {}}, {}
        raise KeyError(path)

    def _token(self, body: dict) -> tuple[int, Any, dict]:
        auth = body.get("auth", {})
        methods = auth.get("identity", {}).get("methods", [])
        if methods == ["application_credential"]:
            # an application credential carries its own project: a scope in the request is refused (keystone's
            # rule), the secret must match the id (or the name with its user)
            cred = auth["identity"]["application_credential"]
            if auth.get("scope") or self.app_credentials.get(cred.get("id", "")) != cred.get("secret"):
                return 401, {"error": {"code": 401, "title": "Unauthorized",
                                       "message": "The request you have made requires authentication."}}, {}
            return self._issue(["application_credential"])
        user = auth.get("identity", {}).get("password", {}).get("user", {})
        project = auth.get("scope", {}).get("project", {})
        domain_ok = user.get("domain", {}).get("name") == self.domain or user.get("domain", {}).get("id") == "default"
        project_ok = project.get("id") == self.project_id or project.get("name") == self.project
        if not (user.get("name") == self.user and user.get("password") == self.password and domain_ok and project_ok):
            return 401, {"error": {"code": 401, "title": "Unauthorized",
                                   "message": "The request you have made requires authentication."}}, {}
        return self._issue(["password"])

    def _issue(self, methods: list[str]) -> tuple[int, Any, dict]:
        token = uuid.uuid4().hex
        self.tokens.add(token)

        def entry(kind: str, name: str, url: str) -> dict:
            return {"type": kind, "name": name, "id": uuid.uuid4().hex,
                    "endpoints": [{"id": uuid.uuid4().hex, "interface": face, "region_id": self.region,
                                   "region": self.region, "url": url} for face in ("public", "internal")]}

        catalog = [entry("identity", "keystone", self.url + "/identity"),
                   entry("compute", "nova", self.url + "/compute/v2.1"),
                   entry("network", "neutron", self.url + "/network"),
                   entry("image", "glance", self.url + "/image")]
        dom = {"id": "default", "name": self.domain}
        answer = {"token": {"methods": methods, "expires_at": "2999-01-01T00:00:00.000000Z",
                            "issued_at": "2026-01-01T00:00:00.000000Z",
                            "user": {"id": "u-" + self.user, "name": self.user, "domain": dom},
                            "project": {"id": self.project_id, "name": self.project, "domain": dom},
                            "roles": [{"id": "r1", "name": "member"}], "audit_ids": ["a1"], "catalog": catalog}}
        return 201, answer, {"X-Subject-Token": token}

    # ----- nova
    def _microversion(self, headers: Any) -> tuple[int, Any, dict] | None:
        """The version a compute request asks for (none: 2.1, "latest": the newest), or nova's 406 outside the range."""
        asked = "2.1"
        for name, prefix in (("OpenStack-API-Version", "compute "), ("X-OpenStack-Nova-API-Version", "")):
            value = (headers.get(name) or "").strip()
            if value.startswith(prefix) and value[len(prefix):].strip():
                asked = value[len(prefix):].strip()
                break
        if asked == "latest":
            asked = self.compute_max
        if not re.fullmatch(r"2\.\d+", asked) or not _v("2.1") <= _v(asked) <= _v(self.compute_max):
            return _nova(406, "computeFault", f"Version {asked} is not supported by the API. Minimum is 2.1 and "
                                              f"maximum is {self.compute_max}.")
        self._asked = asked
        self.microversions.append(asked)
        return None

    def _since(self, version: str) -> bool:
        return _v(self._asked) >= _v(version)

    def _compute(self, method: str, path: str, query: dict, body: dict) -> tuple[int, Any, dict]:
        if path in ("", "/v2.1") and method == "GET":
            version = {"id": "v2.1", "status": "CURRENT", "version": self.compute_max, "min_version": "2.1",
                       "updated": "2013-07-23T11:33:21Z", "links": [{"rel": "self", "href": self.url + "/compute/v2.1/"}]}
            return (200, {"version": version}, {}) if path else (300, {"versions": [version]}, {})
        path = path.removeprefix("/v2.1")
        m = re.fullmatch(r"/flavors(?:/detail)?", path)
        if m and method == "GET":
            return 200, {"flavors": FLAVORS}, {}
        m = re.fullmatch(r"/flavors/([^/]+)", path)
        if m:
            return 200, {"flavor": _one(FLAVORS, "id", m.group(1))}, {}
        if path == "/os-keypairs":
            if method == "GET":
                return 200, {"keypairs": [{"keypair": k} for k in self.keypairs.values()]}, {}
            pair = body["keypair"]
            if pair["name"] in self.keypairs:
                return _nova(409, "conflictingRequest", f"Key pair '{pair['name']}' already exists.")
            if not pair.get("public_key", "").startswith(("ssh-", "ecdsa-")):
                return _nova(400, "badRequest", "Keypair data is invalid: failed to generate fingerprint")
            self.keypairs[pair["name"]] = {"name": pair["name"], "public_key": pair["public_key"],
                                           "fingerprint": "aa:bb", "user_id": "u-" + self.user, "type": "ssh"}
            return 201, {"keypair": self.keypairs[pair["name"]]}, {}
        m = re.fullmatch(r"/os-keypairs/([^/]+)", path)
        if m:
            name = m.group(1)
            if name not in self.keypairs:
                return _nova(404, "itemNotFound", f"Keypair {name} not found for user u-{self.user}")
            if method == "DELETE":
                del self.keypairs[name]
                return 204, None, {}
            return 200, {"keypair": self.keypairs[name]}, {}
        if path == "/os-availability-zone" and method == "GET":
            return 200, {"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": True},
                                                   "hosts": None}]}, {}
        if path in ("/servers", "/servers/detail"):
            if method == "POST":
                return self._create_server(body["server"])
            found = [self._server_view(s) for s in self.servers.values()
                     if not query.get("name") or re.search(query["name"], s["name"])]
            return 200, {"servers": found}, {}
        m = re.fullmatch(r"/servers/([^/]+)(/action)?", path)
        if m:
            server = self.servers.get(m.group(1))
            if server is None:
                return _nova(404, "itemNotFound", f"Instance {m.group(1)} could not be found.")
            if m.group(2):
                return self._server_action(server, body)
            if method == "DELETE":
                self._delete_server(server)
                return 204, None, {}
            return 200, {"server": self._server_view(server, read=True)}, {}
        raise KeyError(path)

    def _create_server(self, spec: dict) -> tuple[int, Any, dict]:
        flavor = next((f for f in FLAVORS if f["id"] == spec.get("flavorRef")), None)
        image = next((i for i in IMAGES if i["id"] == spec.get("imageRef")), None)
        if flavor is None or image is None:
            return _nova(400, "badRequest", f"Flavor {spec.get('flavorRef')} or image {spec.get('imageRef')} "
                                            "could not be found.")
        if spec.get("key_name") and spec["key_name"] not in self.keypairs:
            return _nova(400, "badRequest", "Invalid key_name provided.")
        networks = spec.get("networks")
        if networks is None:
            return _nova(400, "badRequest", "Invalid input for field/attribute server. Value: ... 'networks' is a "
                                            "required property")
        if networks == "auto":
            own = [n for n in self.networks.values() if not n["router:external"]]
            if len(own) > 1:
                return _nova(409, "conflictingRequest", "Multiple possible networks found, use a Network ID to be "
                                                        "more specific.")
        net = "net-private" if networks == "auto" else networks[0]["uuid"]
        if net not in self.networks:
            return _nova(400, "badRequest", f"Network {net} could not be found.")
        group_ids = []
        for group in spec.get("security_groups", []):
            # nova takes a group's name or id; a name two groups share is refused
            found = [g for g in self.groups.values() if group["name"] in (g["id"], g["name"])]
            if not found:
                return _nova(400, "badRequest", f"Security group {group['name']} not found for project "
                                                f"{self.project_id}.")
            if len(found) > 1:
                return _nova(409, "conflictingRequest", f"Multiple security_group matches found for name "
                                                        f"'{group['name']}', use an ID to be more specific.")
            group_ids.append(found[0]["id"])
        sid = str(uuid.uuid4())
        port = {"id": str(uuid.uuid4()), "device_id": sid, "network_id": net, "mac_address": "fa:16:3e:00:00:01",
                "status": "ACTIVE", "fixed_ips": [{"ip_address": f"10.0.0.{next(self._addresses)}",
                                                   "subnet_id": self.networks[net]["subnets"][0]}]}
        self.ports[port["id"]] = port
        self.servers[sid] = {"id": sid, "name": spec["name"], "status": "BUILD", "reads": 0, "flavor": flavor,
                             "image": image, "key_name": spec.get("key_name"), "metadata": spec.get("metadata", {}),
                             "security_groups": group_ids,
                             "availability_zone": spec.get("availability_zone", "nova"), "port": port["id"],
                             "network": self.networks[net]["name"], "user_data": spec.get("user_data"),
                             "config_drive": spec.get("config_drive", False), "address": None}
        if self.hooks:
            public_key = self.keypairs[spec["key_name"]]["public_key"] if spec.get("key_name") else ""
            self.servers[sid]["address"] = self.hooks.on_create(self.servers[sid], public_key)
        return 202, {"server": {"id": sid, "links": [], "OS-DCF:diskConfig": "MANUAL",
                                "security_groups": [{"name": self.groups[g]["name"]}
                                                    for g in self.servers[sid]["security_groups"]]}}, \
            {"Location": f"{self.url}/compute/v2.1/servers/{sid}"}

    def _server_view(self, s: dict, read: bool = False) -> dict:
        if read and s["status"] == "BUILD" and self.fate != "BUILD":
            s["reads"] += 1
            if s["reads"] > self.build_reads:
                s["status"] = "ERROR" if self.fate == "ERROR" else "ACTIVE"
        port = self.ports[s["port"]]
        addresses: dict[str, list] = {}
        if s["status"] != "BUILD":
            fixed = s["address"] or port["fixed_ips"][0]["ip_address"]
            addresses[s["network"]] = [{"addr": fixed, "version": 4, "OS-EXT-IPS:type": "fixed",
                                        "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}]
            for ip in self.floatingips.values():
                if ip["port_id"] == port["id"]:
                    addresses[s["network"]].append({"addr": ip["floating_ip_address"], "version": 4,
                                                    "OS-EXT-IPS:type": "floating",
                                                    "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]})
        # the flavor is embedded from 2.47 on, a link before; tags from 2.26, the lock's reason from 2.73
        flavor = ({"original_name": s["flavor"]["name"], "vcpus": s["flavor"]["vcpus"], "ram": s["flavor"]["ram"],
                   "disk": s["flavor"]["disk"], "ephemeral": 0, "swap": 0, "extra_specs": {}}
                  if self._since("2.47") else {"id": s["flavor"]["id"], "links": []})
        view = {"id": s["id"], "name": s["name"], "status": s["status"], "addresses": addresses, "flavor": flavor,
                "image": {"id": s["image"]["id"]}, "key_name": s["key_name"], "metadata": s["metadata"],
                "OS-EXT-STS:vm_state": s["status"].lower(), "OS-EXT-STS:task_state": None,
                "OS-EXT-AZ:availability_zone": s["availability_zone"],
                "security_groups": [{"name": self.groups[g]["name"]} for g in s["security_groups"]
                                    if g in self.groups], "links": []}
        if self._since("2.9"):
            view["locked"] = False
        if self._since("2.26"):
            view["tags"] = []
        if self._since("2.73"):
            view["locked_reason"] = None
        if s["status"] == "ERROR":
            view["fault"] = {"code": 500, "message": "No valid host was found. There are not enough hosts available."}
        return view

    def _server_action(self, server: dict, body: dict) -> tuple[int, Any, dict]:
        (action,) = body
        allowed = {"os-start": ("SHUTOFF", "ACTIVE"), "os-stop": ("ACTIVE", "SHUTOFF"),
                   "reboot": ("ACTIVE", "ACTIVE")}
        if action not in allowed:
            return _nova(400, "badRequest", f"Unsupported action {action}")
        before, after = allowed[action]
        if server["status"] != before:
            return _nova(409, "conflictingRequest", f"Cannot '{action}' instance {server['id']} while it is in "
                                                    f"vm_state {server['status'].lower()}")
        if self.hooks:
            self.hooks.on_action(server, action)
        server["status"] = after
        return 202, None, {}

    def _delete_server(self, server: dict) -> None:
        if self.hooks:
            self.hooks.on_delete(server)
        del self.servers[server["id"]]
        port = self.ports.pop(server["port"])
        for ip in self.floatingips.values():
            if ip["port_id"] == port["id"]:
                ip.update(port_id=None, fixed_ip_address=None, status="DOWN")

    # ----- neutron
    def _network(self, method: str, path: str, query: dict, body: dict) -> tuple[int, Any, dict]:
        path = path.removeprefix("/v2.0")
        if path == "/networks":
            found = [n for n in self.networks.values() if _matches(n, query)]
            return 200, {"networks": found}, {}
        m = re.fullmatch(r"/networks/([^/]+)", path)
        if m:
            if m.group(1) not in self.networks:
                return _neutron(404, "NetworkNotFound", f"Network {m.group(1)} could not be found.")
            return 200, {"network": self.networks[m.group(1)]}, {}
        if path == "/ports":
            return 200, {"ports": [p for p in self.ports.values() if _matches(p, query)]}, {}
        if path == "/floatingips":
            if method == "GET":
                return 200, {"floatingips": [f for f in self.floatingips.values() if _matches(f, query)]}, {}
            spec = body["floatingip"]
            net = self.networks.get(spec.get("floating_network_id", ""))
            if net is None or not net["router:external"]:
                return _neutron(404, "ExternalNetworkNotFound", "External network could not be found.")
            fid = str(uuid.uuid4())
            self.floatingips[fid] = {"id": fid, "floating_network_id": net["id"], "port_id": None,
                                     "floating_ip_address": self.floating_address or f"203.0.113.{next(self._floating)}",
                                     "fixed_ip_address": None, "status": "DOWN", "project_id": self.project_id,
                                     "description": spec.get("description", "")}
            self._bind(self.floatingips[fid], spec.get("port_id"))
            return 201, {"floatingip": self.floatingips[fid]}, {}
        m = re.fullmatch(r"/floatingips/([^/]+)", path)
        if m:
            ip = self.floatingips.get(m.group(1))
            if ip is None:
                return _neutron(404, "FloatingIPNotFound", f"Floating IP {m.group(1)} could not be found")
            if method == "DELETE":
                del self.floatingips[ip["id"]]
                return 204, None, {}
            if method == "PUT":
                self._bind(ip, body["floatingip"].get("port_id"))
            return 200, {"floatingip": ip}, {}
        if path == "/security-groups":
            if method == "GET":
                return 200, {"security_groups": [g for g in self.groups.values() if _matches(g, query)]}, {}
            gid = str(uuid.uuid4())
            self.groups[gid] = {"id": gid, "name": body["security_group"]["name"],
                                "created_at": f"2026-01-01T00:00:{len(self.groups):02d}Z",
                                "description": body["security_group"].get("description", ""),
                                "project_id": self.project_id, "security_group_rules": []}
            return 201, {"security_group": self.groups[gid]}, {}
        m = re.fullmatch(r"/security-groups/([^/]+)", path)
        if m:
            group = self.groups.get(m.group(1))
            if group is None:
                return _neutron(404, "SecurityGroupNotFound", f"Security group {m.group(1)} does not exist")
            if method == "DELETE":
                if any(group["id"] in s["security_groups"] for s in self.servers.values()):
                    return _neutron(409, "SecurityGroupInUse", f"Security Group {group['id']} in use.")
                del self.groups[group["id"]]
                return 204, None, {}
            return 200, {"security_group": group}, {}
        if path == "/security-group-rules" and method == "POST":
            rule = dict(body["security_group_rule"], id=str(uuid.uuid4()))
            group = self.groups.get(rule["security_group_id"])
            if group is None:
                return _neutron(404, "SecurityGroupNotFound", "Security group does not exist")
            key = ("direction", "protocol", "port_range_min", "port_range_max", "remote_ip_prefix")
            if any(all(r.get(k) == rule.get(k) for k in key) for r in group["security_group_rules"]):
                return _neutron(409, "SecurityGroupRuleExists", "Security group rule already exists.")
            group["security_group_rules"].append(rule)
            return 201, {"security_group_rule": rule}, {}
        raise KeyError(path)

    def _bind(self, ip: dict, port_id: str | None) -> None:
        port = self.ports.get(port_id or "")
        ip.update(port_id=port["id"] if port else None, status="ACTIVE" if port else "DOWN",
                  fixed_ip_address=port["fixed_ips"][0]["ip_address"] if port else None)

    # ----- glance
    def _image(self, method: str, path: str, query: dict, body: dict) -> tuple[int, Any, dict]:
        if path == "" and method == "GET":
            return 300, {"versions": [{"id": "v2.16", "status": "CURRENT",
                                       "links": [{"rel": "self", "href": self.url + "/image/v2/"}]}]}, {}
        if path == "/v2/images":
            found = [i for i in IMAGES if _matches(i, query)]
            return 200, {"images": found, "first": "/v2/images", "schema": "/v2/schemas/images"}, {}
        m = re.fullmatch(r"/v2/images/([^/]+)", path)
        if m:
            image = next((i for i in IMAGES if i["id"] == m.group(1)), None)
            if image is None:
                return 404, f"404 Not Found\n\nNo image found with ID {m.group(1)}\n", {}
            return 200, image, {}
        raise KeyError(path)


def _matches(item: dict, query: dict) -> bool:
    for key, value in query.items():
        if key in ("limit", "marker", "sort_key", "sort_dir", "fields"):
            continue
        have = item.get(key)
        if isinstance(have, bool):
            have, value = str(have).lower(), value.lower()
        if key in item and str(have) != value:
            return False
    return True


def _v(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def _one(items: list[dict], key: str, value: str) -> dict:
    for item in items:
        if item[key] == value:
            return item
    raise KeyError(value)


def _nova(status: int, fault: str, message: str) -> tuple[int, Any, dict]:
    return status, {fault: {"code": status, "message": message}}, {}


def _neutron(status: int, kind: str, message: str) -> tuple[int, Any, dict]:
    return status, {"NeutronError": {"type": kind, "message": message, "detail": ""}}, {}


def _not_found(path: str) -> tuple[int, Any, dict]:
    if path.startswith("/network"):
        return _neutron(404, "HTTPNotFound", f"The resource could not be found: {path}")
    if path.startswith("/image"):
        return 404, "404 Not Found\n\nThe resource could not be found.\n", {}
    return _nova(404, "itemNotFound", f"The resource could not be found: {path}")
