"""`create -d qemu`: real local VMs with Docker, on the project's own image (fw_cfg key) and on its cloud-init
variant served as a cloud image over loopback HTTP; their lifecycle, QEMU dying under them, and the faults."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import vmrig
from conftest import ROOT, clean_env, run_cli
from imageserver import ImageServer
from vmrig import busybox_rootfs, docker


@pytest.fixture(scope="module")
def image():
    return vmrig.build_image()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def console(store, name) -> str:
    path = os.path.join(store, "machines", name, "console.log")
    return open(path, errors="replace").read()[-3000:] if os.path.exists(path) else "(no console.log)"


def assert_gone(store, name, pid, ports):
    assert not os.path.exists(os.path.join(store, "machines", name))
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z"
    assert not any(port_open(p) for p in ports)


def ports_of(env, name) -> list[int]:
    out = run_cli(["inspect", "-f", "{{.Driver.SSHPort}} {{.Driver.EnginePort}}", name], env).stdout.split()
    return [int(p) for p in out]


def test_qemu_machine_lifecycle_on_the_fast_image(image, store, tmp_path):
    env = clean_env(store, DOCKER_CONFIG=str(tmp_path / "docker-config"))
    r = run_cli(["create", "-d", "qemu", "--qemu-local-image", image, "--qemu-cpus", "2", "--qemu-disk-size", "6000",
                 "--qemu-accel", "auto", "--qemu-no-internet", "q1"], env, timeout=900)
    mdir = os.path.join(store, "machines", "q1")
    assert r.returncode == 0, r.stdout + r.stderr + console(store, "q1")
    assert "using tcg" in r.stdout or "using kvm" in r.stdout
    assert "Docker is up and running!" in r.stdout
    # the image applied the engine's seed at its first boot: Docker was checked, not configured and restarted, and
    # it started with the machine's name already set
    assert "Docker was configured at boot with these certs and options: checking it..." in r.stdout
    assert "Starting Docker..." not in r.stdout
    assert docker(env, "q1", "info", "--format", "{{.Name}}").strip() == "q1"
    assert run_cli(["status", "q1"], env).stdout == "Running\n"
    url = run_cli(["url", "q1"], env).stdout.strip()
    ports = ports_of(env, "q1")
    assert url == f"tcp://127.0.0.1:{ports[1]}"
    assert docker(env, "q1", "version", "--format", "{{.Server.Version}}").startswith("20.10")
    size = run_cli(["ssh", "q1", "--", "df", "-m", "--output=size", "/"], env).stdout.split()[-1]
    assert int(size) > 5000  # the root file system grew into the requested disk
    assert {f: oct(os.stat(os.path.join(mdir, f)).st_mode & 0o777) for f in ("disk.qcow2", "id_rsa", "config.json")} \
        == {"disk.qcow2": "0o600", "id_rsa": "0o600", "config.json": "0o600"}

    assert run_cli(["stop", "q1"], env, timeout=300).returncode == 0
    assert run_cli(["ls"], env).stdout.splitlines()[1].split()[3] == "Stopped"
    assert run_cli(["start", "q1"], env, timeout=600).returncode == 0
    docker(env, "q1", "info", "--format", "{{.ServerVersion}}")
    r = run_cli(["kill", "q1"], env, timeout=120)
    assert r.returncode == 0 and 'Machine "q1" was killed.' in r.stdout
    assert run_cli(["status", "q1"], env).stdout == "Stopped\n"

    # QEMU dies behind our back (or the host rebooted): the machine reads Stopped and starts on the same ports
    assert run_cli(["start", "q1"], env, timeout=600).returncode == 0
    os.kill(int(open(os.path.join(mdir, "qemu.pid")).read()), signal.SIGKILL)
    time.sleep(0.5)
    assert run_cli(["ls", "--format", "{{.Name}} {{.State}}"], env).stdout == "q1 Stopped\n"
    with open(os.path.join(mdir, "qemu.pid"), "w") as fh:  # a stale pidfile naming a live process of someone else
        fh.write(str(os.getpid()))
    assert run_cli(["status", "q1"], env).stdout == "Stopped\n"
    assert run_cli(["start", "q1"], env, timeout=600).returncode == 0
    assert ports_of(env, "q1") == ports and run_cli(["url", "q1"], env).stdout.strip() == url
    docker(env, "q1", "info", "--format", "{{.ServerVersion}}")
    pid = int(open(os.path.join(mdir, "qemu.pid")).read())

    assert run_cli(["rm", "-y", "q1"], env, timeout=120).returncode == 0
    assert_gone(store, "q1", pid, ports)


def test_qemu_machine_from_a_cloud_image_with_a_cloud_init_seed(image, store, tmp_path):
    """The cloud-init variant of the image, published with its SHA256SUMS on a loopback web server like Debian's
    cloud images: downloaded into cache/, the user, key and hostname handed in by the NoCloud seed ISO, and the
    engine's seed with them (Docker is preinstalled there: it starts at boot already on TLS, and is only checked)."""
    env = clean_env(store, DOCKER_CONFIG=str(tmp_path / "docker-config"))
    with ImageServer(image) as srv:
        r = run_cli(["create", "-d", "qemu", "--qemu-image-url", srv.url("cloud.qcow2"), "--qemu-kernel",
                     os.path.join(image, "vmlinuz"), "--qemu-cpus", "2", "--qemu-accel", "tcg",
                     "--qemu-no-internet", "cloud1"], env, timeout=900)
        assert [p for p, _ in srv.requests] == ["/SHA512SUMS", "/SHA256SUMS", "/cloud.qcow2"]
    assert r.returncode == 0, r.stdout + r.stderr + console(store, "cloud1")
    assert "Downloading cloud.qcow2: 839 MB of 839 MB" in r.stdout or "Downloading cloud.qcow2:" in r.stdout
    assert "Verifying cloud.qcow2 (sha256)..." in r.stdout and "Waiting for cloud-init to finish..." in r.stdout
    assert "Docker was configured at boot with these certs and options: checking it..." in r.stdout, r.stdout
    assert "Copying certs to the remote machine..." not in r.stdout
    cached = [f for f in os.listdir(os.path.join(store, "cache")) if f.endswith("-cloud.qcow2")]
    assert len(cached) == 1
    # what cloud-init did with the seed: our user with the machine's key and sudo, the hostname
    who = run_cli(["ssh", "cloud1", "--", "id -un; hostname; sudo -n true && echo sudo-ok"], env).stdout.split()
    assert who == ["docker", "cloud1", "sudo-ok"]
    tar = busybox_rootfs(str(tmp_path))
    docker(env, "cloud1", "import", tar, "local/busybox:1")
    out = docker(env, "cloud1", "run", "--rm", "local/busybox:1", "/bin/busybox", "echo", "hello from cloud1")
    assert out.strip() == "hello from cloud1"

    assert run_cli(["stop", "cloud1"], env, timeout=300).returncode == 0
    assert run_cli(["ls", "--format", "{{.Name}} {{.State}}"], env).stdout == "cloud1 Stopped\n"
    assert run_cli(["start", "cloud1"], env, timeout=600).returncode == 0
    assert docker(env, "cloud1", "images", "--format", "{{.Repository}}").split() == ["local/busybox"]
    assert run_cli(["kill", "cloud1"], env, timeout=120).returncode == 0
    assert run_cli(["status", "cloud1"], env).stdout == "Stopped\n"
    ports = ports_of(env, "cloud1")
    assert run_cli(["rm", "-y", "cloud1"], env, timeout=120).returncode == 0
    assert_gone(store, "cloud1", 0, ports)


