"""What a FakeEngine runs, as the Docker Engine API (v1.41) answers it: containers (list, inspect, start, stop,
restart, kill, remove with its 409 for a running one unless forced), their logs (the 8-byte multiplexed frames, or raw
for a TTY; followed over chunked encoding while the container runs), stats (one-shot and streamed, with cgroup v2
memory), images, volumes, info, and exec on an upgraded connection (a small line shell with TTY echo)."""

from __future__ import annotations

import itertools
import json
import threading
import time


class FakeContainer:
    def __init__(self, n: int, name: str, image: str, running: bool, tty: bool, ports: list[dict]):
        self.id = f"{n:04d}" + "c0ffee" * 10
        self.name, self.image, self.tty, self.ports = name, image, tty, ports
        self.running = running
        self.created = int(time.time()) - 3600
        self.started = time.time() - 600
        self.log: list[tuple[int, bytes]] = []  # (stream 1 stdout / 2 stderr, bytes)
        self.cpu_total = 0
        self.changed = threading.Condition()

    def write(self, data: bytes, stream: int = 1) -> None:
        with self.changed:
            self.log.append((stream, data))
            self.changed.notify_all()

    def set_running(self, running: bool) -> None:
        with self.changed:
            self.running = running
            if running:
                self.started = time.time()
            self.changed.notify_all()

    def summary(self) -> dict:
        status = f"Up {int(time.time() - self.started) // 60} minutes" if self.running else "Exited (0) 1 minute ago"
        return {"Id": self.id, "Names": ["/" + self.name], "Image": self.image, "Created": self.created,
                "State": "running" if self.running else "exited", "Status": status, "Ports": self.ports}


