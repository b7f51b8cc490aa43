"""Provisioning: install Docker Engine on a host over SSH, secure it with TLS, start it, check it.

The steps follow docker-machine (hostname, packages, install, certificates, systemd drop-in, restart, wait
for the port, TLS check) and do better where it breaks on real hosts: the dockerd path and the unit's own
flags are read from the host (Debian's docker.io has /usr/sbin/dockerd), nothing is installed when Docker
is already there (an offline host provisions), and Docker is not assumed running after the install.
Independent steps run concurrently over the one pooled connection."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
from urllib.parse import urlparse

from .errors import MachineError
from .hostconfig import Host

# a login user other than root has no sbin folders on its PATH, where dockerd lives
SBIN = 'PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"; '


DOCKER_DIR = "/etc/docker"
DROP_IN = "/etc/systemd/system/docker.service.d/10-machine.conf"


# ---------------------------------------------------------------- OS detection


def parse_os_release(text: str) -> dict[str, str]:
    info = {}
    for line in text.splitlines():
        if "=" not in line or line.startswith("#"):
            continue
        k, v = line.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        info[k.strip()] = v
    return info


class Provisioner:
    """Systemd hosts with a package manager; subclasses name their package commands."""

    name = "generic"
    ids: tuple[str, ...] = ()
    install_from_packages = ""  # install docker from the distro instead of the install script

    docker_dir = DOCKER_DIR  # where the engine's TLS files go

    def __init__(self, conn, os_info: dict):
        self.conn = conn
        self.os = os_info

    @property
    def config_path(self) -> str:
        return DROP_IN

    def engine_config(self, host, driver_name: str, dockerd: str, port: int, extras: list[str]) -> str:
        return drop_in(host, driver_name, dockerd, port, extras, self.docker_dir)

    async def enable(self) -> None:
        await self.conn.sudo("systemctl -f enable docker", timeout=120, check=False)

    def package_install(self, pkg: str) -> str:
        raise NotImplementedError

    def package_upgrade(self, pkg: str) -> str:
        return self.package_install(pkg)

    async def service(self, action: str) -> None:
        if action in ("start", "restart"):
            await self.conn.sudo("systemctl daemon-reload", timeout=120)
        try:
            await self.conn.sudo(f"systemctl -f {action} docker", timeout=180)
        except MachineError as err:
            # systemctl only says "see journalctl": fetch what dockerd itself said
            log = await self.conn.sudo("journalctl -u docker.service -n 20 --no-pager -o cat 2>/dev/null "
                                       "| grep -v '^docker.service' | tail -2", check=False)
            said = " / ".join(line.strip() for line in log.stdout.splitlines() if line.strip())
            raise MachineError(f"systemctl {action} docker failed" + (f": {said}" if said else f": {err}")) from None

    async def set_hostname(self, name: str) -> None:
        q = shlex.quote(name)
        await self.conn.sudo(
            f"hostname {q} && echo {q} > /etc/hostname && "
            f"if ! grep -xq '.*\\s{name}' /etc/hosts; then "
            f"if grep -xq '127.0.1.1\\s.*' /etc/hosts; then sed -i 's/^127.0.1.1\\s.*/127.0.1.1 {name}/g' /etc/hosts; "
            f"else echo '127.0.1.1 {name}' >> /etc/hosts; fi; fi"
        )


class Apt(Provisioner):
    def package_install(self, pkg: str) -> str:
        return ("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                f"{shlex.quote(pkg)}")

    def package_upgrade(self, pkg: str) -> str:
        return ("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --only-upgrade "
                f"{shlex.quote(pkg)}")


class Debian(Apt):
    name, ids = "debian", ("debian",)


class Ubuntu(Apt):
    name, ids = "ubuntu(systemd)", ("ubuntu",)


class Raspbian(Apt):
    name, ids = "raspbian", ("raspbian",)


class RedHat(Provisioner):
    name = "redhat"
    ids: tuple[str, ...] = ("rhel", "centos", "rocky", "almalinux", "ol")

    def package_install(self, pkg: str) -> str:
        return f"yum install -y {shlex.quote(pkg)}"

    def package_upgrade(self, pkg: str) -> str:
        return f"yum upgrade -y {shlex.quote(pkg)}"


class Fedora(RedHat):
    name, ids = "fedora", ("fedora",)

    def package_install(self, pkg: str) -> str:
        return f"dnf install -y {shlex.quote(pkg)}"

    def package_upgrade(self, pkg: str) -> str:
        return f"dnf upgrade -y {shlex.quote(pkg)}"


class Amazon(RedHat):
    name, ids = "amzn", ("amzn",)
    install_from_packages = "docker"


class Suse(Provisioner):
    name, ids = "SUSE", ("opensuse", "opensuse-leap", "opensuse-tumbleweed", "sles", "sled", "suse")
    install_from_packages = "docker"

    def package_install(self, pkg: str) -> str:
        return f"zypper -n in {shlex.quote(pkg)}"

    def package_upgrade(self, pkg: str) -> str:
        return f"zypper -n up {shlex.quote(pkg)}"


class Arch(Provisioner):
    name, ids = "arch", ("arch", "archarm", "manjaro")
    install_from_packages = "docker"

    def package_install(self, pkg: str) -> str:
        return f"pacman -Sy --noconfirm --noprogressbar {shlex.quote(pkg)}"


class Boot2Docker(Provisioner):
    """boot2docker: no package manager; Docker is in the ISO, configured by its profile file, certificates in
    /var/lib/boot2docker (the persistent disk), started by its init script."""

    name, ids = "boot2docker", ("boot2docker",)
    docker_dir = "/var/lib/boot2docker"

    @property
    def config_path(self) -> str:
        return "/var/lib/boot2docker/profile"

    def engine_config(self, host, driver_name: str, dockerd: str, port: int, extras: list[str]) -> str:
        e = host.engine
        args = [f"--label provider={driver_name}"]
        args += [f"--label {shlex.quote(label)}" for label in e.get("Labels") or []]
        args += [f"--insecure-registry {shlex.quote(r)}" for r in e.get("InsecureRegistry") or []]
        args += [f"--registry-mirror {shlex.quote(m)}" for m in e.get("RegistryMirror") or []]
        args += [shlex.quote(f"--{opt}") for opt in e.get("ArbitraryFlags") or []]
        env = "".join(f"export {shlex.quote(v)}\n" for v in e.get("Env") or [])
        d = self.docker_dir
        return ("EXTRA_ARGS='\n" + "\n".join(args) + "\n\n'\n"
                f"CACERT={d}/ca.pem\nDOCKER_HOST='-H tcp://0.0.0.0:{port}'\n"
                f"DOCKER_STORAGE={e.get('StorageDriver') or 'overlay2'}\nDOCKER_TLS=auto\n"
                f"SERVERKEY={d}/server-key.pem\nSERVERCERT={d}/server.pem\n\n{env}")

    async def enable(self) -> None:
        return None  # its init script always starts Docker

    def package_install(self, pkg: str) -> str:
        raise MachineError("boot2docker has no package manager: upgrade by replacing its ISO")

    async def service(self, action: str) -> None:
        await self.conn.sudo(f"/etc/init.d/docker {action}", timeout=180)

    async def set_hostname(self, name: str) -> None:
        q = shlex.quote(name)
        await self.conn.sudo(f"/usr/bin/sethostname {q} && echo {q} > /var/lib/boot2docker/etc/hostname")


PROVISIONERS: list[type[Provisioner]] = [Debian, Ubuntu, Raspbian, RedHat, Fedora, Amazon, Suse, Arch, Boot2Docker]


def choose_provisioner(os_info: dict) -> type[Provisioner]:
    """By ID, falling back to ID_LIKE (docker-machine does not), so derivatives work."""
    os_id = os_info.get("ID", "").lower()
    candidates = [os_id] + os_info.get("ID_LIKE", "").lower().split()
    for candidate in candidates:
        for cls in PROVISIONERS:
            if candidate in cls.ids:
                return cls
    supported = ", ".join(sorted({i for c in PROVISIONERS for i in c.ids}))
    raise MachineError(
        f'Error detecting OS: OS type not recognized: ID="{os_id}"'
        + (f' ID_LIKE="{os_info.get("ID_LIKE")}"' if os_info.get("ID_LIKE") else "")
        + f"; supported: {supported}"
    )


async def detect(conn, report) -> Provisioner:
    text = (await conn.run("cat /etc/os-release", timeout=30)).stdout
    info = parse_os_release(text)
    cls = choose_provisioner(info)
    return cls(conn, info)


# ---------------------------------------------------------------- engine configuration


def engine_port(url: str) -> int:
    return urlparse(url).port or 2376


def daemon_flags(host: Host, driver_name: str, dockerd: str, port: int, unit_extras: list[str],
                 docker_dir: str = DOCKER_DIR) -> str:
    e = host.engine
    storage = e.get("StorageDriver") or "overlay2"
    parts = [dockerd, f"-H tcp://0.0.0.0:{port}", "-H unix:///var/run/docker.sock", f"--storage-driver {storage}",
             f"--tlsverify --tlscacert {docker_dir}/ca.pem --tlscert {docker_dir}/server.pem "
             f"--tlskey {docker_dir}/server-key.pem", f"--label provider={driver_name}"]
    parts += [f"--label {shlex.quote(label)}" for label in e.get("Labels") or []]
    parts += [f"--insecure-registry {shlex.quote(r)}" for r in e.get("InsecureRegistry") or []]
    parts += [f"--registry-mirror {shlex.quote(m)}" for m in e.get("RegistryMirror") or []]
    parts += [shlex.quote(f"--{opt}") for opt in e.get("ArbitraryFlags") or []]
    parts += unit_extras
    return " ".join(parts)


def drop_in(host: Host, driver_name: str, dockerd: str, port: int, unit_extras: list[str],
            docker_dir: str = DOCKER_DIR) -> str:
    env = " ".join(_systemd_quote(v) for v in host.engine.get("Env") or [])
    return (
        "[Service]\nExecStart=\n"
        f"ExecStart={daemon_flags(host, driver_name, dockerd, port, unit_extras, docker_dir)}\n"
        f"Environment={env}\n"
    )


def _systemd_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unit_extras_from(execstart: str) -> list[str]:
    """Flags of the distribution's own unit that dockerd needs there (e.g. Debian's --containerd)."""
    return re.findall(r"--containerd(?:=|\s+)\S+", execstart)


# ---------------------------------------------------------------- the whole provisioning


STEP_NAMES = {"detect": "detecting the OS", "hostname": "setting the hostname", "install": "installing Docker",
              "certs": "installing the TLS certificates and engine options", "restart": "starting Docker",
              "listen": "waiting for Docker to listen"}


async def provision(store, host: Host, driver, report, context: bool = True) -> None:
    """Provision, and on failure say which step failed (and mark that step failed for the progress view)."""
    try:
        await _provision(store, host, driver, report, context)
    except MachineError as err:
        step = report.current_step
        if step:
            report.failed(step, str(err))
        if step in STEP_NAMES:
            raise MachineError(f"{STEP_NAMES[step]}: {err}") from None
        raise


async def _provision(store, host: Host, driver, report, context: bool) -> None:
    from . import certs, ssh
    from .reach import checked_url, machine_url

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
        SBIN + "command -v dockerd || true; echo ---; command -v docker || true; echo ---; "
        "systemctl cat docker.service 2>/dev/null | grep '^ExecStart=.' | tail -1 || true", timeout=60, check=False)
    _, found = await asyncio.gather(prov.set_hostname(host.name), probe)
    report.done("hostname")
    dockerd, docker_cli, execstart = (part.strip() for part in (found.stdout.split("---") + ["", ""])[:3])

    report.step("install", "Installing Docker...")
    if dockerd or docker_cli:
        report.info("Docker is already installed: skipping the install")
    else:
        await install_docker(conn, prov, host, report)
        found = await conn.run(SBIN + "command -v dockerd || true; echo ---; systemctl cat docker.service 2>/dev/null "
                               "| grep '^ExecStart=.' | tail -1 || true", check=False)
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
    org = f"{certs.cert_org_user()}.{host.name}"
    sans = list(a.get("ServerCertSANs") or []) + [ip, "localhost"]
    await asyncio.to_thread(certs.make_signed, a["ServerCertPath"], a["ServerKeyPath"], a["CaCertPath"],
                            a["CaPrivateKeyPath"], org, sans, True, bool(host.swarm.get("Master")))
    report.info("Copying certs to the remote machine...")
    report.info("Setting Docker configuration on the remote daemon...")
    conf = prov.engine_config(host, host.driver_name, dockerd, port, unit_extras_from(execstart))
    d = prov.docker_dir
    await asyncio.gather(
        conn.write_file(f"{d}/ca.pem", _read(a["CaCertPath"])),
        conn.write_file(f"{d}/server.pem", _read(a["ServerCertPath"])),
        conn.write_file(f"{d}/server-key.pem", _read(a["ServerKeyPath"]), mode="0600"),
        conn.write_file(prov.config_path, conf),
    )
    report.done("certs")

    report.step("restart", "Starting Docker...")
    await prov.service("restart")
    await prov.enable()
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
        from .dockercontext import sync_context

        await sync_context(host.name, url, mdir, report)


async def install_docker(conn, prov: Provisioner, host: Host, report) -> None:
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


async def wait_for_port(conn, port: int, report, tries: int = 10, delay: float = 3.0) -> None:
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


def _read(path: str) -> str:
    with open(path) as fh:
        return fh.read()


async def provision_new_machine(store, host: Host, driver, report, context: bool = True) -> None:
    from .drivers import State
    from .reach import wait_for_state

    report.step("state", "Waiting for machine to be running, this may take a few minutes...")
    await wait_for_state(driver, State.RUNNING, report=report)
    report.done("state")
    report.info("Detecting operating system of created instance...")
    try:
        await provision(store, host, driver, report, context)
    except MachineError as err:
        msg = str(err)
        if not msg.startswith(("Error", "error", "Too many")):
            msg = f"Error running provisioning: {msg}"
        raise MachineError(msg) from None


async def wait_for_docker(host: Host, driver, report) -> None:
    from . import ssh

    conn = await ssh.wait_for_ssh(driver, report)
    await wait_for_port(conn, engine_port(await driver.get_url()), report)


async def upgrade(host: Host, driver, report) -> None:
    """Upgrade the package that holds dockerd, then restart Docker (starting the machine first if need be)."""
    from . import ssh
    from .drivers import State

    if await driver.state() != State.RUNNING:
        report.info("Starting machine so machine can be upgraded...")
        await driver.start()
    conn = await ssh.wait_for_ssh(driver, report)
    prov = await detect(conn, report)
    report.info("Upgrading docker...")
    pkg = (await conn.run(SBIN + 'dpkg -S "$(command -v dockerd)" 2>/dev/null | cut -d: -f1', check=False)).stdout
    await conn.sudo(prov.package_upgrade(pkg.strip() or "docker-ce"), timeout=1800)
    report.info("Restarting docker...")
    await prov.service("restart")