def test_a_guest_that_never_answers_ssh_fails_cleanly(image, store):
    env = clean_env(store, MACHINE_WAIT_RETRIES="2")
    r = run_cli(["create", "-d", "qemu", "--qemu-local-image", image, "--qemu-accel", "tcg", "--qemu-no-internet",
                 "--qemu-extra-args", "-S", "q5"], env, timeout=300)  # -S: the CPU never starts
    try:
        check_never_running(r, env, store)
    finally:  # never leave a VM behind, even when an assertion failed
        run_cli(["rm", "-f", "-y", "q5"], env, timeout=120)


def check_never_running(r, env, store):
    assert r.returncode == 1
    assert r.stderr.startswith("Error creating machine: Error waiting for the machine to be Running (last state "
                               "Paused)"), r.stderr
    assert run_cli(["ls", "--format", "{{.Name}} {{.State}}"], env).stdout == "q5 Error\n"  # a failed create
    pid = int(open(os.path.join(store, "machines", "q5", "qemu.pid")).read())
    ports = ports_of(env, "q5")
    assert run_cli(["rm", "-f", "-y", "q5"], env, timeout=120).returncode == 0
    assert_gone(store, "q5", pid, ports)


def test_the_vm_dying_during_provisioning_is_named(image, store):
    env = clean_env(store)
    proc = subprocess.Popen([sys.executable, "-m", "machine_tui.cli", "create", "-d", "qemu", "--qemu-local-image",
                             image, "--qemu-accel", "tcg", "--qemu-no-internet", "q6"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("Waiting for SSH to be available"):
            break
    pidfile = os.path.join(store, "machines", "q6", "qemu.pid")
    os.kill(int(open(pidfile).read()), signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    assert err.startswith("Error creating machine: Error running provisioning: waiting for SSH: the VM is no longer "
                          "running: its QEMU process exited"), err
    listed = run_cli(["ls", "--format", "{{.Name}} {{.State}} {{.Error}}"], env).stdout
    assert listed.startswith("q6 Error Error creating machine: Error running provisioning: waiting for SSH: the VM")
    assert run_cli(["rm", "-f", "-y", "q6"], env, timeout=120).returncode == 0
    assert not os.path.exists(os.path.join(store, "machines", "q6"))


def test_qemu_bad_input(image, store, tmp_path):
    env = clean_env(store)
    r = run_cli(["create", "-d", "qemu", "--qemu-local-image", str(tmp_path), "q2"], env)
    assert (r.returncode, r.stderr) == (3, f'Error with pre-create check: "{tmp_path}/docker.qcow2 does not exist: '
                                           'build the image with `machine-tui build-image`"\n')
    r = run_cli(["create", "-d", "qemu", "--qemu-binary", "qemu-nowhere", "q2"], env)
    assert (r.returncode, r.stderr) == (3, 'Error with pre-create check: "qemu-nowhere not found: install QEMU '
                                           '(apt-get install qemu-system-x86 qemu-utils)"\n')
    r = run_cli(["create", "-d", "qemu", "--qemu-accel", "hvf", "q2"], env)
    assert r.returncode == 3 and "the hvf accelerator exists only on macOS" in r.stderr
    r = run_cli(["create", "-d", "qemu", "--qemu-image-checksum", "md9:zz", "q2"], env)
    assert (r.returncode, r.stderr) == (1, "Error setting machine configuration from flags provided: checksum "
                                           "'md9:zz' is not ALGO:HEX (for example sha256:4f3c...)\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_cli(["create", "-d", "qemu", "--qemu-local-image", image, "--qemu-ssh-port", str(port), "q2"], env)
        assert (r.returncode, r.stderr) == (3, f'Error with pre-create check: "port {port} on 127.0.0.1 is already '
                                               'taken"\n')
    assert not os.path.exists(os.path.join(store, "machines", "q2"))
    assert run_cli(["ls", "-q"], env).stdout == ""


def test_build_image_command_reuses_the_cached_image(image, store):
    env = clean_env(store)
    r = run_cli(["build-image", "--cloud-init", "--output", os.path.dirname(image)], env, timeout=900)
    assert r.returncode == 0, r.stderr
    assert r.stdout == image + "\n"
    assert f"Use it with: machine-tui create -d qemu --qemu-local-image {image} NAME" in r.stderr
