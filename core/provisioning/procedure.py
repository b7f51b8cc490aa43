"""The provisioning procedure: the steps that take a host with SSH to a Docker Engine reachable over TLS."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shlex
import shutil
from typing import TYPE_CHECKING

from ..errors import MachineError
from ..events import Reporter
from ..hostconfig import Host
from .base import SBIN, Provisioner
from .commander import Commander
from .detect import detect
from .engineconfig import UNIT_EXECSTART, engine_port, unit_extras_from
from .seed import EngineSeed, digests, make_server_cert

if TYPE_CHECKING:
    from ..drivers import Driver
    from ..store import Store


STEP_NAMES = {"detect": "detecting the OS", "hostname": "setting the hostname", "install": "installing Docker",
              "certs": "installing the TLS certificates and engine options", "restart": "starting Docker",
              "listen": "waiting for Docker to listen"}


async def provision(store: Store, host: Host, driver: Driver, report: Reporter, context: bool = True,
                    seed: EngineSeed | None = None) -> None:
    """Provision, and on failure say which step failed (and mark that step failed for the progress view).
    `seed`: what the machine's image applied at its first boot; if it took, Docker is checked, not restarted."""
    try:
        await _provision(store, host, driver, report, context, seed)
    except MachineError as err:
        step = report.current_step
        if step:
            report.failed(step, str(err))
        if step in STEP_NAMES:
            raise MachineError(f"{STEP_NAMES[step]}: {err}") from None
        raise


async def _provision(store: Store, host: Host, driver: Driver, report: Reporter, context: bool,
                     seed: EngineSeed | None) -> None:
    from .. import ssh
    from ..reach import checked_url, machine_url

    report.step("ssh", "Waiting for SSH to be available...")
    conn = await ssh.wait_for_ssh(driver, report)
    await driver.prepare_host(conn, report)
    report.done("ssh")
    report.step("detect", "Detecting the provisioner...")
    prov = await detect(conn, report)
    report.info(f"Provisioning with {prov.name}...")
    report.done("detect")

    report.step("hostname", "Setting the hostname...")
    probe = conn.run(
        f"{SBIN}command -v dockerd || true; echo ---; command -v docker || true; echo ---; {UNIT_EXECSTART} || true",
        timeout=60, check=False)
    _, found = await asyncio.gather(prov.set_hostname(host.name), probe)
    report.done("hostname")
    dockerd, docker_cli, execstart = (part.strip() for part in (found.stdout.split("---") + ["", ""])[:3])

    report.step("install", "Installing Docker...")
    if dockerd or docker_cli:
        report.info("Docker is already installed: skipping the install")
    else:
        await install_docker(conn, prov, host, report)
        found = await conn.run(f"{SBIN}command -v dockerd || true; echo ---; {UNIT_EXECSTART} || true", check=False)
        dockerd, execstart = (part.strip() for part in (found.stdout.split("---") + [""])[:2])
    if not dockerd:
        raise MachineError("Error running provisioning: Docker is installed but dockerd was not found on the host")
    report.done("install")

    report.step("certs", "Copying certs to the local machine directory...")
    ip = await driver.get_ip()
    url = await machine_url(host)
    port = engine_port(url)
    a = host.auth
    mdir = a.get("StorePath") or host.dir
    for src, dst in ((a["CaCertPath"], "ca.pem"), (a["ClientCertPath"], "cert.pem"), (a["ClientKeyPath"], "key.pem")):
        shutil.copyfile(src, os.path.join(mdir, dst))
        os.chmod(os.path.join(mdir, dst), 0o600 if dst == "key.pem" else 0o644)
    if seed is None:  # a seeded machine booted with the server certificate its create made
        await make_server_cert(host, ip)
    conf = prov.engine_config(host, host.driver_name, dockerd, port, unit_extras_from(execstart))
    d = prov.docker_dir
    seeded = seed is not None and await _seed_applied(conn, seed, prov.config_path, conf)
    if seeded:
        report.info("Docker was configured at boot with these certs and options: checking it...")
    else:
        report.info("Copying certs to the remote machine...")
        report.info("Setting Docker configuration on the remote daemon...")
        await asyncio.gather(
            conn.write_file(f"{d}/ca.pem", _read(a["CaCertPath"])),
            conn.write_file(f"{d}/server.pem", _read(a["ServerCertPath"])),
            conn.write_file(f"{d}/server-key.pem", _read(a["ServerKeyPath"]), mode="0600"),
            conn.write_file(prov.config_path, conf),
        )
    report.done("certs")

    if not (seeded and await _seeded_engine_listens(conn, port, report)):
        report.step("restart", "Starting Docker...")
        # beside the start, not after it: `systemctl enable` runs a SysV script's tools on Debian's docker.io (seconds
        # on a slow guest, 10 s under emulation) and needs nothing the start does
        enabling = asyncio.ensure_future(prov.enable())
        try:
            await prov.service("restart", report)
        finally:
            await enabling
        report.done("restart")
        await wait_for_port(conn, port, report)

    report.step("tlscheck", "Checking connection to Docker...")
    try:
        await checked_url(host)
    except MachineError as err:
        raise MachineError(f"Error checking the host: {err}") from None
    report.done("tlscheck")
    report.info("Docker is up and running!")
    if context:
        from ..dockercontext import sync_context

        await sync_context(host.name, url, mdir, report)


