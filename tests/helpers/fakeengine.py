"""A loopback Docker Engine API stand-in with mutual TLS: server cert signed by the store's CA, client
certificates required, answers GET /version (and /_ping); given a FakeSwarm, a swarm node's API; given a FakeDocker,
containers, logs, stats and exec. Used where the real engine is not needed."""

from __future__ import annotations

import json
import os
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fakedocker import FakeDocker, send
from machine_tui.core import certs

VERSION = {"Version": "19.03.5", "ApiVersion": "1.40", "Os": "linux", "Arch": "amd64"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept-alive connections, as a real engine keeps them

    def _answer(self, method: str) -> None:
        engine = getattr(self.server, "engine", None)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if engine is not None and engine.swarm is not None:
            answer = engine.swarm.handle(engine, method, self.path, body)
            if answer is not None:
                send(self, *answer)
                return
        if engine is not None and engine.docker is not None and engine.docker.handle(self, method, self.path, body):
            return
        path = self.path.split("?")[0]
        if method == "GET" and (path.endswith("/version") or path.endswith("/_ping")):
            data = json.dumps(VERSION).encode() if path.endswith("/version") else b"OK"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_error(404)

    def do_GET(self):  # noqa: N802 (http.server API)
        self._answer("GET")

    def do_POST(self):  # noqa: N802
        self._answer("POST")

    def do_DELETE(self):  # noqa: N802
        self._answer("DELETE")

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
    def __init__(self, store_path: str, host: str, port: int, sans: list[str] | None = None,
                 swarm: FakeSwarm | None = None, hostname: str = "", docker: FakeDocker | None = None):
        self.host, self.port = host, port
        self.swarm, self.hostname = swarm, hostname  # a node of a Swarm-mode cluster, when given one
        self.docker = docker  # containers, images, logs...: what the drill-down reads
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
        self.server.engine = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class FakeSwarm:
    """Swarm mode as the Engine API answers it (init, join with tokens, leave, nodes, node update with its
    version, node removal only once down, services and tasks), shared by the FakeEngines that are its nodes.
    Each node's own address is 10.0.9.N, as an engine inside a VM would see its own."""

    def __init__(self):
        import itertools
        import secrets

        self.nodes: dict[str, dict] = {}  # engine hostname -> node
        self.tokens = {"Worker": "SWMTKN-1-w-" + secrets.token_hex(8), "Manager": "SWMTKN-1-m-" + secrets.token_hex(8)}
        self.cluster_id = ""
        self.requests: list[tuple[str, str, object]] = []
        self.services: list[dict] = []
        self._n = itertools.count(1)
        self._lock = threading.Lock()

    def _node(self, engine) -> dict:
        node = self.nodes.get(engine.hostname)
        if node is None:
            n = next(self._n)
            node = {"ID": f"node{n:02d}" + "x" * 19, "Version": {"Index": 1}, "own": f"10.0.9.{n}",
                    "Spec": {"Role": "worker", "Availability": "active"}, "Status": {"State": "down", "Addr": ""},
                    "Description": {"Hostname": engine.hostname, "Engine": {"EngineVersion": "20.10.24"}},
                    "state": "inactive"}
            self.nodes[engine.hostname] = node
        return node

    def handle(self, engine, method: str, path: str, body):
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(path)
        route, query = parts.path.rstrip("/"), {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append((method, route, body))
            me = self._node(engine)
            manager = me["state"] == "active" and me["Spec"]["Role"] == "manager"
            if method == "GET" and route.endswith("/info"):
                return 200, {"Name": engine.hostname, "ServerVersion": "20.10.24",
                             "Swarm": {"LocalNodeState": me["state"], "NodeID": me["ID"] if me["state"] == "active"
                                       else "", "NodeAddr": me["Status"]["Addr"], "ControlAvailable": manager}}
            if method == "POST" and route.endswith("/swarm/init"):
                if me["state"] == "active":
                    return 503, {"message": "This node is already part of a swarm. Use \"docker swarm leave\" to "
                                            "leave this swarm and join another one."}
                self.cluster_id = "cluster1"
                me.update(state="active")
                me["Spec"]["Role"] = "manager"
                me["Status"].update(State="ready", Addr=(body or {}).get("AdvertiseAddr") or me["own"])
                me["ManagerStatus"] = {"Leader": True, "Reachability": "reachable", "Addr": me["Status"]["Addr"]}
                return 200, me["ID"]
            if method == "GET" and route.endswith("/swarm"):
                if not manager:
                    return 503, {"message": "This node is not a swarm manager."}
                return 200, {"ID": self.cluster_id, "JoinTokens": dict(self.tokens)}
            if method == "POST" and route.endswith("/swarm/join"):
                if me["state"] == "active":
                    return 503, {"message": "This node is already part of a swarm."}
                leader = next((n for n in self.nodes.values() if n.get("ManagerStatus", {}).get("Leader")), None)
                want = f"{leader['Status']['Addr']}:2377" if leader else ""
                if not leader or want not in (body or {}).get("RemoteAddrs", []):
                    return 500, {"message": "could not connect to prospective new cluster member"}
                role = {v: k for k, v in self.tokens.items()}.get((body or {}).get("JoinToken"))
                if role is None:
                    return 500, {"message": "rpc error: code = InvalidArgument desc = A valid join token is "
                                            "necessary to join this cluster"}
                me.update(state="active")
                me["Spec"]["Role"] = role.lower()
                me["Status"].update(State="ready", Addr=(body or {}).get("AdvertiseAddr") or me["own"])
                if role == "Manager":
                    me["ManagerStatus"] = {"Leader": False, "Reachability": "reachable", "Addr": me["Status"]["Addr"]}
                return 200, None
            if method == "POST" and route.endswith("/swarm/leave"):
                if me["state"] != "active":
                    return 503, {"message": "This node is not part of a swarm"}
                if me["Spec"]["Role"] == "manager" and query.get("force") != "true":
                    return 503, {"message": "You are attempting to leave the swarm on a node that is participating "
                                            "as a manager. Use `--force` to ignore this message."}
                me.update(state="inactive")
                me["Status"]["State"] = "down"
                return 200, None
            if route.endswith("/nodes") or "/nodes/" in route or route.endswith(("/services", "/tasks")):
                if not manager:
                    return 503, {"message": "This node is not a swarm manager."}
                listed = [n for n in self.nodes.values() if n["Status"]["Addr"]]
                if method == "GET" and route.endswith("/nodes"):
                    return 200, [{k: v for k, v in n.items() if k not in ("own", "state")} for n in listed]
                if method == "GET" and route.endswith("/services"):
                    return 200, [{"ID": s["ID"], "Spec": {"Name": s["name"], "Mode": {"Replicated": {
                        "Replicas": s["replicas"]}}}} for s in self.services]
                if method == "GET" and route.endswith("/tasks"):
                    tasks = []
                    for s in self.services:
                        up = [n for n in listed if n["Status"]["State"] == "ready"
                              and n["Spec"]["Availability"] == "active"]
                        for i in range(min(s["replicas"], len(up))):
                            tasks.append({"ServiceID": s["ID"], "NodeID": up[i]["ID"], "Status": {"State": "running"}})
                    return 200, tasks
                node_id = route.split("/nodes/")[1].split("/")[0] if "/nodes/" in route else ""
                node = next((n for n in listed if n["ID"] == node_id), None)
                if node is None:
                    return 404, {"message": f"node {node_id} not found"}
                if method == "POST" and route.endswith("/update"):
                    if int(query.get("version", -1)) != node["Version"]["Index"]:
                        return 500, {"message": "update out of sequence"}
                    node["Spec"] = dict(body)
                    node["Version"]["Index"] += 1
                    return 200, None
                if method == "DELETE":
                    if node["Status"]["State"] != "down":
                        return 400, {"message": f"rpc error: code = FailedPrecondition desc = node {node_id} is "
                                                "not down and can't be removed"}
                    node["Status"]["Addr"] = ""
                    return 200, None
            return None
