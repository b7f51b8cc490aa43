"""The provisioning procedure against a scripted host (helpers/fakessh.py) and a loopback TLS engine: every step,
its commands, the files it writes and how each failure is worded, in milliseconds and without a VM. The same
procedure on real hosts is tests/vm/test_generic_vm.py."""

from __future__ import annotations

import os
import socket

import pytest
from fakeengine import FakeEngine
from fakessh import FakeHost
from machine_tui.core import certs, operations, ssh
from machine_tui.core.drivers import DRIVERS
from machine_tui.core.errors import MachineError
from machine_tui.core.events import EventKind, Reporter
from machine_tui.core.provisioning import base
from machine_tui.core.remote_command import Result
from machine_tui.core.store import Store, create_problem

DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
UNIT = "ExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def debian_with_docker(port: int) -> FakeHost:
    return FakeHost([
        (r".", ""),  # hostname, systemctl and the like succeed quietly
        (r"^cat /etc/os-release$", DEBIAN),
        (r"command -v dockerd .*command -v docker ", f"/usr/sbin/dockerd\n---\n/usr/bin/docker\n---\n{UNIT}\n"),
        (r"netstat -tln", f"tcp 0 0 0.0.0.0:{port} 0.0.0.0:* LISTEN\n"),
    ])


@pytest.fixture
def loopback(monkeypatch, store):
    """A store whose CA exists, a TLS engine on a loopback port, the loopback driver registered as an
    out-of-tree driver, and SSH answered by the fake host the test sets."""
    monkeypatch.setitem(DRIVERS, "loopback", "helpers.loopbackdriver:LoopbackDriver")
    certs.bootstrap(*(os.path.join(store, "certs", f) for f in ("ca.pem", "ca-key.pem", "cert.pem", "key.pem")),
                    lambda _: None)
    port = free_port()
    box: dict[str, FakeHost] = {}

    async def connect(driver, report, tries=None, delay=3.0):
        return box["host"]

    monkeypatch.setattr(ssh, "wait_for_ssh", connect)
    with FakeEngine(store, "127.0.0.1", port):
        yield Store(store), port, box


async def create(store: Store, port: int, name: str = "lb") -> Reporter:
    report = Reporter()
    await operations.create(store, name, "loopback", {"loopback-engine-port": port, "engine-install-url":
                                                      "https://get.docker.com"}, report, context=False)
    return report


async def test_a_host_with_docker_is_configured_for_tls_and_nothing_is_installed(loopback):
    store, port, box = loopback
    host = box["host"] = debian_with_docker(port)
    report = await create(store, port)
    assert not host.ran(r"apt-get|curl")
    conf, mode = host.files["/etc/systemd/system/docker.service.d/10-machine.conf"]
    assert f"ExecStart=/usr/sbin/dockerd -H tcp://0.0.0.0:{port} -H unix:///var/run/docker.sock" in conf
    assert "--containerd=/run/containerd/containerd.sock" in conf  # the distribution's unit flag kept
    assert "--label provider=loopback" in conf and mode == "0644"
    assert host.files["/etc/docker/server-key.pem"][1] == "0600"
    assert host.files["/etc/docker/ca.pem"][0].startswith("-----BEGIN CERTIFICATE-----")
    assert host.ran(r"^hostname lb && echo lb > /etc/hostname")
    assert host.ran(r"^systemctl -f restart docker$") and host.ran(r"^systemctl -f enable docker$")
    # enabling goes out beside the start, not after it (each takes seconds on a slow guest)
    sent = [command for _, command in host.commands]
    assert sent.index("systemctl -f enable docker") < sent.index("systemctl -f restart docker")
    steps = [e.step for e in report.events if e.kind == EventKind.DONE]
    assert steps == ["precreate", "create", "state", "ssh", "detect", "hostname", "install", "certs", "restart",
                     "listen", "tlscheck"]
    assert any(e.message == "Docker is already installed: skipping the install" for e in report.events)
    assert not store.load("lb").doc.get("CreateError")


async def test_a_bare_host_gets_curl_then_docker_from_the_install_url(loopback):
    store, port, box = loopback
    host = box["host"] = debian_with_docker(port)
    host.answer(r"command -v dockerd .*command -v docker ", "\n---\n\n---\n")  # nothing there at first
    host.answer(r"^command -v curl$", Result(1, "", ""))
    host.answer(r"command -v dockerd \|\| true; echo ---; \{ systemctl", f"/usr/sbin/dockerd\n---\n{UNIT}\n")  # installed
    await create(store, port)
    assert host.ran(r"^apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl$")
    assert host.ran(r"^curl -sSL https://get.docker.com \| sh -$")


