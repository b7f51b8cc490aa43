"""The three cloud drivers end to end on emulated clouds that boot a real VM per instance (helpers/cloudvms.py):
`create` through the real CLI → the cloud's calls → the instance boots from the project's cloud-init image with the
key pair in its metadata → SSH and provisioning → the real `docker` CLI runs a container over TLS → stop/start →
`rm`, which leaves no VM, no cloud resource and no folder. Each instance answers on a loopback address of its own;
nothing else is dialled.

With MACHINE_TUI_E2E_TIMELINE=FILE each test appends its create's timeline (seconds from the start at which each
step's line appeared) to FILE as JSON lines: bench/bench_cloud_e2e.py reads them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import boto3
import moto.server as moto_server
import pytest
import vmrig
from cloudvms import CloudVMs, DigitalOceanVMs, Ec2VMProxy, OpenStackVMs
from conftest import clean_env, run_cli
from fakedigitalocean import FakeDigitalOcean
from fakeopenstack import FakeOpenStack


@pytest.fixture(scope="module")
def image():
    return vmrig.build_image(cloud_init=True)


@pytest.fixture
def vms(image):
    harness = CloudVMs(image)
    yield harness
    harness.close()


def create_with_timeline(cloud: str, args: list[str], env: dict, vms: CloudVMs) -> tuple[str, list]:
    """The CLI's create, each output line stamped with when it appeared."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "machine_tui.cli", "create", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    timeline = []
    for line in proc.stdout:
        timeline.append((round(time.monotonic() - started, 2), line.rstrip()))
    proc.wait(timeout=60)
    out = "\n".join(line for _, line in timeline)
    assert proc.returncode == 0, out + "\n" + vms.consoles()
    where = os.environ.get("MACHINE_TUI_E2E_TIMELINE")
    if where:
        with open(where, "a") as fh:
            fh.write(json.dumps({"cloud": cloud, "timeline": timeline}) + "\n")
    return out, timeline


def lifecycle(name: str, env: dict, vms: CloudVMs, tmp_path) -> str:
    """The machine once created: its address is its VM's, a container runs over TLS, it stops and starts."""
    [vm] = vms.vms.values()
    assert run_cli(["ip", name], env).stdout.strip() == vm.address
    tar = vmrig.busybox_rootfs(str(tmp_path))
    vmrig.docker(env, name, "import", tar, "local/busybox:1")
    said = vmrig.docker(env, name, "run", "--rm", "local/busybox:1", "/bin/busybox", "echo", f"hello from {name}")
    assert said.strip() == f"hello from {name}"
    r = run_cli(["stop", name], env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert run_cli(["ls", "--format", "{{.Name}} {{.State}}"], env).stdout == f"{name} Stopped\n"
    assert vm.proc.poll() is not None  # the VM itself is off
    r = run_cli(["start", name], env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr + vms.consoles()
    said = vmrig.docker(env, name, "run", "--rm", "local/busybox:1", "/bin/busybox", "echo", "again")
    assert said.strip() == "again"
    return vm.address


def removed(name: str, env: dict, store: str, vms: CloudVMs, address: str) -> None:
    r = run_cli(["rm", "-y", name], env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not vms.vms and not os.path.exists(os.path.join(store, "machines", name))
    for port in (22, 2376):
        with socket.socket() as s:
            assert s.connect_ex((address, port)) != 0


def test_amazonec2_end_to_end_on_moto_with_a_vm_per_instance(store, vms, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"), timeout=10).close()
    proxy = Ec2VMProxy(endpoint, vms)
    creds = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-from-env",
             "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
             "AWS_EC2_METADATA_DISABLED": "true"}
    env = clean_env(store, DOCKER_CONFIG=str(tmp_path / "docker-config"), **creds)
    try:
        out, _ = create_with_timeline("amazonec2", ["-d", "amazonec2", "--amazonec2-endpoint", proxy.url,
                                                    "--amazonec2-ami", "ami-785db401", "aws1"], env, vms)
        assert "Docker is up and running!" in out
        assert [a for a in proxy.actions if a in ("ImportKeyPair", "RunInstances")] == ["ImportKeyPair",
                                                                                        "RunInstances"]
        address = lifecycle("aws1", env, vms, tmp_path)
        assert {"StopInstances", "StartInstances"} <= set(proxy.actions)
        removed("aws1", env, store, vms, address)
        client = boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="x",
                              aws_secret_access_key="x")
        states = [i["State"]["Name"] for r in client.describe_instances()["Reservations"] for i in r["Instances"]]
        assert states == ["terminated"] and not client.describe_key_pairs()["KeyPairs"]
    finally:
        proxy.close()
        server.stop()


def test_digitalocean_end_to_end_with_a_vm_per_droplet(store, vms, tmp_path):
    api = FakeDigitalOcean()
    api.hooks = DigitalOceanVMs(vms)
    env = clean_env(store, DOCKER_CONFIG=str(tmp_path / "docker-config"), MACHINE_TUI_DIGITALOCEAN_API=api.url,
                    DIGITALOCEAN_ACCESS_TOKEN=api.token)
    try:
        out, _ = create_with_timeline("digitalocean", ["-d", "digitalocean", "do1"], env, vms)
        assert "Docker is up and running!" in out
        address = lifecycle("do1", env, vms, tmp_path)
        removed("do1", env, store, vms, address)
        assert not api.droplets and not api.keys
    finally:
        api.close()


def test_openstack_end_to_end_with_a_vm_per_server(store, vms, tmp_path):
    api = FakeOpenStack()
    api.hooks = OpenStackVMs(vms)
    env = clean_env(store, DOCKER_CONFIG=str(tmp_path / "docker-config"), OS_PASSWORD=api.password)
    try:
        out, _ = create_with_timeline("openstack", [
            "-d", "openstack", "--openstack-auth-url", api.auth_url, "--openstack-username", api.user,
            "--openstack-tenant-name", api.project, "--openstack-domain-name", api.domain,
            "--openstack-region", api.region, "--openstack-flavor-name", "m1.small",
            "--openstack-image-name", "ubuntu-24.04", "os1"], env, vms)
        assert "Docker is up and running!" in out
        address = lifecycle("os1", env, vms, tmp_path)
        removed("os1", env, store, vms, address)
        assert api.resources() == {"servers": [], "keypairs": [], "floatingips": [], "groups": ["docker-machine"],
                                   "ports": []}
    finally:
        api.close()
