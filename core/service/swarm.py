"""Swarm mode across machines: init a manager, join workers or managers, leave, list the nodes, drain and activate,
each spoken to the machine's own engine through its Docker API over the machine's TLS (no docker CLI needed).

Join tokens go from the manager's answer into the joining engine's request and nowhere else: never printed, never
logged. Each machine's role is recorded in its config.json (HostOptions.SwarmMode, a key docker-machine ignores), so
`ls` shows the cluster without asking every engine."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from ..errors import MachineError

if TYPE_CHECKING:
    from ..events import Reporter
    from ..hostconfig import Host
    from ..store import Store

SWARM_PORT = 2377


class Node:
    """One node as `swarm ls` shows it, named after its machine where one of the store's machines is that node."""

    __slots__ = ("id", "machine", "hostname", "role", "leader", "availability", "status", "address", "engine")

    def __init__(self, raw: dict[str, Any], machine: str = ""):
        spec, desc, status = raw.get("Spec", {}), raw.get("Description", {}), raw.get("Status", {})
        manager = raw.get("ManagerStatus") or {}
        self.id = raw.get("ID", "")
        self.hostname = desc.get("Hostname", "")
        self.machine = machine or self.hostname
        self.role = spec.get("Role", "")
        self.leader = bool(manager.get("Leader"))
        self.availability = spec.get("Availability", "")
        self.status = status.get("State", "")
        self.address = status.get("Addr", "")
        self.engine = desc.get("Engine", {}).get("EngineVersion", "")

    def to_json(self) -> dict[str, Any]:
        return {"machine": self.machine, "id": self.id, "hostname": self.hostname, "role": self.role,
                "leader": self.leader, "availability": self.availability, "status": self.status,
                "address": self.address, "engine": self.engine}


async def call(host: Host, method: str, path: str, body: Any = None, timeout: float = 60.0) -> Any:
    """A Docker API request to the machine's engine over its TLS."""
    from ..engine_client import EngineClient

    engine = await EngineClient.of(host, timeout)
    try:
        return await engine.call(method, path, body)
    finally:
        engine.close()


async def swarm_state(host: Host) -> dict[str, Any]:
    """The engine's own view: LocalNodeState (inactive, active, pending...), NodeID, NodeAddr, ControlAvailable."""
    info = await call(host, "GET", "/info")
    state: dict[str, Any] = (info or {}).get("Swarm") or {}
    return state


async def advertise_address(host: Host) -> str:
    """Where the other nodes reach this one: a private network's address where the driver has one, else the
    machine's IP; "" (the engine chooses its own) where the IP is a port forward of this computer (127.0.0.1)."""
    from ..drivers import driver_for

    driver = driver_for(host)
    private = await driver.private_address()
    if private:
        return private
    ip = await driver.get_ip()
    if ip.count(":") == 1:
        ip = ip.split(":")[0]  # the none driver's "host:port"
    try:
        if ipaddress.ip_address(ip).is_loopback:
            return ""
    except ValueError:
        pass  # a host name: the engine resolves it
    return ip


def _record(store: Store, name: str, role: str, cluster: str) -> None:
    def change(fresh: Host) -> None:
        options = fresh.doc.setdefault("HostOptions", {})
        if role:
            options["SwarmMode"] = {"Role": role, "Cluster": cluster}
        else:
            options.pop("SwarmMode", None)

    store.update(name, change)


async def init(store: Store, manager: str, report: Reporter, advertise: str = "") -> str:
    """`docker swarm init` on the manager's engine; its node id."""
    host = store.load(manager)
    state = await swarm_state(host)
    if state.get("LocalNodeState") == "active":
        raise MachineError(f"{manager} is already part of a swarm"
                           + (" (as a manager)" if state.get("ControlAvailable") else " (as a worker)"))
    address = advertise or await advertise_address(host)
    report.info(f"Initializing a swarm on {manager}" + (f", advertised at {address}" if address else "") + "...")
    body: dict[str, Any] = {"ListenAddr": f"0.0.0.0:{SWARM_PORT}", "ForceNewCluster": False}
    if address:
        body["AdvertiseAddr"] = address
    node_id = str(await call(host, "POST", "/swarm/init", body))
    _record(store, manager, "manager", manager)
    report.info(f"{manager} is the manager of a new swarm (node {node_id[:12]})")
    return node_id


async def join(store: Store, manager: str, names: list[str], report: Reporter, as_manager: bool = False) -> None:
    """Each machine joins the manager's swarm as a worker (or a manager), one after the other: a swarm admits
    managers one at a time, and the raft log stays consistent that way."""
    mhost = store.load(manager)
    state = await swarm_state(mhost)
    if not state.get("ControlAvailable"):
        raise MachineError(f"{manager} is not a swarm manager: run `swarm init {manager}` first")
    cluster = await call(mhost, "GET", "/swarm")
    token = (cluster.get("JoinTokens") or {}).get("Manager" if as_manager else "Worker", "")
    remote = state.get("NodeAddr") or ""
    if not token or not remote:
        raise MachineError(f"{manager} gave no join token or address")
    role = "manager" if as_manager else "worker"
    failures = []
    for name in names:
        try:
            host = store.load(name)
            own = await swarm_state(host)
            if own.get("LocalNodeState") == "active":
                raise MachineError(f"{name} is already part of a swarm")
            address = await advertise_address(host)
            report.info(f"{name} joins {manager}'s swarm as a {role}...")
            body: dict[str, Any] = {"ListenAddr": f"0.0.0.0:{SWARM_PORT}", "RemoteAddrs": [f"{remote}:{SWARM_PORT}"],
                                    "JoinToken": token}
            if address:
                body["AdvertiseAddr"] = address
            await call(host, "POST", "/swarm/join", body, timeout=120)
            _record(store, name, role, manager)
        except MachineError as err:
            failures.append(f"{name}: {err}")
    if failures:
        raise MachineError("\n".join(failures))