async def test_each_failure_names_its_step_and_what_the_host_said(loopback, monkeypatch):
    monkeypatch.setattr(base, "SERVICE_RETRY_DELAY", 0)
    store, port, box = loopback
    host = box["host"] = debian_with_docker(port)
    host.answer(r"^systemctl -f restart docker$", Result(1, "", "Job for docker.service failed."))
    host.answer(r"journalctl -u docker.service", "failed to load listeners: address already in use\n")
    with pytest.raises(MachineError) as err:
        await create(store, port)
    assert str(err.value) == ("Error creating machine: Error running provisioning: starting Docker: systemctl "
                              "restart docker failed: failed to load listeners: address already in use")
    assert "starting Docker" in create_problem(store.machine_dir("lb"))
    assert len(host.ran(r"^systemctl -f restart docker$")) == base.SERVICE_TRIES  # tried again before giving up


async def test_docker_that_fails_to_start_once_under_load_is_started_again(loopback, monkeypatch):
    monkeypatch.setattr(base, "SERVICE_RETRY_DELAY", 0)
    store, port, box = loopback
    host = box["host"] = debian_with_docker(port)
    host.answer(r"^systemctl -f restart docker$", [Result(1, "", "Job for docker.service failed."), ""])
    host.answer(r"journalctl -u docker.service", "failed to dial containerd: context deadline exceeded\n")
    report = await create(store, port)
    assert len(host.ran(r"^systemctl -f restart docker$")) == 2
    assert host.ran(r"^systemctl reset-failed docker.service docker.socket$")
    assert ("Docker did not restart (failed to dial containerd: context deadline exceeded): trying again (2/3)..."
            in [e.message for e in report.events])
    assert not store.load("lb").doc.get("CreateError")


async def test_an_unknown_os_and_a_missing_dockerd_are_one_clear_line(loopback):
    store, port, box = loopback
    box["host"] = debian_with_docker(port).answer(r"^cat /etc/os-release$", "ID=plan9\n")
    with pytest.raises(MachineError, match=r'detecting the OS: Error detecting OS: OS type not recognized: ID="plan9"'):
        await create(store, port, "os")
    host = box["host"] = debian_with_docker(port)
    host.answer(r"command -v dockerd", "\n---\n\n---\n").answer(r"^command -v curl$", "/usr/bin/curl")
    with pytest.raises(MachineError, match="Docker is installed but dockerd was not found on the host"):
        await create(store, port, "nodockerd")


async def test_an_engine_that_never_listens_is_reported_with_the_units_status(loopback, monkeypatch):
    from machine_tui.core.provisioning import procedure

    store, port, box = loopback
    host = box["host"] = debian_with_docker(port)
    host.answer(r"netstat -tln", "tcp 0 0 127.0.0.1:22 0.0.0.0:* LISTEN\n")
    host.answer(r"systemctl status docker", "Active: activating (auto-restart)\n")
    real = procedure.wait_for_port
    monkeypatch.setattr(procedure, "wait_for_port", lambda conn, port, report: real(conn, port, report, 3, 0))
    with pytest.raises(MachineError, match=r"Maximum number of retries \(3\) exceeded\. Active: activating"):
        await create(store, port)
    assert len(host.ran(r"netstat -tln")) == 3


async def test_upgrade_updates_the_package_that_holds_dockerd_then_restarts(loopback):
    from machine_tui.core.verbs import verb

    store, port, box = loopback
    box["host"] = debian_with_docker(port)
    await create(store, port)
    host = box["host"] = debian_with_docker(port).answer(r"dpkg -S", "docker.io\n")
    await verb("upgrade")(store, store.load("lb"), Reporter())
    assert host.ran(r"apt-get install -y -qq --only-upgrade docker\.io$")
    assert host.commands[-1] == ("root", "systemctl -f restart docker")


async def test_classic_swarm_flags_are_kept_and_said_to_be_gone_in_one_line(loopback):
    store, port, box = loopback
    box["host"] = debian_with_docker(port)
    report = Reporter()
    await operations.create(store, "classic", "loopback", {
        "loopback-engine-port": port, "engine-install-url": "https://get.docker.com", "swarm": True,
        "swarm-master": True, "swarm-discovery": "token://abc"}, report, context=False)
    warned = [e.message for e in report.events if e.kind == "warn"]
    assert len(warned) == 1 and warned[0].startswith("Classic Swarm (--swarm, --swarm-master, --swarm-discovery) "
                                                     "ended in 2019") and "--swarm-mode manager" in warned[0]
    assert store.load("classic").swarm["Discovery"] == "token://abc"  # kept as docker-machine keeps it


