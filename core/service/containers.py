"""What runs on a machine, read from its engine over the machine's own TLS (no docker CLI, no SSH): containers with
their CPU and memory, images, volumes, `docker info`; a container's logs and stats as they come; start, stop,
restart, remove; a shell inside one (an exec on an upgraded connection). The app's drill-down is drawn from these."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..engine_client import EngineClient, quoted
from ..errors import MachineError

if TYPE_CHECKING:
    from ..hostconfig import Host

STATS_AT_ONCE = 8  # stats requests in flight per machine: an engine answers each in ~50 ms, a busy one slower


@dataclass
class Container:
    id: str
    name: str
    image: str
    state: str  # created, running, paused, restarting, removing, exited, dead
    status: str  # the engine's words: "Up 3 minutes", "Exited (0) 2 hours ago"
    ports: str
    created: int
    cpu: float | None = None  # percent of one CPU, from two samples; None until there are two
    memory: int | None = None  # bytes in use (the page cache left out, as `docker stats` does)
    memory_limit: int | None = None
    tty: bool | None = None


@dataclass
class Usage:
    """A container's last stats sample, kept to turn the next into a CPU percentage."""

    cpu_total: int = 0
    system_total: int = 0
    at: float = 0.0


@dataclass
class MachineContents:
    containers: list[Container] = field(default_factory=list)
    usage: dict[str, Usage] = field(default_factory=dict)


def ports_text(ports: list[dict[str, Any]] | None) -> str:
    """`docker ps`'s PORTS: 0.0.0.0:8080->80/tcp, 443/tcp."""
    shown = []
    for p in sorted(ports or [], key=lambda p: (p.get("PrivatePort", 0), p.get("PublicPort", 0))):
        inner = f"{p.get('PrivatePort', '')}/{p.get('Type', 'tcp')}"
        if p.get("PublicPort"):
            shown.append(f"{p.get('IP') or '0.0.0.0'}:{p['PublicPort']}->{inner}")
        else:
            shown.append(inner)
    return ", ".join(dict.fromkeys(shown))


def memory_in_use(stats: dict[str, Any]) -> int | None:
    mem = stats.get("memory_stats") or {}
    if "usage" not in mem:
        return None
    inner = mem.get("stats") or {}
    # cgroup v2 reports inactive_file, v1 total_inactive_file (or cache): docker stats subtracts it
    cache = inner.get("inactive_file", inner.get("total_inactive_file", inner.get("cache", 0)))
    return max(0, int(mem["usage"]) - int(cache or 0))


def cpu_percent(stats: dict[str, Any], before: Usage | None) -> tuple[float | None, Usage]:
    """The CPU a container used since the sample before, as `docker stats` counts it (100 % is one CPU busy)."""
    cpu = stats.get("cpu_stats") or {}
    total = int((cpu.get("cpu_usage") or {}).get("total_usage") or 0)
    system = int(cpu.get("system_cpu_usage") or 0)
    cpus = int(cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1)
    now = Usage(total, system, time.monotonic())
    pre = stats.get("precpu_stats") or {}
    pre_total = int((pre.get("cpu_usage") or {}).get("total_usage") or 0)
    pre_system = int(pre.get("system_cpu_usage") or 0)
    if pre_system and pre_total:  # a streamed sample carries the one before it
        earlier = Usage(pre_total, pre_system)
    elif before is not None:
        earlier = before
    else:
        return None, now
    d_system = system - earlier.system_total
    d_cpu = total - earlier.cpu_total
    if d_system <= 0 or d_cpu < 0:
        return None, now
    return d_cpu / d_system * cpus * 100.0, now


async def connect(host: Host, timeout: float) -> EngineClient:
    """A client of the machine's engine over its own TLS (closed by the caller)."""
    return await EngineClient.of(host, timeout)


async def list_containers(engine: EngineClient, contents: MachineContents | None = None,
                          usage: bool = True) -> MachineContents:
    """Every container, and for the running ones their CPU and memory (one stats sample each, at most
    STATS_AT_ONCE in flight); `contents` from the last call turns its samples into CPU percentages."""
    contents = contents or MachineContents()
    raw = await engine.call("GET", "/containers/json?all=1") or []
    found = [Container(id=c.get("Id", ""), name=(c.get("Names") or ["/?"])[0].lstrip("/"),
                       image=c.get("Image", ""), state=c.get("State", ""), status=c.get("Status", ""),
                       ports=ports_text(c.get("Ports")), created=int(c.get("Created") or 0)) for c in raw]
    if usage:
        gate = asyncio.Semaphore(STATS_AT_ONCE)

        async def sample(c: Container) -> None:
            async with gate:
                try:
                    stats = await engine.call("GET", f"/containers/{c.id}/stats?stream=false&one-shot=true")
                except MachineError:
                    return  # gone meanwhile, or an engine too old for one-shot: the row shows no usage
            if isinstance(stats, dict):
                c.cpu, contents.usage[c.id] = cpu_percent(stats, contents.usage.get(c.id))
                c.memory = memory_in_use(stats)
                c.memory_limit = (stats.get("memory_stats") or {}).get("limit")

        await asyncio.gather(*(sample(c) for c in found if c.state == "running"))
    alive = {c.id for c in found}
    contents.usage = {k: v for k, v in contents.usage.items() if k in alive}
    contents.containers = found
    return contents


async def list_images(engine: EngineClient) -> list[dict[str, Any]]:
    images: list[dict[str, Any]] = await engine.call("GET", "/images/json") or []
    return images


