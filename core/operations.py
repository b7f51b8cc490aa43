"""What a user can do to machines, as async operations over the store and the drivers.

Every operation reports through a Reporter; the CLI prints the events, the TUI draws them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
from dataclasses import dataclass
from typing import Any

from . import hostconfig
from .drivers import Driver, State, driver_class, driver_for
from .drivers.cloud import CloudDriver, WrongAccount
from .errors import MachineError, MachineExists, PreCreateError, RemoveFailed, describe_os_error, printable
from .events import EventKind, Reporter
from .hostconfig import Host
from .reach import checked_url, machine_url, wait_for_state  # noqa: F401 - the verbs' own words
from .store import Store


@dataclass
class TLSFiles:
    ca_cert: str = ""
    ca_key: str = ""
    client_cert: str = ""
    client_key: str = ""


async def reprovision(store: Store, host: Host, report: Reporter, client_certs: bool = False) -> None:
    """provision / regenerate-certs: takes over from a failed or interrupted create. Until it succeeds the
    machine reads Error with what failed (its own failure replaces the create's)."""
    from .provisioning import provision

    store.clear_create_marks(host.name)
    if client_certs:
        from . import certs

        a = host.auth
        certs.regenerate_client(a["CaCertPath"], a["CaPrivateKeyPath"], a["ClientCertPath"], a["ClientKeyPath"],
                                report.info)
    try:
        await provision(store, host, driver_for(host), report)
    except MachineError as err:
        store.record_create_error(host.name, f"Error provisioning: {err}")
        raise
    store.clear_create_marks(host.name)


async def provision(store: Store, host: Host, report: Reporter, options: dict[str, Any] | None = None) -> None:
    await reprovision(store, host, report)


async def regenerate_certs(store: Store, host: Host, report: Reporter, options: dict[str, Any] | None = None) -> None:
    await reprovision(store, host, report, bool((options or {}).get("client-certs")))


async def upgrade(store: Store, host: Host, report: Reporter, options: dict[str, Any] | None = None) -> None:
    from .provisioning import upgrade as upgrade_docker

    await upgrade_docker(host, driver_for(host), report)


def _tracking_steps(store: Store, name: str, report: Reporter) -> Reporter:
    """The same reporter, also writing each step into the machine's create mark (what a kill leaves behind)."""
    outer = report._sink

    def sink(event: Any) -> None:
        if event.kind == EventKind.STEP and store.exists(name):
            store.mark_create_step(name, (event.message or event.step).rstrip(". "))
        if outer is not None:
            outer(event)

    tracked = Reporter(sink, report.machine)
    tracked.events = report.events
    return tracked


def build_host(store: Store, name: str, driver_name: str, opts: dict[str, Any], tls: TLSFiles,
               explicit: set[str] | None = None) -> tuple[Host, Driver]:
    """Validate everything a create needs before anything is written (bad input writes nothing).

    Like docker-machine, a driver sees its own flags' values but shared flags only when given
    explicitly (so a generic machine keeps SwarmHost "" unless --swarm-host was passed)."""
    if hostconfig.invalid_name_message(name):
        raise MachineError("Error creating machine: " + hostconfig.invalid_name_message(name))
    if store.exists(name):
        raise MachineExists(name)
    in_the_way = store.machine_dir(name)
    if os.path.lexists(in_the_way):  # a file or a dangling link: no machine, yet it holds the name
        raise MachineError(f"Error creating machine: {in_the_way} is in the way: it is not a machine folder "
                           "(move it out of the store, then create again)")
    cls = driver_class(driver_name)
    cls.check_needs()
    config = cls.new_config(name, store.path)
    driver = cls(config)
    own = {f.name for f in cls.flags}
    for flag in cls.flags:
        problem = flag.problem(opts.get(flag.name))
        if problem:
            came_from = f" (from ${flag.env})" if flag.env and explicit is not None and flag.name not in explicit \
                and os.environ.get(flag.env) else ""
            raise MachineError(f"Error setting machine configuration from flags provided: {problem}{came_from}")
    driver_opts = {k: v for k, v in opts.items() if k in own or explicit is None or k in explicit}
    driver.flags_given = explicit
    try:
        driver.set_config_from_flags(driver_opts)
    except MachineError as err:
        raise MachineError(f"Error setting machine configuration from flags provided: {err}") from None
    discovery = opts.get("swarm-discovery", "")
    if discovery and not re.match(r"^[^:]*://.*", discovery):
        raise MachineError(
            f"Error parsing swarm discovery: Swarm Discovery URL was in the wrong format: {discovery}"
        )
    engine = hostconfig.engine_options(
        arbitrary_flags=opts.get("engine-opt"),
        env=opts.get("engine-env"),
        insecure_registry=opts.get("engine-insecure-registry"),
        labels=opts.get("engine-label"),
        storage_driver=opts.get("engine-storage-driver", ""),
        registry_mirror=opts.get("engine-registry-mirror"),
        install_url=opts.get("engine-install-url", hostconfig.DEFAULT_INSTALL_URL),
    )
    swarm = hostconfig.swarm_options(
        agent=opts.get("swarm", False),
        master=opts.get("swarm-master", False),
        address=opts.get("swarm-addr", ""),
        discovery=discovery,
        host=opts.get("swarm-host", hostconfig.DEFAULT_SWARM_HOST),
        image=opts.get("swarm-image", hostconfig.DEFAULT_SWARM_IMAGE),
        strategy=opts.get("swarm-strategy", "spread"),
        arbitrary_flags=opts.get("swarm-opt"),
        arbitrary_join_flags=opts.get("swarm-join-opt"),
        experimental=opts.get("swarm-experimental", False),
    )
    for option, path in (("--tls-ca-cert", tls.ca_cert), ("--tls-ca-key", tls.ca_key),
                         ("--tls-client-cert", tls.client_cert), ("--tls-client-key", tls.client_key)):
        # files the user names are used, never made: certificates are only ever made in the store's certs folder
        if path and not os.path.isfile(path):
            raise MachineError(f"Error creating machine: {option} {path}: no such file")
    auth = hostconfig.auth_options(
        store.path, name, ca_cert=tls.ca_cert, ca_key=tls.ca_key, client_cert=tls.client_cert,
        client_key=tls.client_key, sans=opts.get("tls-san"),
    )
    doc = hostconfig.new_host(name, driver_name, config, engine, swarm, auth)
    return Host(name, doc, store.machine_dir(name)), driver


async def create(store: Store, name: str, driver_name: str, opts: dict[str, Any], report: Reporter,
                 tls: TLSFiles | None = None, context: bool = True, explicit: set[str] | None = None) -> Host:
    host, driver = build_host(store, name, driver_name, opts, tls or TLSFiles(), explicit)
    try:
        await driver.configure()
    except MachineError as err:
        raise MachineError(f"Error setting machine configuration from flags provided: {err}") from None
    auth = host.auth
    from . import certs  # cryptography is heavy: only commands that make certificates import it

    certs.bootstrap(auth["CaCertPath"], auth["CaPrivateKeyPath"], auth["ClientCertPath"], auth["ClientKeyPath"],
                    report.info)
    report.step("precreate", "Running pre-create checks...")
    try:
        await driver.pre_create_check()
    except PreCreateError:
        raise
    except MachineError as err:
        raise PreCreateError(f'Error with pre-create check: "{err}"') from None
    report.done("precreate")
    store.create_machine_dir(name, "Creating machine")  # refuses a name a concurrent create took
    report = _tracking_steps(store, name, report)
    try:
        if isinstance(driver, CloudDriver):  # each id the cloud returns is in config.json before anything waits
            driver.keep_journal(store.identity(), lambda: store.save(host))
        store.save(host)
        if driver.provisions:
            from .provisioning.seed import make_seed

            driver.seed_engine = functools.partial(make_seed, host)
        report.step("create", "Creating machine...")
        await driver.create(report)
        store.save(host)
        report.done("create")
        if driver.provisions:
            from .provisioning import provision_new_machine

            await provision_new_machine(store, host, driver, report, context=context, seed=driver.engine_seed)
            store.save(host)
    except (MachineError, OSError) as err:
        text = str(err) if isinstance(err, MachineError) else describe_os_error(err)
        msg = f"Error creating machine: {text}"
        gone = await driver.why_down()
        if gone and gone not in msg:
            msg += f" ({gone})"
        store.record_create_error(name, msg)
        with contextlib.suppress(MachineError, OSError):
            store.save(host)
        raise MachineError(msg) from None
    except asyncio.CancelledError:
        store.record_create_error(name, "Error creating machine: cancelled")
        with contextlib.suppress(MachineError, OSError):
            store.save(host)
        raise
    store.clear_create_marks(name)
    return host


async def remove(store: Store, name: str, force: bool, report: Reporter) -> None:
    """Remove the machine's resources through its driver, then its folder (with force: whatever happens).
    Only a name the store accepts is ever turned into a path, and only the store's own folder is removed."""
    shown = printable(name)
    try:
        host = store.load(name)
        driver = driver_for(host)
        if isinstance(driver, CloudDriver):
            await driver.check_account()  # another account's credentials: touch nothing, not even with -f
        await driver.remove()
        if isinstance(driver, CloudDriver):
            left = await driver.sweep()  # what the tags still find: a create killed before its journal was written
            if left:
                raise MachineError("; ".join(left))
        from .dockercontext import remove_context

        await remove_context(name, report)
    except WrongAccount as err:  # an error even with -f: the record is all that finds the instance again
        raise RemoveFailed(f'Error removing host "{shown}": {err}') from None
    except MachineError as err:
        if not force:
            raise MachineError(f'Error removing host "{shown}": {err}') from None
        report.error(f'Error removing host "{shown}": {err}')
        if not store.exists(name):
            raise MachineError(f'Can\'t remove "{shown}"') from None
    except OSError as err:
        if not force:
            raise MachineError(f'Error removing host "{shown}": {describe_os_error(err)}') from None
        report.error(f'Error removing host "{shown}": {describe_os_error(err)}')
    try:
        store.remove(name)
    except MachineError as err:
        raise RemoveFailed(f'Error removing host "{shown}": {err}') from None
    except OSError as err:
        raise RemoveFailed(f'Error removing host "{shown}": {describe_os_error(err)}') from None
    report.info(f"Successfully removed {shown}")




async def start(store: Store, host: Host, report: Reporter, options: dict[str, Any] | None = None) -> None:
    driver = driver_for(host)
    report.info(f'Starting "{host.name}"...')
    if await driver.state() == State.RUNNING:
        raise MachineError(f'Machine "{host.name}" is already running.')
    await driver.start()
    await wait_for_state(driver, State.RUNNING)
    report.info(f'Machine "{host.name}" was started.')
    if driver.provisions:
        from .provisioning import wait_for_docker

        await wait_for_docker(host, driver, report)


async def _power_off(host: Host, report: Reporter, doing: str, done: str, driver_call: Any) -> None:
    driver = driver_for(host)
    report.info(f'{doing} "{host.name}"...')
    if driver.name != "none" and await driver.state() == State.STOPPED:
        raise MachineError(f'Machine "{host.name}" is already stopped.')
    await driver_call(driver)
    await wait_for_state(driver, State.STOPPED, report=report)
    report.info(f'Machine "{host.name}" was {done}.')


async def stop(store: Store, host: Host, report: Reporter, options: dict[str, Any] | None = None) -> None:
    await _power_off(host, report, "Stopping", "stopped", lambda d: d.stop())


async def kill(store: Store, host: Host, report: Reporter, options: dict[str, Any] | None = None) -> None:
    await _power_off(host, report, "Killing", "killed", lambda d: d.kill())


async def restart(store: Store, host: Host, report: Reporter, options: dict[str, Any] | None = None) -> None:
    driver = driver_for(host)
    report.info(f'Restarting "{host.name}"...')
    if driver.name != "none" and await driver.state() == State.STOPPED:
        await driver.start()
    else:
        await driver.restart()
        await asyncio.sleep(2)  # a rebooting host keeps answering for a moment
    await wait_for_state(driver, State.RUNNING, report=report)
    if driver.provisions:
        from .provisioning import wait_for_docker

        await wait_for_docker(host, driver, report)
