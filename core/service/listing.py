"""`ls`: every machine's state, URL and Docker version, queried concurrently with a per-host deadline.

One machine that is broken, slow or gone never breaks the listing of the others."""

from __future__ import annotations

import os
import re
import time

from ..aio import wait_for
from ..drivers import Driver, State, driver_for
from ..errors import HostNotRunning, MachineError, MachineNotFound
from ..hostconfig import DEFAULT_SWARM_HOST, Host
from ..store import CREATING_FILE, InvalidName, LoadError, Store, create_problem

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    from typing import Any

FILTER_KEYS = ("driver", "state", "name", "label", "swarm")


class Row:
    """One line of `ls` (and of the app's table). A plain class: `ls -q` and every store reader load this module,
    and dataclasses cost a command's start ~15 ms."""

    def __init__(self, Name: str, Active: str = "-", ActiveHost: bool = False, ActiveSwarm: bool = False,  # noqa: N803
                 DriverName: str = "", State: str = "", URL: str = "", SwarmOptions: dict[str, Any] | None = None,  # noqa: N803
                 Swarm: str = "", EngineOptions: dict[str, Any] | None = None, Error: str = "",  # noqa: N803
                 DockerVersion: str = "", ResponseTime: float = 0.0, broken: bool = False):  # noqa: N803
        self.Name, self.Active, self.ActiveHost, self.ActiveSwarm = Name, Active, ActiveHost, ActiveSwarm
        self.DriverName, self.State, self.URL, self.SwarmOptions = DriverName, State, URL, SwarmOptions
        self.Swarm, self.EngineOptions, self.Error, self.DockerVersion = Swarm, EngineOptions, Error, DockerVersion
        self.ResponseTime = ResponseTime  # seconds
        self.broken = broken  # the machine's config could not be read

    def replace(self, **changes: Any) -> Row:
        return Row(**{**self.__dict__, **changes})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Row) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if k != "broken")
        return f"Row({shown})"

    def template_data(self) -> dict[str, Any]:
        from ..gotemplate import StrictFields

        data = StrictFields(self.__dict__)
        data.pop("broken", None)
        data["ResponseTime"] = go_duration(self.ResponseTime)
        return data

    def to_json(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d.pop("broken")
        d["ResponseTime"] = round(self.ResponseTime, 6)
        return d


def one_line(text: str) -> str:
    """A multi-line error kept readable in one table cell."""
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def go_duration(seconds: float) -> str:
    """time.Duration's String() for a duration rounded to the millisecond."""
    ms = int(round(seconds * 1000))
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    text = f"{ms / 1000:.3f}".rstrip("0").rstrip(".")
    if ms < 60_000:
        return text + "s"
    minutes, rest = divmod(ms / 1000, 60)
    rest_text = f"{rest:.3f}".rstrip("0").rstrip(".") or "0"
    return f"{int(minutes)}m{rest_text}s"


def natural_key(name: str) -> list[int | str]:
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name.lower())]