def booted_from_the_seed(store: Store, name: str):
    """The guest's answer to provisioning's check: the digests of the files the seed handed it at boot, which are
    the machine folder's own (its server certificate and key, the store's CA, the seed's drop-in)."""
    import hashlib

    def answer(command: str) -> str:
        mdir = store.machine_dir(name)
        held = {"/etc/docker/ca.pem": os.path.join(store.path, "certs", "ca.pem"),
                "/etc/docker/server.pem": os.path.join(mdir, "server.pem"),
                "/etc/docker/server-key.pem": os.path.join(mdir, "server-key.pem"),
                "/etc/systemd/system/docker.service.d/10-machine.conf": os.path.join(mdir, "engine-seed.conf")}
        lines = [f"{hashlib.sha256(open(local, 'rb').read()).hexdigest()}  {path}" for path, local in held.items()]
        return "\n".join(lines) + "\nenabled\n"
    return answer


async def seeded_create(store: Store, port: int, name: str = "seeded") -> Reporter:
    report = Reporter()
    await operations.create(store, name, "loopback", {"loopback-engine-port": port, "loopback-seed": True},
                            report, context=False)
    return report


async def test_a_host_that_booted_with_the_engines_seed_is_checked_not_restarted(loopback):
    """The seed a driver hands its image before the first boot is what provisioning would have copied: the host's
    files match it byte for byte (the drop-in provisioning makes equals the seed's), so Docker, started at boot, is
    only checked, and the server certificate is the one the guest booted with."""
    store, port, box = loopback
    host = box["host"] = debian_with_docker(port)
    host.answer(r"^sha256sum ", booted_from_the_seed(store, "seeded"))
    mdir = store.machine_dir("seeded")
    report = await seeded_create(store, port)
    assert not host.files and not host.ran(r"systemctl -f restart docker|daemon-reload|systemctl -f enable")
    assert oct(os.stat(os.path.join(mdir, "engine-seed.conf")).st_mode & 0o777) == "0o600"
    conf = open(os.path.join(mdir, "engine-seed.conf")).read()
    assert f"ExecStart=/usr/sbin/dockerd -H tcp://0.0.0.0:{port}" in conf and "--containerd=" in conf
    steps = [e.step for e in report.events if e.kind == EventKind.DONE]
    assert steps == ["precreate", "create", "state", "ssh", "detect", "hostname", "install", "certs", "listen",
                     "tlscheck"]
    assert "Docker was configured at boot with these certs and options: checking it..." in [
        e.message for e in report.events]
    assert host.ran(r"ss -tln .*:%d\[\[:space:\]\]" % port)  # waited in the guest, one command


async def test_a_seed_the_host_did_not_apply_is_provisioned_as_any_host(loopback):
    """An image that ignored the seed (built before it knew how), or a host whose files differ: copy and restart."""
    store, port, box = loopback
    host = box["host"] = debian_with_docker(port)
    host.answer(r"^sha256sum ", "enabled\n")
    await seeded_create(store, port)
    assert set(host.files) == {"/etc/docker/ca.pem", "/etc/docker/server.pem", "/etc/docker/server-key.pem",
                               "/etc/systemd/system/docker.service.d/10-machine.conf"}
    assert host.files["/etc/systemd/system/docker.service.d/10-machine.conf"][0] == open(
        os.path.join(store.machine_dir("seeded"), "engine-seed.conf")).read()
    assert host.ran(r"^systemctl -f restart docker$") and host.ran(r"^systemctl -f enable docker$")


async def test_a_seeded_docker_that_failed_at_boot_is_started_as_provisioning_does(loopback):
    store, port, box = loopback
    host = box["host"] = debian_with_docker(port)
    host.answer(r"^sha256sum ", booted_from_the_seed(store, "seeded"))
    host.answer(r"^for i in .*systemctl is-failed", Result(2, "", ""))  # Docker gave up at boot
    report = await seeded_create(store, port)
    assert not host.files and host.ran(r"^systemctl -f restart docker$")
    assert "Docker did not come up from the seed: starting it as provisioning does..." in [
        e.message for e in report.events]
    assert not store.load("seeded").doc.get("CreateError")