async def leave(store: Store, names: list[str], report: Reporter, force: bool = False) -> None:
    """Each machine leaves its swarm; a manager that knows the node then forgets it, so `swarm ls` stays true."""
    failures = []
    for name in names:
        try:
            host = store.load(name)
            state = await swarm_state(host)
            if state.get("LocalNodeState") != "active":
                raise MachineError(f"{name} is not part of a swarm")
            node_id = state.get("NodeID", "")
            cluster = ((host.doc.get("HostOptions") or {}).get("SwarmMode") or {}).get("Cluster", "")
            await call(host, "POST", f"/swarm/leave?force={'true' if force else 'false'}", timeout=120)
            _record(store, name, "", "")
            report.info(f"{name} left the swarm")
            if cluster and cluster != name and node_id:
                await _forget(store, cluster, node_id, report)
        except MachineError as err:
            failures.append(f"{name}: {err}")
    if failures:
        raise MachineError("\n".join(failures))


async def _forget(store: Store, manager: str, node_id: str, report: Reporter) -> None:
    import asyncio

    try:
        mhost = store.load(manager)
    except MachineError:
        return
    for _ in range(20):  # the manager sees the node go down within a few seconds
        try:
            await call(mhost, "DELETE", f"/nodes/{node_id}")
            report.info(f"{manager} forgot the node {node_id[:12]}")
            return
        except MachineError:
            await asyncio.sleep(1)


async def nodes(store: Store, manager: str) -> list[Node]:
    """The swarm's nodes as its manager sees them, each named after its machine."""
    host = store.load(manager)
    raw = await call(host, "GET", "/nodes")
    found = [Node(n) for n in raw or []]  # provisioning names each machine's host after it
    found.sort(key=lambda n: (n.role != "manager", not n.leader, n.machine))
    return found


async def set_availability(store: Store, manager: str, machine: str, availability: str, report: Reporter) -> None:
    """drain, active or pause a node: the manager moves its tasks elsewhere when drained."""
    if availability not in ("drain", "active", "pause"):
        raise MachineError(f"availability {availability!r}: drain, active or pause")
    host = store.load(manager)
    for raw in await call(host, "GET", "/nodes") or []:
        node = Node(raw)
        if machine in (node.hostname, node.id):
            spec = dict(raw.get("Spec", {}), Availability=availability)
            version = raw.get("Version", {}).get("Index", 0)
            await call(host, "POST", f"/nodes/{node.id}/update?version={version}", spec)
            report.info(f"{machine} is now {availability}")
            return
    raise MachineError(f"{manager}'s swarm has no node {machine}")


async def services(store: Store, manager: str) -> list[dict[str, Any]]:
    """Each service with its replicas running and desired, as the cluster view shows them."""
    host = store.load(manager)
    found = await call(host, "GET", "/services") or []
    tasks = await call(host, "GET", "/tasks") or []
    rows = []
    for svc in found:
        mode = svc.get("Spec", {}).get("Mode", {})
        desired = mode.get("Replicated", {}).get("Replicas") if "Replicated" in mode else None
        running = sum(1 for t in tasks if t.get("ServiceID") == svc.get("ID")
                      and t.get("Status", {}).get("State") == "running")
        rows.append({"name": svc.get("Spec", {}).get("Name", ""), "running": running,
                     "desired": desired if desired is not None else running, "id": svc.get("ID", "")})
    return rows


def recorded_role(host: Host) -> tuple[str, str]:
    """(role, cluster) as the store knows them, without asking the engine."""
    mode = (host.doc.get("HostOptions") or {}).get("SwarmMode") or {}
    return str(mode.get("Role", "")), str(mode.get("Cluster", ""))


def requested_mode(store: Store, opts: dict[str, Any]) -> tuple[str, str]:
    """A create's --swarm-mode and --swarm-mode-join, checked before anything is made."""
    mode, join = str(opts.get("swarm-mode") or ""), str(opts.get("swarm-mode-join") or "")
    if mode not in ("", "manager", "worker"):
        raise MachineError(f'--swarm-mode "{mode}": manager or worker')
    if mode == "worker" and not join:
        raise MachineError("--swarm-mode worker needs --swarm-mode-join MANAGER: the swarm to join")
    if join and not mode:
        raise MachineError("--swarm-mode-join needs --swarm-mode worker (or manager)")
    if join and not store.exists(join):
        raise MachineError(f'--swarm-mode-join: Docker machine "{join}" does not exist')
    return mode, join


async def make_member(store: Store, name: str, mode: str, manager: str, report: Reporter) -> None:
    """The swarm step of a create, once the machine is made: its own step, so that a front end shows the swarm's
    progress apart from the machine's."""
    report.step("swarm", "Setting up Swarm mode...")
    if manager:
        await join(store, manager, [name], report, as_manager=mode == "manager")
    else:
        await init(store, name, report)
    report.done("swarm", f"{name} is a swarm {mode}")