async def list_volumes(engine: EngineClient) -> list[dict[str, Any]]:
    answer = await engine.call("GET", "/volumes") or {}
    volumes: list[dict[str, Any]] = answer.get("Volumes") or []
    return volumes


async def engine_info(engine: EngineClient) -> dict[str, Any]:
    info: dict[str, Any] = await engine.call("GET", "/info") or {}
    return info


ACTIONS = {"start": ("POST", "/containers/{id}/start"), "stop": ("POST", "/containers/{id}/stop"),
           "restart": ("POST", "/containers/{id}/restart"), "kill": ("POST", "/containers/{id}/kill"),
           "remove": ("DELETE", "/containers/{id}?force=true&v=false")}


async def container_action(engine: EngineClient, container_id: str, action: str) -> None:
    """start, stop, restart, kill or remove (a running one is stopped first, its volumes kept)."""
    method, path = ACTIONS[action]
    await engine.call(method, path.format(id=quoted(container_id)))


async def is_tty(engine: EngineClient, container_id: str) -> bool:
    inspected = await engine.call("GET", f"/containers/{quoted(container_id)}/json") or {}
    return bool((inspected.get("Config") or {}).get("Tty"))


async def follow_logs(engine: EngineClient, container_id: str, tail: int | str = 1000,
                      follow: bool = True) -> AsyncIterator[bytes]:
    """The container's output as it comes, stdout and stderr in the order written: the last `tail` lines, then
    (with `follow`) what it writes next, until it stops or the caller stops reading."""
    tty = await is_tty(engine, container_id)
    response = await engine.request(
        "GET", f"/containers/{quoted(container_id)}/logs?stdout=1&stderr=1&tail={tail}&follow={int(follow)}",
        keep=False)
    try:
        if tty:  # a TTY's output comes as it is
            async for chunk in response.chunks():
                yield chunk
            return
        # otherwise each frame is 8 bytes (stream, 0, 0, 0, big-endian length) and its payload
        pending = b""
        async for chunk in response.chunks():
            pending += chunk
            out = []
            while len(pending) >= 8:
                size = int.from_bytes(pending[4:8], "big")
                if len(pending) < 8 + size:
                    break
                out.append(pending[8:8 + size])
                pending = pending[8 + size:]
            if out:
                yield b"".join(out)
    finally:
        response.close()


async def follow_stats(engine: EngineClient, container_id: str) -> AsyncIterator[dict[str, Any]]:
    """One stats sample a second, as the engine streams them, each with its CPU percentage worked out."""
    response = await engine.request("GET", f"/containers/{quoted(container_id)}/stats?stream=true", keep=False)
    pending = b""
    try:
        async for chunk in response.chunks():
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line.strip():
                    sample = json.loads(line)
                    sample["cpu_percent"], _ = cpu_percent(sample, None)
                    sample["memory_in_use"] = memory_in_use(sample)
                    yield sample
    finally:
        response.close()


class ExecSession:
    """A shell inside a container, on the engine's upgraded connection: what the console pane runs (read, write,
    resize, exit status), as it runs an SSH session."""

    SHELL = ["/bin/sh", "-c", "if command -v bash >/dev/null; then exec bash; else exec sh; fi"]

    def __init__(self, engine: EngineClient, exec_id: str, response: Any):
        self.engine, self.exec_id, self.response = engine, exec_id, response
        self._status: int | None = None
        self._closed = False
        self._resizing: set[asyncio.Future[None]] = set()

    @classmethod
    async def open(cls, engine: EngineClient, container_id: str, columns: int, lines: int) -> ExecSession:
        made = await engine.call("POST", f"/containers/{quoted(container_id)}/exec", {
            "AttachStdin": True, "AttachStdout": True, "AttachStderr": True, "Tty": True,
            "Cmd": cls.SHELL, "Env": ["TERM=xterm-256color"], "ConsoleSize": [lines, columns]})
        exec_id = (made or {}).get("Id", "")
        if not exec_id:
            raise MachineError(f"{engine.name}: the engine made no exec for {container_id[:12]}")
        response = await engine.request("POST", f"/exec/{exec_id}/start", {"Detach": False, "Tty": True},
                                        headers={"Upgrade": "tcp"}, keep=False)
        session = cls(engine, exec_id, response)
        session.resize(columns, lines)
        return session

    async def read(self) -> bytes:
        data: bytes
        try:
            data = await self.response.reader.read(65536)
        except (OSError, ssl.SSLError):  # a dropped connection reads as the end of the shell
            data = b""
        if not data and self._status is None:
            try:
                inspected = await self.engine.call("GET", f"/exec/{self.exec_id}/json") or {}
                self._status = inspected.get("ExitCode")
            except MachineError:
                self._status = None
        return data

    def write(self, data: bytes) -> None:
        if not self._closed:
            self.response.writer.write(data)

    def resize(self, columns: int, lines: int) -> None:
        async def resize() -> None:
            try:
                await self.engine.call("POST", f"/exec/{self.exec_id}/resize?h={lines}&w={columns}")
            except MachineError:
                pass  # the shell ended meanwhile

        task = asyncio.ensure_future(resize())
        self._resizing.add(task)  # held until done: a task nobody holds may be collected mid-way
        task.add_done_callback(self._resizing.discard)

    @property
    def exit_status(self) -> int | None:
        return self._status

    def close(self) -> None:
        self._closed = True
        self.response.close()

    async def wait_closed(self) -> None:
        try:
            await self.response.writer.wait_closed()
        except (OSError, Exception):  # noqa: BLE001 - an abrupt TLS close is still a close
            pass
