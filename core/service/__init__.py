"""Machines: the application service, the one door from a front end (the CLI, the app) into the engine.

Each use case a user has is one method here, with its store effects, so the CLI and the app cannot drift apart.
The models are docker-machine's `libmachine.API` and `runAction` in its commands/commands.go: load the machine, run,
save the driver's state once, whatever the outcome."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

from ..errors import MachineError

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    from typing import Any

    from ..events import Reporter
    from ..hostconfig import Host
    from ..operations import TLSFiles
    from ..store import Store
    from .listing import CloudRows, Row


def tls_files(ca_cert: str = "", ca_key: str = "", client_cert: str = "", client_key: str = "") -> TLSFiles:
    """The certificates a create is told to use instead of the store's (the global --tls-* options)."""
    from ..operations import TLSFiles

    return TLSFiles(ca_cert, ca_key, client_cert, client_key)


def cluster_plan(prefix: str, managers: int, workers: int, options: dict[str, Any],
                 explicit: set[str]) -> list[tuple[str, dict[str, Any], set[str]]]:
    """The members of a Swarm-mode cluster as creates: (name, options, the options given), PREFIX1 first."""
    if managers < 1 or workers < 0:
        raise MachineError("a swarm needs at least one manager (and no fewer than 0 workers)")
    names = [f"{prefix}{i}" for i in range(1, managers + workers + 1)]
    plan = []
    for i, name in enumerate(names):
        swarm = {"swarm-mode": "manager" if i < managers else "worker"} | ({"swarm-mode-join": names[0]} if i else {})
        plan.append((name, {**options, **swarm}, set(explicit) | set(swarm)))
    return plan


