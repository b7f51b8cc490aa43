"""A Swarm-mode cluster on three real VMs: one batch `create -d qemu --count 3` on one --qemu-network, `swarm init`
and `swarm join`, a service of a locally loaded image with a task per node, a task reaching another node's task by
the service's name over an overlay network, a drain that moves a task, `run` across the nodes, and a worker that
leaves and is removed. Three VMs of 1 CPU and 1 GiB each fit this 2-core machine."""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
import vmrig
from conftest import clean_env, run_cli


@pytest.fixture(scope="module")
def image():
    return vmrig.build_image(cloud_init=False)


def docker(env, context, *args, timeout=300, check=True):
    r = subprocess.run(["docker", "--context", context, *args], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "DOCKER_CONFIG": env["DOCKER_CONFIG"]})
    if check:
        assert r.returncode == 0, r.stderr
    return r.stdout


def wait_for(predicate, seconds: float, every: float = 3.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = predicate()
        if answer:
            return answer
        time.sleep(every)
    return predicate()


def tasks(env, service="web") -> list[tuple[str, str]]:
    """(node, current state) of each task meant to run, e.g. ("sw2", "Running 5 seconds ago")."""
    out = docker(env, "sw1", "service", "ps", service, "--filter", "desired-state=running",
                 "--format", "{{.Node}} {{.CurrentState}}")
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if line.strip()]


def all_running(placed) -> bool:
    return len(placed) == 3 and all(state.startswith("Running") for _, state in placed)


def test_a_three_node_swarm_on_one_private_network(image, store, tmp_path):
    env = clean_env(store, DOCKER_CONFIG=str(tmp_path / "docker-config"))
    started = time.monotonic()
    try:  # a failed create is removed too: no VM outlives the test
        r = run_cli(["create", "-d", "qemu", "--qemu-local-image", image, "--qemu-network", "swnet", "--qemu-cpus",
                     "1", "--qemu-memory", "1024", "--qemu-no-internet", "--parallel", "3", "--count", "3", "sw"], env,
                    timeout=1500)
        print(f"batch create of 3: {time.monotonic() - started:.0f} s\n{r.stdout[-1500:]}")
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr
        assert "Created 3 of 3 machines: sw1, sw2, sw3" in r.stdout
        assert r.stdout.count("Checking that KVM really runs a guest here...") <= 1  # one probe for the batch
        r = run_cli(["swarm", "init", "sw1"], env, timeout=300)
        assert r.returncode == 0, r.stderr
        r = run_cli(["swarm", "join", "sw1", "sw2", "sw3"], env, timeout=600)
        assert r.returncode == 0, r.stderr
        nodes = json.loads(run_cli(["swarm", "ls", "--json"], env).stdout)
        print(run_cli(["swarm", "ls"], env).stdout)
        assert sorted(n["machine"] for n in nodes) == ["sw1", "sw2", "sw3"]
        assert all(n["status"] == "ready" for n in nodes) and sum(n["leader"] for n in nodes) == 1
        assert all(n["address"].startswith("192.168.") for n in nodes)  # the private network, not 10.0.2.15
        # the VMs cannot pull: the same busybox image, loaded on each node
        rootfs = vmrig.busybox_rootfs(str(tmp_path))
        for node in ("sw1", "sw2", "sw3"):
            docker(env, node, "import", rootfs, "local/bb:1")
        docker(env, "sw1", "network", "create", "-d", "overlay", "--attachable", "ov")
        docker(env, "sw1", "service", "create", "-d", "--name", "web", "--replicas", "3", "--network", "ov",
               "--no-resolve-image", "local/bb:1", "/bin/busybox", "sh", "-c",
               "mkdir -p /www && /bin/busybox hostname > /www/index.html && "
               "exec /bin/busybox httpd -f -p 80 -h /www")
        placed = wait_for(lambda: (lambda t: all_running(t) and t)(tasks(env)), 300)
        print("tasks:", placed)
        assert sorted(node for node, _ in placed) == ["sw1", "sw2", "sw3"]  # one task per node
        assert run_cli(["swarm", "services"], env).stdout.splitlines()[1].split() == ["web", "3/3"]
        # a container on sw2 reaches the service by name over the overlay network (a task on another node)
        # (busybox 1.35's `wget -T` segfaults: `timeout` bounds it instead)
        answer = docker(env, "sw2", "run", "--rm", "--network", "ov", "local/bb:1", "/bin/busybox", "timeout", "30",
                        "/bin/busybox", "wget", "-qO-", "http://web/", timeout=180)
        assert answer.strip(), "no answer from the service over the overlay network"
        # drain sw3: its task moves to another node
        assert run_cli(["swarm", "drain", "sw3"], env).returncode == 0
        moved = wait_for(lambda: (lambda t: all_running(t) and "sw3" not in dict(t) and t)(tasks(env)), 300)
        print("after drain:", moved)
        assert moved and "sw3" not in dict(moved)  # three tasks still run, none on the drained node
        # run across the nodes
        r = run_cli(["run", "--filter", "name=sw", "--", "cat /etc/hostname"], env, timeout=120)
        assert r.returncode == 0 and sorted(r.stdout.split("\n")[:3]) == sorted(
            [f"{n} | {n}" for n in ("sw1", "sw2", "sw3")]), r.stdout + r.stderr
        # a worker leaves and goes
        r = run_cli(["swarm", "leave", "sw3"], env, timeout=300)
        assert r.returncode == 0 and "sw1 forgot the node" in r.stdout, r.stdout + r.stderr
        assert run_cli(["rm", "-y", "sw3"], env, timeout=300).returncode == 0
        nodes = json.loads(run_cli(["swarm", "ls", "--json"], env).stdout)
        assert sorted(n["machine"] for n in nodes) == ["sw1", "sw2"]
    finally:
        run_cli(["rm", "-f", "-y", "sw1", "sw2", "sw3"], env, timeout=300)
    assert not os.path.exists(os.path.join(store, "networks", "swnet"))  # the last member took the switch away