class FakeDocker:
    def __init__(self):
        self.containers: dict[str, FakeContainer] = {}
        self.images = [{"Id": "sha256:" + "ab" * 32, "RepoTags": ["busybox:latest"], "Created": 1700000000,
                        "Size": 4_261_550}]
        self.volumes = [{"Name": "data", "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/data/_data",
                         "CreatedAt": "2026-11-30T10:00:00Z"}]
        self.requests: list[tuple[str, str]] = []
        self.execs: dict[str, dict] = {}
        self._n = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, name: str, image: str = "busybox:latest", running: bool = True, tty: bool = False,
            ports: list[dict] | None = None) -> FakeContainer:
        c = FakeContainer(next(self._n), name, image, running, tty, ports or [])
        self.containers[c.id] = c
        return c

    def find(self, ident: str) -> FakeContainer | None:
        return self.containers.get(ident) or next(
            (c for c in self.containers.values() if c.name == ident or c.id.startswith(ident)), None)

    # ----- the handler's side: each returns True when it answered
    def handle(self, handler, method: str, path: str, body) -> bool:
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(path)
        route = parts.path.rstrip("/")
        if route.startswith("/v1."):
            route = "/" + route.split("/", 2)[2]
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append((method, route))
        if method == "GET" and route == "/containers/json":
            shown = [c.summary() for c in self.containers.values() if c.running or query.get("all") in ("1", "true")]
            return send(handler, 200, shown)
        if method == "GET" and route == "/images/json":
            return send(handler, 200, self.images)
        if method == "GET" and route == "/volumes":
            return send(handler, 200, {"Volumes": self.volumes, "Warnings": None})
        if method == "GET" and route == "/info":
            running = sum(c.running for c in self.containers.values())
            return send(handler, 200, {"Name": handler.server.engine.hostname or "fake", "ServerVersion": "20.10.24",
                                       "Containers": len(self.containers), "ContainersRunning": running,
                                       "Images": len(self.images), "OperatingSystem": "Debian GNU/Linux 12",
                                       "NCPU": 2, "MemTotal": 2_000_000_000, "Swarm": {"LocalNodeState": "inactive"}})
        if route.startswith("/exec/"):
            return self.exec_call(handler, method, route, query, body)
        if not route.startswith("/containers/"):
            return False
        rest = route[len("/containers/"):]
        ident, _, verb = rest.partition("/")
        c = self.find(ident)
        if c is None:
            return send(handler, 404, {"message": f"No such container: {ident}"})
        if method == "GET" and verb == "json":
            return send(handler, 200, {"Id": c.id, "Name": "/" + c.name, "Config": {"Tty": c.tty, "Image": c.image},
                                       "State": {"Running": c.running, "Status": c.summary()["State"]}})
        if method == "POST" and verb in ("start", "stop", "restart", "kill"):
            if verb == "start" and c.running:
                return send(handler, 304, None)
            if verb in ("stop", "kill") and not c.running:
                return send(handler, 304 if verb == "stop" else 409,
                            None if verb == "stop" else {"message": f"Container {c.id} is not running"})
            c.set_running(verb in ("start", "restart"))
            return send(handler, 204, None)
        if method == "DELETE" and verb == "":
            if c.running and query.get("force") not in ("1", "true"):
                return send(handler, 409, {"message": f"You cannot remove a running container {c.id}. Stop the "
                                                      "container before attempting removal or force remove"})
            c.set_running(False)
            del self.containers[c.id]
            return send(handler, 204, None)
        if method == "GET" and verb == "logs":
            return self.logs(handler, c, query)
        if method == "GET" and verb == "stats":
            return self.stats(handler, c, query)
        if method == "POST" and verb == "exec":
            exec_id = "e" * 8 + str(next(self._n))
            self.execs[exec_id] = {"container": c, "body": body, "exit": None, "resized": []}
            return send(handler, 201, {"Id": exec_id})
        return False

    def logs(self, handler, c: FakeContainer, query) -> bool:
        follow = query.get("follow") in ("1", "true")
        tail = query.get("tail", "all")
        with c.changed:
            sent = len(c.log) - int(tail) if tail.isdigit() and int(tail) < len(c.log) else 0
        handler.send_response(200)
        handler.send_header("Content-Type", "application/vnd.docker.raw-stream" if c.tty
                            else "application/vnd.docker.multiplexed-stream")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        try:
            while True:
                with c.changed:
                    if sent >= len(c.log) and follow and c.running:
                        c.changed.wait(0.5)
                    batch, sent = c.log[sent:], len(c.log)
                    running = c.running
                if batch:
                    payload = b"".join(data if c.tty else bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big")
                                       + data for stream, data in batch)
                    chunk(handler, payload)
                elif not follow or not running:
                    break
        except OSError:  # the reader went away
            return True
        chunk(handler, b"")
        return True

    def stats(self, handler, c: FakeContainer, query) -> bool:
        def sample(before: tuple[int, int] | None) -> dict:
            if c.running:  # a quarter of one CPU, busy since it started; the system counts both CPUs
                c.cpu_total = int((time.time() - c.started) * 0.25e9)
            system = int(time.time() * 2e9)
            pre = {"cpu_usage": {"total_usage": before[0]}, "system_cpu_usage": before[1]} if before else {}
            return {"read": time.strftime("%Y-%m-%dT%H:%M:%SZ"), "cpu_stats": {
                "cpu_usage": {"total_usage": c.cpu_total}, "system_cpu_usage": system, "online_cpus": 2},
                "precpu_stats": pre, "memory_stats": {"usage": 52_428_800, "limit": 2_000_000_000,
                                                      "stats": {"inactive_file": 10_485_760}},
                "networks": {"eth0": {"rx_bytes": 1200, "tx_bytes": 800}}}

        if query.get("stream") in ("0", "false"):
            return send(handler, 200, sample(None))
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        before = None
        try:
            for _ in range(600):
                now = sample(before)
                before = (now["cpu_stats"]["cpu_usage"]["total_usage"], now["cpu_stats"]["system_cpu_usage"])
                chunk(handler, json.dumps(now).encode() + b"\n")
                time.sleep(0.2)
        except OSError:
            pass
        return True

    def exec_call(self, handler, method, route, query, body) -> bool:
        exec_id, _, verb = route[len("/exec/"):].partition("/")
        ex = self.execs.get(exec_id)
        if ex is None:
            return send(handler, 404, {"message": f"No such exec instance: {exec_id}"})
        if verb == "resize":
            ex["resized"].append((query.get("w"), query.get("h")))
            return send(handler, 201, None)
        if verb == "json":
            return send(handler, 200, {"ID": exec_id, "Running": ex["exit"] is None, "ExitCode": ex["exit"]})
        if verb != "start":
            return False
        handler.wfile.write(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                            b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        handler.wfile.flush()
        container = ex["container"]
        prompt = f"root@{container.id[:12]}:/# ".encode()
        out = handler.wfile
        out.write(prompt)
        out.flush()
        line = b""
        try:
            while True:
                data = handler.rfile.read1(1024) if hasattr(handler.rfile, "read1") else handler.rfile.read(1)
                if not data:
                    break
                for byte in data:
                    ch = bytes([byte])
                    if ch in (b"\r", b"\n"):
                        out.write(b"\r\n")
                        command = line.decode(errors="replace").strip()
                        line = b""
                        if command == "exit":
                            ex["exit"] = 0
                            out.flush()
                            handler.close_connection = True
                            return True
                        if command.startswith("echo "):
                            out.write(command[5:].encode() + b"\r\n")
                        elif command == "hostname":
                            out.write(container.id[:12].encode() + b"\r\n")
                        elif command:
                            out.write(f"sh: {command.split()[0]}: not found\r\n".encode())
                        out.write(prompt)
                    else:
                        line += ch
                        out.write(ch)  # the TTY's echo
                out.flush()
        except OSError:
            pass
        ex["exit"] = 0
        handler.close_connection = True
        return True


def send(handler, status: int, payload) -> bool:
    data = b"" if payload is None else json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
    return True


def chunk(handler, data: bytes) -> None:
    handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    handler.wfile.flush()