class Machines:
    """The machines of one store, and everything a user does to them."""

    def __init__(self, store: Store | None = None):
        if store is None:
            from ..store import Store

            store = Store()
        self.store = store

    # ----- reading
    def load(self, name: str) -> Host:
        return self.store.load(name)

    def exists(self, name: str) -> bool:
        return self.store.exists(name)

    def answers_at_once(self, *names: str) -> bool:
        """Whether each machine's driver answers its URL, IP and state from its record, waiting on nothing."""
        from ..drivers import DRIVERS, driver_class

        try:
            hosts = [self.load(name) for name in names]
            return bool(hosts) and all(h.driver_name in DRIVERS and driver_class(h.driver_name).answers_at_once
                                       for h in hosts)
        except MachineError:
            return False  # said by the command itself

    def active_at_once(self) -> str | None:
        """`active` without an event loop where every machine answers from its record: the active machine's name,
        "" for none; None when some machine must be asked (run the listing)."""
        from .listing import active_at_once

        names = self.store.list_names()
        if not self.answers_at_once(*names):
            return None
        return active_at_once([self.load(name) for name in names], os.environ.get("DOCKER_HOST", ""))

    async def listing(self, timeout: float = 10.0, filters: dict[str, Any] | None = None,
                   docker_host: str | None = None, cloud_rows: CloudRows | None = None) -> list[Row]:
        from .listing import list_machines

        return await list_machines(self.store, timeout, filters, docker_host, cloud_rows)

    async def url(self, name: str) -> str:
        """The engine's URL (docker-machine's `url`): HostNotRunning when the machine is not running."""
        from ..reach import machine_url

        return await machine_url(self.load(name))

    async def docker_version(self, name: str) -> str:
        """The version of the machine's Docker Engine, asked over its TLS."""
        from ..engine import docker_version

        host = self.load(name)
        try:
            url = await self.url(name)
            auth = host.auth
            info = await docker_version(url, auth.get("CaCertPath", ""), auth.get("ClientCertPath", ""),
                                        auth.get("ClientKeyPath", ""))
        except MachineError as err:
            raise MachineError(f"Unable to query docker version: {err}") from None
        return str(info.get("Version", ""))

    def details(self, name: str) -> list[tuple[str, str]]:
        from .access import machine_details

        return machine_details(self.load(name))

    # ----- verbs (start, stop, kill, restart, provision, regenerate-certs, upgrade)
    async def run_verb(self, verb_name: str, name: str, report: Reporter,
                       options: dict[str, Any] | None = None) -> None:
        """One verb on one machine: load, run, then save the driver's state once whatever happened (a driver may
        have learned a new address or port even from a verb that failed), under the machine's lock."""
        from ..verbs import verb

        host = self.load(name)
        try:
            await verb(verb_name)(self.store, host, report, options)
        finally:
            self._save_driver_state(host)

    async def run_verb_on_many(self, verb_name: str, names: list[str], report_for: Callable[[str], Reporter],
                               options: dict[str, Any] | None = None, parallel: int = 0) -> dict[str, str]:
        """The verb on every named machine at once (at most `parallel` at a time when given); each machine's error,
        by name (one machine's failure never stops the others)."""
        missing = []
        for name in names:  # a machine that cannot be loaded is refused before anything runs, each one said
            try:
                self.load(name)
            except MachineError as err:
                missing.append(str(err))
        if missing:
            raise MachineError("\n".join(missing))
        import asyncio  # here: the quick commands that load the service never start a loop

        gate: Any = asyncio.Semaphore(parallel) if parallel > 0 else contextlib.nullcontext()
        errors: dict[str, str] = {}

        async def one(name: str) -> None:
            try:
                async with gate:
                    await self.run_verb(verb_name, name, report_for(name), options)
            except MachineError as err:
                errors[name] = str(err)

        await asyncio.gather(*(one(n) for n in names))
        return errors

    def _save_driver_state(self, host: Host) -> None:
        with contextlib.suppress(MachineError, OSError):  # the machine removed meanwhile: nothing to keep
            self.store.update(host.name, lambda fresh: fresh.doc.update(Driver=host.doc["Driver"]))

    # ----- create and remove
    async def create(self, name: str, driver_name: str, options: dict[str, Any], report: Reporter,
                     tls: TLSFiles | None = None, context: bool = True, explicit: set[str] | None = None,
                     say: Callable[[str], None] | None = None, prog: str = "machine-tui") -> Host:
        """One machine. Cancelled (Ctrl-C, SIGTERM, SIGHUP, the app's `z`), it removes what it made before it ends,
        telling `say` what it does."""
        import asyncio

        from .. import operations
        from . import swarm

        mode, join = swarm.requested_mode(self.store, options)
        try:
            host = await operations.create(self.store, name, driver_name, options, report, tls, context=context,
                                           explicit=explicit)
            if mode:
                await swarm.make_member(self.store, name, mode, join, report)
            return host
        except asyncio.CancelledError:
            await asyncio.shield(self.discard_interrupted_create(name, say, prog))
            raise

    async def create_many(self, names: list[str], driver_name: str, options: dict[str, Any],
                          report_for: Callable[[str], Reporter], finished: Callable[[str, str], None],
                          parallel: int = 4, tls: TLSFiles | None = None, context: bool = True,
                          explicit: set[str] | None = None, say: Callable[[str], None] | None = None,
                          prog: str = "machine-tui") -> dict[str, str]:
        """A batch: `parallel` creates at a time, each told to `finished(name, error)`; the failures by name."""
        import asyncio

        gate = asyncio.Semaphore(max(1, parallel))
        failures: dict[str, str] = {}

        async def one(name: str) -> None:
            async with gate:
                try:
                    await self.create(name, driver_name, dict(options), report_for(name), tls, context,
                                      set(explicit) if explicit is not None else None, say, prog)
                    finished(name, "")
                except MachineError as err:
                    failures[name] = str(err)
                    finished(name, str(err))

        await asyncio.gather(*(one(n) for n in names))
        return failures

    async def create_cluster(self, prefix: str, driver_name: str, options: dict[str, Any], managers: int,
                             workers: int, report_for: Callable[[str], Reporter],
                             finished: Callable[[str, str], None], parallel: int = 4, tls: TLSFiles | None = None,
                             context: bool = True, explicit: set[str] | None = None,
                             say: Callable[[str], None] | None = None, prog: str = "machine-tui") -> dict[str, str]:
        """A Swarm-mode cluster (PREFIX1 the first manager, then the other managers and the workers joining it): the
        first is made alone; if it fails, no other is made. The failures by name."""
        import asyncio

        plan = cluster_plan(prefix, managers, workers, options, explicit or set())
        (first, first_options, first_explicit), rest = plan[0], plan[1:]
        failures: dict[str, str] = {}
        try:
            await self.create(first, driver_name, first_options, report_for(first), tls, context, first_explicit,
                              say, prog)
            finished(first, "")
        except MachineError as err:
            failures[first] = str(err)
            finished(first, str(err))
            for name, _, _ in rest:
                failures[name] = f"not created: {first} did not become the swarm's manager"
                finished(name, failures[name])
            return failures
        gate = asyncio.Semaphore(max(1, parallel))

        async def one(name: str, member_options: dict[str, Any], member_explicit: set[str]) -> None:
            async with gate:  # the joins go one after the other inside the manager's engine anyway
                try:
                    await self.create(name, driver_name, member_options, report_for(name), tls, context,
                                      member_explicit, say, prog)
                    finished(name, "")
                except MachineError as err:
                    failures[name] = str(err)
                    finished(name, str(err))

        await asyncio.gather(*(one(*member) for member in rest))
        return failures

    async def discard_interrupted_create(self, name: str, say: Callable[[str], None] | None = None,
                                         prog: str = "machine-tui") -> bool:
        """Remove what an interrupted create made (its cloud resources, its folder), saying so either way; True when
        nothing of it is left."""
        from .. import operations
        from ..events import Reporter

        tell = say or (lambda line: None)
        if not self.store.exists(name):
            return True
        tell(f"Interrupted: removing {name} and what its create made...")
        try:
            await operations.remove(self.store, name, True, Reporter())
        except (MachineError, OSError) as err:
            tell(f"{name} was not removed ({err}): {prog} rm -f {name} removes it")
            return False
        tell(f"Removed {name}: nothing of it is left")
        return True

    async def remove(self, name: str, force: bool, report: Reporter) -> None:
        from .. import operations

        await operations.remove(self.store, name, force, report)

    # ----- connecting a docker client
    async def env(self, name: str, shell: str = "", swarm: bool = False, no_proxy: bool = False,
                  prog: str = "machine-tui", argv: list[str] | None = None, at_once: bool = False) -> str:
        """The shell lines that point a docker client at the machine, after a TLS check of its engine; the shell is
        the user's own unless named (the app and the CLI print the same lines)."""
        from ..reach import checked_url
        from . import shellenv

        try:
            shell = shellenv.detect_shell(shell)
        except shellenv.UnknownShell:  # no $SHELL (the app under a service manager): bash, as for unknown shells
            shell = "bash"
        host = self.load(name)
        try:
            url = await checked_url(host, swarm, prog=prog, at_once=at_once)
        except MachineError as err:
            raise MachineError(f"Error checking TLS connection: {err}") from None
        ip = None
        if no_proxy:
            from .access import machine_ip

            ip = await machine_ip(host)
        values = shellenv.docker_env(url, host.auth.get("StorePath") or host.dir, host.name, ip, no_proxy)
        return shellenv.render_set(shell, values, argv or [prog, "env", name])

    async def docker_flags(self, name: str, swarm: bool = False, prog: str = "machine-tui",
                           at_once: bool = False) -> str:
        """`config`: the docker client's TLS flags for the machine, after the same check."""
        from ..reach import checked_url

        host = self.load(name)
        try:
            url = await checked_url(host, swarm, prog=prog, at_once=at_once)
        except MachineError as err:
            raise MachineError(f"Error running connection boilerplate: {err}") from None
        folder = host.auth.get("StorePath") or host.dir
        return (f'--tlsverify\n--tlscacert="{os.path.join(folder, "ca.pem")}"\n'
                f'--tlscert="{os.path.join(folder, "cert.pem")}"\n--tlskey="{os.path.join(folder, "key.pem")}"\n'
                f"-H={url}\n")
