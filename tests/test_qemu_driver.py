"""`create -d qemu` on the project's own image: a real local VM with Docker, its lifecycle, and nothing left after rm."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

import vmrig
from conftest import clean_env, run_cli


@pytest.fixture(scope="module")
def image():
    return vmrig.build_image()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_qemu_machine_lifecycle(image, store, tmp_path):
    env = clean_env(store, DOCKER_CONFIG=str(tmp_path / "docker-config"))
    r = run_cli(["create", "-d", "qemu", "--qemu-local-image", image, "--qemu-cpus", "2", "--qemu-disk-size", "6000",
                 "--qemu-accel", "auto", "q1"], env, timeout=900)
    mdir = os.path.join(store, "machines", "q1")
    assert r.returncode == 0, r.stdout + r.stderr + open(os.path.join(mdir, "console.log"), errors="replace").read()[-2000:]
    assert "using tcg" in r.stdout or "using kvm" in r.stdout
    assert "Docker is up and running!" in r.stdout
    assert run_cli(["status", "q1"], env).stdout == "Running\n"
    url = run_cli(["url", "q1"], env).stdout.strip()
    assert url.startswith("tcp://127.0.0.1:")
    engine_port = int(url.rsplit(":", 1)[1])
    docker_env = {**os.environ, "DOCKER_CONFIG": env["DOCKER_CONFIG"]}
    v = subprocess.run(["docker", "--context", "q1", "version", "--format", "{{.Server.Version}}"],
                       capture_output=True, text=True, env=docker_env, timeout=120)
    assert v.returncode == 0 and v.stdout.startswith("20.10"), v.stderr
    size = run_cli(["ssh", "q1", "--", "df", "-m", "--output=size", "/"], env).stdout.split()[-1]
    assert int(size) > 5000  # the root file system grew into the requested disk

    assert run_cli(["stop", "q1"], env, timeout=300).returncode == 0
    assert run_cli(["ls"], env).stdout.splitlines()[1].split()[3] == "Stopped"
    assert run_cli(["start", "q1"], env, timeout=600).returncode == 0
    v = subprocess.run(["docker", "--context", "q1", "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                       text=True, env=docker_env, timeout=120)
    assert v.returncode == 0, v.stderr
    r = run_cli(["kill", "q1"], env, timeout=120)
    assert r.returncode == 0 and 'Machine "q1" was killed.' in r.stdout
    assert run_cli(["status", "q1"], env).stdout == "Stopped\n"
    assert run_cli(["start", "q1"], env, timeout=600).returncode == 0
    pid = int(open(os.path.join(mdir, "qemu.pid")).read())
    ssh_port = int(run_cli(["inspect", "-f", "{{.Driver.SSHPort}}", "q1"], env).stdout)

    assert run_cli(["rm", "-y", "q1"], env, timeout=120).returncode == 0
    assert not os.path.exists(mdir)
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z"
    assert not port_open(engine_port) and not port_open(ssh_port)


def test_qemu_bad_input(store, tmp_path):
    env = clean_env(store)
    r = run_cli(["create", "-d", "qemu", "q2"], env)
    assert (r.returncode, r.stderr) == (1, "Error setting machine configuration from flags provided: "
                                           "qemu driver requires the --qemu-local-image option\n")
    r = run_cli(["create", "-d", "qemu", "--qemu-local-image", str(tmp_path), "q2"], env)
    assert r.returncode == 3 and "docker.qcow2 does not exist" in r.stderr
    assert not os.path.exists(os.path.join(store, "machines", "q2"))