def parse_filters(raw: list[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for item in raw:
        if "=" not in item:
            raise MachineError("Unsupported filter syntax.")
        key, value = item.split("=", 1)
        key = key.lower()
        if key not in FILTER_KEYS:
            raise MachineError(f"Unsupported filter key '{key}'")
        if key == "name":
            try:
                re.compile(value)
            except re.error as err:
                raise MachineError(f"error parsing regexp: {err}") from None
        filters.setdefault(key, []).append(value)
    return filters


def _matches_static(host: Host, filters: dict[str, Any], masters: dict[str, Any]) -> bool:
    if "driver" in filters and not any(v.lower() == host.driver_name.lower() for v in filters["driver"]):
        return False
    if "name" in filters and not any(re.search(v, host.name) for v in filters["name"]):
        return False
    if "label" in filters:
        labels = host.engine.get("Labels") or []
        ok = False
        for want in filters["label"]:
            k, _, v = want.partition("=")
            for have in labels:
                hk, _, hv = have.partition("=")
                if hk == k and hv.lower() == v.lower():
                    ok = True
        if not ok:
            return False
    if "swarm" in filters:
        disc = host.swarm.get("Discovery") or ""
        if not any(masters.get(m.lower()) == disc and disc for m in filters["swarm"]):
            return False
    return True


def load_all(store: Store) -> tuple[list[Host], list[Row]]:
    hosts, broken = [], []
    for name in store.list_names():
        try:
            hosts.append(store.load(name))
        except MachineNotFound:
            pass  # removed while we listed
        except (LoadError, InvalidName, MachineError) as err:
            broken.append(Row(Name=name, Active="", DriverName="not found", State="Error",
                              Error=one_line(str(err)), broken=True))
        except Exception as err:  # noqa: BLE001 - one machine's damage must never hide the others
            broken.append(Row(Name=name, Active="", DriverName="not found", State="Error",
                              Error=one_line(f"Error loading {name}: {err}"), broken=True))
    return hosts, broken


async def query_host(host: Host, timeout: float, docker_host: str, masters_by_disc: dict[Any, str],
                     driver: Driver | None = None) -> Row:
    import asyncio  # here, not at the top: `ls -q` and the store's readers never start a loop

    started = time.monotonic()
    row = Row(Name=host.name, DriverName=host.driver_name, SwarmOptions=host.swarm, EngineOptions=host.engine)
    try:
        if timeout <= 0:
            raise asyncio.TimeoutError
        await wait_for(_fill(row, host, driver, timeout, docker_host, masters_by_disc, _engine_version), timeout)
    except asyncio.TimeoutError:
        return _unanswered(row, host, timeout)
    except Exception as e:  # a driver bug on one host must not take the listing down
        row.State, row.Error = "Error", one_line(str(e) or repr(e))
    row.ResponseTime = time.monotonic() - started
    return row


def query_host_now(host: Host, timeout: float, docker_host: str, masters_by_disc: dict[Any, str]) -> Row:
    """query_host for a machine whose driver answers from its record, without an event loop: the engine is asked on
    a blocking socket whose deadline stands for the loop's."""
    started = time.monotonic()
    row = Row(Name=host.name, DriverName=host.driver_name, SwarmOptions=host.swarm, EngineOptions=host.engine)
    try:
        _at_once(_fill(row, host, None, timeout, docker_host, masters_by_disc, _engine_version_now))
    except TimeoutError:
        return _unanswered(row, host, timeout)
    except Exception as e:  # noqa: BLE001 - a driver bug on one host must not take the listing down
        row.State, row.Error = "Error", one_line(str(e) or repr(e))
    row.ResponseTime = time.monotonic() - started
    return row


async def _engine_version(url: str, ca: str, cert: str, key: str, timeout: float) -> dict[str, Any]:
    from ..engine import docker_version

    return await docker_version(url, ca, cert, key, timeout=timeout)


async def _engine_version_now(url: str, ca: str, cert: str, key: str, timeout: float) -> dict[str, Any]:
    from ..engine import docker_version_now

    return docker_version_now(url, ca, cert, key, timeout=timeout, raise_timeouts=True)


async def _fill(row: Row, host: Host, driver: Driver | None, timeout: float, docker_host: str,
                masters_by_disc: dict[Any, str], engine_version: Any) -> None:
    """One machine's line of `ls`, filled in as far as it gets: a deadline may stop it at any await."""
    driver = driver or driver_for(host)
    url, err = "", None
    try:
        url = await driver.get_url()
    except MachineError as e:
        err = e
    if url and err is None:
        state = State.RUNNING
    else:
        try:
            state = await driver.state()
        except MachineError as e:
            state, err = State.ERROR, e
    row.State = str(state)
    row.URL = url
    failed = create_error_of(host)
    if failed:
        row.State, err = "Error", MachineError(failed)
    if url:
        auth = host.auth
        try:
            info = await engine_version(url, auth.get("CaCertPath", ""), auth.get("ClientCertPath", ""),
                                        auth.get("ClientKeyPath", ""), max(timeout, 0.1))
            row.DockerVersion = "v" + str(info.get("Version", ""))
        except MachineError as e:
            row.DockerVersion = "Unknown"
            if not failed:
                text = str(e) if str(e).startswith("Unable") else f"Unable to query docker version: {e}"
                err = MachineError(text)
    else:
        row.DockerVersion = "Unknown"
    if err is not None and not isinstance(err, HostNotRunning):
        row.Error = one_line(str(err))
    swarm = host.swarm
    mark = active_mark(host, state == State.RUNNING, url, docker_host)
    if mark:
        row.Active, row.ActiveHost, row.ActiveSwarm = mark, mark == "*", mark != "*"
    disc = swarm.get("Discovery") or ""
    if disc:
        master = masters_by_disc.get(disc, "")
        row.Swarm = f"{master} (master)" if swarm.get("Master") else master
    else:
        row.Swarm = swarm_mode_of(host)


def _unanswered(row: Row, host: Host, timeout: float) -> Row:
    """The line of a machine whose deadline ran out."""
    if row.State and row.State != "Error":
        # the state was known, only the engine was slow (a machine starting): keep it, as `status` says it
        row.DockerVersion = "Unknown"
        row.Error = row.Error or f"Unable to query docker version: no answer within {timeout:g} s"
        row.ResponseTime = timeout
        return row
    failed = create_error_of(host)
    if failed:  # a failed or interrupted create is an Error whatever the deadline
        return Row(Name=host.name, Active="", DriverName=host.driver_name, State="Error", Error=one_line(failed),
                   SwarmOptions=host.swarm, EngineOptions=host.engine, DockerVersion="Unknown",
                   ResponseTime=timeout)
    creating = os.path.exists(os.path.join(host.dir, CREATING_FILE))  # marked and not failed: still running
    return Row(Name=host.name, Active="", DriverName=host.driver_name,
               State="Starting" if creating else "Timeout", SwarmOptions=host.swarm, EngineOptions=host.engine,
               ResponseTime=timeout)


def active_mark(host: Host, running: bool, url: str, docker_host: str) -> str:
    """ls's ACTIVE mark as docker-machine sets it: "*" when DOCKER_HOST is the running machine's engine, "* (swarm)"
    when it is its classic Swarm master's port, else ""."""
    if not (running and url):
        return ""
    if url == docker_host:
        return "*"
    if host.swarm.get("Master"):
        from urllib.parse import urlparse

        port = urlparse(host.swarm.get("Host") or DEFAULT_SWARM_HOST).port or 3376
        if f"tcp://{urlparse(url).hostname}:{port}" == docker_host:
            return "* (swarm)"
    return ""


def active_at_once(hosts: list[Host], docker_host: str) -> str:
    """`active` over machines whose drivers answer from their records (none): the active one's name, or "". None
    of them can read Timeout, so this is what the whole listing would find, without an event loop or a TLS check."""
    from ..drivers import driver_for
    from ..states import State

    for host in sorted(hosts, key=lambda h: natural_key(h.name)):
        driver = driver_for(host)
        try:
            url = _at_once(driver.get_url())
        except MachineError:
            url = ""
        try:
            running = bool(url) or _at_once(driver.state()) == State.RUNNING
        except MachineError:
            running = False
        if active_mark(host, running, url, docker_host):
            return host.name
    return ""


def _at_once(coro: Any) -> Any:
    """A coroutine that never waits, run to its end without a loop."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("a driver that answers at once waited")


def create_error_of(host: Host) -> str:
    return create_problem(host.dir)


async def list_machines(store: Store, timeout: float = 10.0, filters: dict[str, Any] | None = None,
                        docker_host: str | None = None, cloud_rows: CloudRows | None = None) -> list[Row]:
    import asyncio

    filters = filters or {}
    hosts, broken, masters_by_disc = _listed(store, filters)
    if "state" in filters:
        states = await asyncio.gather(*(_cheap_state(h) for h in hosts))
        hosts = [h for h, s in zip(hosts, states, strict=True) if any(v.lower() == s.lower() for v in filters["state"])]
    if docker_host is None:
        docker_host = os.environ.get("DOCKER_HOST", "")
    kept: list[Row] = []
    if cloud_rows is not None:
        hosts, kept = cloud_rows.fresh(hosts)
    drivers = [driver_for(h) for h in hosts]
    await read_clouds_together(drivers, timeout)
    rows = list(await asyncio.gather(*(query_host(h, timeout, docker_host, masters_by_disc, d)
                                       for h, d in zip(hosts, drivers, strict=True))))
    if cloud_rows is not None:
        cloud_rows.keep(rows, hosts, drivers)
    rows += kept
    rows.sort(key=lambda r: natural_key(r.Name))
    return rows + broken


def _listed(store: Store, filters: dict[str, Any]) -> tuple[list[Host], list[Row], dict[Any, str]]:
    """The machines `ls` shows before asking any of them (the filters that need no answer applied), the lines of
    those that cannot be read, and each classic Swarm discovery's master."""
    hosts, broken = load_all(store)
    masters = {h.name.lower(): h.swarm.get("Discovery") for h in hosts if h.swarm.get("Master")}
    masters_by_disc = {h.swarm.get("Discovery"): h.name for h in hosts if h.swarm.get("Master")}
    return [h for h in hosts if _matches_static(h, filters, masters)], broken, masters_by_disc


def list_machines_at_once(store: Store, timeout: float = 10.0, filters: dict[str, Any] | None = None,
                          docker_host: str | None = None) -> list[Row] | None:
    """`ls` where every machine's driver answers from its record (none): no event loop (asyncio is most of a short
    listing's start), the engines asked on blocking sockets, several in threads. None when some machine must be
    asked through the loop (list_machines)."""
    from ..drivers import DRIVERS, driver_class

    filters = filters or {}
    if timeout <= 0 or "state" in filters:
        return None
    hosts, broken, masters_by_disc = _listed(store, filters)
    if not all(h.driver_name in DRIVERS and driver_class(h.driver_name).answers_at_once for h in hosts):
        return None
    if docker_host is None:
        docker_host = os.environ.get("DOCKER_HOST", "")
    rows: list[Row] = []
    if len(hosts) <= 1:
        rows = [query_host_now(h, timeout, docker_host, masters_by_disc) for h in hosts]
    else:
        # plain threads, not the engine's ThreadPoolExecutor: concurrent.futures brings logging into a quick command
        import threading

        from ..engine import IN_FLIGHT

        found: dict[int, Row] = {}
        todo = list(enumerate(hosts))
        lock = threading.Lock()

        def work() -> None:
            while True:
                with lock:
                    if not todo:
                        return
                    i, host = todo.pop()
                found[i] = query_host_now(host, timeout, docker_host, masters_by_disc)

        workers = [threading.Thread(target=work, daemon=True) for _ in range(min(IN_FLIGHT, len(hosts)))]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        rows = [found[i] for i in range(len(hosts))]
    rows.sort(key=lambda r: natural_key(r.Name))
    return rows + broken


async def read_clouds_together(drivers: list[Driver], timeout: float) -> None:
    """One listing call per cloud account and region for all of its machines (10 EC2 machines: 1 request, not
    20); a listing that fails leaves each machine to ask on its own, and say its own error."""
    import asyncio

    from ..drivers.cloud import CloudDriver

    groups: dict[tuple[Any, ...], list[CloudDriver]] = {}
    for driver in drivers:
        if isinstance(driver, CloudDriver):
            shared = driver.shared_reads()
            if shared:
                groups.setdefault((type(driver), *shared), []).append(driver)

    async def read(group: list[CloudDriver]) -> None:
        try:
            await wait_for(type(group[0]).read_together(group), timeout)
        except Exception:  # noqa: BLE001 - each machine then asks on its own
            from ..logfile import get_logger  # here: `ls -q` never loads logging

            get_logger().debug("reading %d machines together failed", len(group), exc_info=True)

    await asyncio.gather(*(read(g) for g in groups.values()))


class CloudRows:
    """The app's rows of cloud machines, kept between polls: a cloud is asked at most every `every` seconds (its
    API counts requests per hour), local machines at every poll."""

    def __init__(self, every: float = 30.0):
        self.every = every
        self._rows: dict[str, tuple[float, float, Row]] = {}  # name -> (when asked again, config.json's mtime, row)

    def clear(self) -> None:
        self._rows.clear()

    def forget(self, name: str) -> None:
        self._rows.pop(name, None)

    def next_read(self, name: str) -> float:
        """Seconds until the machine's cloud is asked again (0: at the next poll)."""
        seen = self._rows.get(name)
        return max(0.0, seen[0] - time.monotonic()) if seen else 0.0

    def fresh(self, hosts: list[Host]) -> tuple[list[Host], list[Row]]:
        """(hosts to ask now, rows kept for the others)."""
        now = time.monotonic()
        ask, kept = [], []
        for host in hosts:
            seen = self._rows.get(host.name)
            if seen and now < seen[0] and seen[1] == _mtime(host):
                kept.append(seen[2])
            else:
                ask.append(host)
        return ask, kept

    def keep(self, rows: list[Row], hosts: list[Host], drivers: list[Driver]) -> None:
        from ..drivers.cloud import CloudDriver

        now = time.monotonic()
        by_name = {r.Name: r for r in rows}
        for host, driver in zip(hosts, drivers, strict=True):
            row = by_name.get(host.name)
            if isinstance(driver, CloudDriver) and row is not None and row.State in ("Running", "Stopped"):
                every = max(self.every, driver.poll_every())
                self._rows[host.name] = (now + every, _mtime(host), row)
            else:
                self._rows.pop(host.name, None)  # changing (Starting, Error, Timeout): asked again at the next poll


def _mtime(host: Host) -> float:
    try:
        return os.stat(os.path.join(host.dir, "config.json")).st_mtime
    except OSError:
        return 0.0



async def _cheap_state(host: Host) -> str:

    if create_error_of(host):
        return "Error"
    try:
        return str(await wait_for(driver_for(host).state(), 10))
    except Exception:  # noqa: BLE001 - a damaged config (a bad URL...) is this machine's Error, not the listing's
        return "Error"


def quiet_names(store: Store, filters: dict[str, Any] | None = None) -> list[str]:
    """ls -q: names only; with no state filter no host is contacted."""
    filters = filters or {}
    if "state" in filters:
        import asyncio

        rows = asyncio.run(list_machines(store, 10.0, filters))
        return [r.Name for r in rows if not r.broken]
    return [h.name for h in _listed(store, filters)[0]]


DEFAULT_LS_FORMAT = (
    "table {{ .Name }}\t{{ .Active }}\t{{ .DriverName}}\t{{ .State }}\t{{ .URL }}\t{{ .Swarm }}\t"
    "{{ .DockerVersion }}\t{{ .Error}}"
)

HEADER = {
    "Name": "NAME", "Active": "ACTIVE", "ActiveHost": "ACTIVE_HOST", "ActiveSwarm": "ACTIVE_SWARM",
    "DriverName": "DRIVER", "State": "STATE", "URL": "URL", "SwarmOptions": "SWARM_OPTIONS", "Swarm": "SWARM",
    "EngineOptions": "ENGINE_OPTIONS", "Error": "ERRORS", "DockerVersion": "DOCKER", "ResponseTime": "RESPONSE",
}


def render(rows: list[Row], fmt: str = "") -> str:
    """Format rows as docker-machine does: Go template, `table` prefix adds a header, tabwriter aligns."""
    from ..gotemplate import Template
    from ..tabwriter import tabwrite

    fmt = (fmt or DEFAULT_LS_FORMAT).strip()
    fmt = fmt.replace("\\t", "\t").replace("\\n", "\n")
    table = fmt.startswith("table")
    if table:
        fmt = fmt[len("table"):].lstrip()
    tpl = Template(fmt, funcs={})  # ls templates have no functions, as in docker-machine
    lines = []
    if table:
        lines.append(tpl.execute(HEADER))
    for row in rows:
        lines.append(tpl.execute(row.template_data()))
    text = "\n".join(lines) + "\n"
    return tabwrite(text, minwidth=5, tabwidth=1, padding=3, padchar=" ")


def swarm_mode_of(host: Host) -> str:
    """The Swarm-mode cluster and role the store recorded for the machine ("sw1 (manager)"), or ""."""
    mode = (host.doc.get("HostOptions") or {}).get("SwarmMode") or {}
    role, cluster = mode.get("Role"), mode.get("Cluster")
    return f"{cluster} ({role})" if role and cluster else ""