def run_first_boot_script(store: Store, name: str, guest) -> str:
    """A cloud image's first boot: the seed's bootcmd script run in a folder standing for the guest's root, with
    a dockerd and a systemctl of its own (one that records what it is asked and touches nothing)."""
    import stat
    import subprocess

    from machine_tui.core.provisioning.seed import EngineSeed

    mdir = store.machine_dir(name)
    seed = EngineSeed(name, os.path.join(store.path, "certs", "ca.pem"), os.path.join(mdir, "server.pem"),
                      os.path.join(mdir, "server-key.pem"), os.path.join(mdir, "engine-seed.conf"))
    bin_dir = guest / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "dockerd").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "systemctl").write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {guest}/systemctl.log\n'
        'case "$1" in\n'
        f"  cat) printf '[Service]\\nExecStart=\\nExecStart=%s\\n' '{UNIT[len('ExecStart='):]} $DOCKER_OPTS' ;;\n"
        '  show) echo "/lib/systemd/system/$4" ;;\n'
        "esac\n")
    for tool in ("dockerd", "systemctl"):
        (bin_dir / tool).chmod(stat.S_IRWXU)
    script = seed.first_boot_script(docker_dir=f"{guest}/etc/docker",
                                    drop_in_path=f"{guest}/etc/systemd/system/docker.service.d/10-machine.conf",
                                    unit_dir=f"{guest}/etc/systemd/system")
    done = subprocess.run(["sh", "-c", script], env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, capture_output=True,
                          text=True)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return str(bin_dir / "dockerd")


async def test_a_cloud_images_seed_is_completed_in_the_guest_to_what_provisioning_makes(loopback, tmp_path):
    """A cloud image's dockerd is known only inside it: its seed's drop-in leaves the dockerd for the guest, whose
    first-boot script puts its own there and its unit's --containerd, as provisioning reads them. The files it
    writes are then byte for byte what provisioning would copy, so Docker is only checked."""
    import hashlib

    store, port, box = loopback
    guest = tmp_path / "guest"
    guest.mkdir()
    remote = {"/etc/docker/ca.pem": "etc/docker/ca.pem", "/etc/docker/server.pem": "etc/docker/server.pem",
              "/etc/docker/server-key.pem": "etc/docker/server-key.pem",
              "/etc/systemd/system/docker.service.d/10-machine.conf":
                  "etc/systemd/system/docker.service.d/10-machine.conf"}
    found: dict[str, str] = {}

    def boot() -> str:  # the guest ran its script at boot, before provisioning first looked at it
        if not found:
            found["dockerd"] = run_first_boot_script(store, "cloudy", guest)
        return found["dockerd"]

    def probe(command: str) -> str:  # the guest's dockerd and unit, as provisioning finds them
        return f"{boot()}\n---\n/usr/bin/docker\n---\nExecStart={boot()} -H fd:// " \
               "--containerd=/run/containerd/containerd.sock\n"

    def check(command: str) -> str:
        boot()
        lines = [f"{hashlib.sha256((guest / held).read_bytes()).hexdigest()}  {path}" for path, held in remote.items()]
        return "\n".join(lines) + "\nenabled\n"

    host = box["host"] = debian_with_docker(port)
    host.answer(r"command -v dockerd .*command -v docker ", probe)
    host.answer(r"^sha256sum ", check)
    report = Reporter()
    await operations.create(store, "cloudy", "loopback", {"loopback-engine-port": port, "loopback-seed": True,
                                                          "loopback-seed-names-no-dockerd": True}, report,
                            context=False)
    assert "Docker was configured at boot with these certs and options: checking it..." in [
        e.message for e in report.events], [e.message for e in report.events]
    assert not host.files and not host.ran(r"systemctl -f restart docker")
    conf = (guest / remote["/etc/systemd/system/docker.service.d/10-machine.conf"]).read_text()
    assert f"ExecStart={found['dockerd']} -H tcp://0.0.0.0:{port}" in conf
    assert "--label provider=loopback --containerd=/run/containerd/containerd.sock\n" in conf
    assert oct((guest / "etc/docker/server-key.pem").stat().st_mode & 0o777) == "0o600"
    assert oct((guest / "etc/docker/server.pem").stat().st_mode & 0o777) == "0o644"
    units = guest / "etc/systemd/system"
    assert os.readlink(units / "multi-user.target.wants/docker.service") == "/lib/systemd/system/docker.service"
    assert os.readlink(units / "sockets.target.wants/docker.socket") == "/lib/systemd/system/docker.socket"
    log = (guest / "systemctl.log").read_text().splitlines()
    assert log[-2:] == ["daemon-reload", "start --no-block docker.socket docker.service"]
    # a later boot, or one after provisioning: the script leaves the host as it is
    before = {p: (guest / p).read_bytes() for p in remote.values()}
    run_first_boot_script(store, "cloudy", guest)
    assert {p: (guest / p).read_bytes() for p in remote.values()} == before
    assert (guest / "systemctl.log").read_text().splitlines() == log