async def install_docker(conn: Commander, prov: Provisioner, host: Host, report: Reporter) -> None:
    url = host.engine.get("InstallURL") or ""
    if prov.install_from_packages:
        report.info(f"Installing {prov.install_from_packages} from the distribution's packages...")
        await conn.sudo(prov.package_install(prov.install_from_packages), timeout=900)
        return
    if url in ("", "none"):
        raise MachineError("Docker is not installed on the host and --engine-install-url is none")
    have_curl = (await conn.run("command -v curl", check=False)).exit_status == 0
    if not have_curl:
        report.info("Installing curl...")
        await conn.sudo(prov.package_install("curl"), timeout=900)
    try:
        await conn.sudo(f"curl -sSL {shlex.quote(url)} | sh -", timeout=1800)
    except MachineError as err:
        raise MachineError(f"error installing docker: {err}") from None


async def wait_for_port(conn: Commander, port: int, report: Reporter, tries: int = 10, delay: float = 3.0) -> None:
    report.step("listen", f"Waiting for Docker to listen on port {port}...")
    pattern = re.compile(rf":{port}\s+.*:.*")
    for attempt in range(1, tries + 1):
        out = (await conn.run("if ! type netstat >/dev/null 2>&1; then ss -tln; else netstat -tln; fi",
                              check=False, timeout=30)).stdout
        if any(pattern.search(line) for line in out.splitlines()):
            report.done("listen")
            return
        report.progress("listen", attempt / tries, f"Docker not listening on {port} yet ({attempt}/{tries})")
        await asyncio.sleep(delay)
    status = (await conn.sudo("systemctl status docker --no-pager -n 5 2>&1 | tail -5", check=False)).stdout
    raise MachineError(
        f"Unable to verify the Docker daemon is listening: Maximum number of retries ({tries}) exceeded. "
        f"{' '.join(status.split())[:300]}"
    )


async def _seed_applied(conn: Commander, seed: EngineSeed, conf_path: str, conf: str) -> bool:
    """The guest holds exactly the files provisioning would copy now, and Docker is enabled."""
    want = digests(seed.remote_certs())
    want[conf_path] = hashlib.sha256(conf.encode()).hexdigest()
    out = await conn.sudo("sha256sum " + " ".join(shlex.quote(p) for p in want) + " 2>/dev/null; "
                          "systemctl is-enabled docker.service 2>/dev/null", timeout=60, check=False)
    words = out.stdout.split()
    have = dict(zip(words[1::2], words[0::2], strict=False))
    return all(have.get(path) == digest for path, digest in want.items()) and "enabled" in words


async def _seeded_engine_listens(conn: Commander, port: int, report: Reporter, seconds: int = 60) -> bool:
    """Wait in the guest itself (one command, no round trip a poll) for the Docker the seed started; False if
    it failed or is not listening in time (provisioning then restarts it as on any host)."""
    report.step("listen", f"Waiting for Docker to listen on port {port}...")
    script = (f"for i in $(seq 1 {seconds * 4}); do ss -tln 2>/dev/null | grep -q ':{port}[[:space:]]' && exit 0; "
              "systemctl is-failed -q docker.service && exit 2; sleep 0.25; done; exit 1")
    out = await conn.sudo(script, timeout=seconds + 30, check=False)
    if out.exit_status == 0:
        report.done("listen")
        return True
    report.info("Docker did not come up from the seed: starting it as provisioning does...")
    return False


def _read(path: str) -> str:
    with open(path) as fh:
        return fh.read()


CLASSIC_SWARM_GONE = ("Classic Swarm (--swarm, --swarm-master, --swarm-discovery) ended in 2019: the flags are kept "
                      "in config.json and no Swarm container is started. Swarm mode does the job: --swarm-mode manager,"
                      " or --swarm-mode worker --swarm-mode-join MANAGER (or machine-tui swarm init/join)")


async def provision_new_machine(store: Store, host: Host, driver: Driver, report: Reporter,
                                context: bool = True, seed: EngineSeed | None = None) -> None:
    from ..reach import wait_for_state
    from ..states import State

    if host.swarm.get("IsSwarm") or host.swarm.get("Master"):
        report.warn(CLASSIC_SWARM_GONE)
    report.step("state", "Waiting for machine to be running, this may take a few minutes...")
    await wait_for_state(driver, State.RUNNING, report=report)
    report.done("state")
    report.info("Detecting operating system of created instance...")
    try:
        await provision(store, host, driver, report, context, seed)
    except MachineError as err:
        msg = str(err)
        if not msg.startswith(("Error", "error", "Too many")):
            msg = f"Error running provisioning: {msg}"
        raise MachineError(msg) from None


async def wait_for_docker(host: Host, driver: Driver, report: Reporter) -> None:
    from .. import ssh

    conn = await ssh.wait_for_ssh(driver, report)
    await wait_for_port(conn, engine_port(await driver.get_url()), report)


async def upgrade(host: Host, driver: Driver, report: Reporter) -> None:
    """Upgrade the package that holds dockerd, then restart Docker (starting the machine first if need be)."""
    from .. import ssh
    from ..states import State

    if await driver.state() != State.RUNNING:
        report.info("Starting machine so machine can be upgraded...")
        await driver.start()
    conn = await ssh.wait_for_ssh(driver, report)
    prov = await detect(conn, report)
    report.info("Upgrading docker...")
    pkg = (await conn.run(SBIN + 'dpkg -S "$(command -v dockerd)" 2>/dev/null | cut -d: -f1', check=False)).stdout
    await conn.sudo(prov.package_upgrade(pkg.strip() or "docker-ce"), timeout=1800)
    report.info("Restarting docker...")
    await prov.service("restart", report)
