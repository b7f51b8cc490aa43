"""Cloud creates on the emulated clouds: each phase's time and the API calls a create makes, against the calls
docker-machine 0.16.2 makes for the same create (counted from its source, ../shared/reference/cloud-apis.md).

    python bench/bench_clouds.py [--repeat 3]

Not a test: it prints figures. Runs the drivers up to where SSH would start (the emulated clouds hand out addresses
nothing may dial), so the provisioning is bench_provision.py's business."""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import socket
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests"), os.path.join(HERE, "..", "tests", "helpers")]

from fakedigitalocean import FakeDigitalOcean  # noqa: E402
from fakeopenstack import FakeOpenStack  # noqa: E402
from machine_tui.core import operations  # noqa: E402
from machine_tui.core.events import Reporter  # noqa: E402
from machine_tui.core.store import Store  # noqa: E402

# docker-machine's calls for a default on-demand create in a fresh account, and the polls it adds at best
# (one DescribeSecurityGroups poll, two DescribeInstances: one for the address, one for running)
DOCKER_MACHINE_EC2 = ["DescribeAccountAttributes", "DescribeKeyPairs", "DescribeSubnets", "DescribeKeyPairs",
                      "DescribeSubnets", "ImportKeyPair", "DescribeSecurityGroups", "CreateSecurityGroup",
                      "DescribeSecurityGroups", "AuthorizeSecurityGroupIngress", "RunInstances", "DescribeInstances",
                      "DescribeInstances", "CreateTags"]
# regions, key, droplet, then one GET a second until the address: two at best
DOCKER_MACHINE_DO = ["GET /v2/regions", "POST /v2/account/keys", "POST /v2/droplets", "GET /v2/droplets/ID",
                     "GET /v2/droplets/ID"]
# a v3 auth URL used as given: token, flavor and image by name, key pair, server, then polls every 4 s until ACTIVE
# (two at best) and one for the address
DOCKER_MACHINE_OPENSTACK = ["POST /v3/auth/tokens", "GET /flavors/detail", "GET /images/detail", "POST /os-keypairs",
                            "POST /servers", "GET /servers/ID", "GET /servers/ID", "GET /servers/ID"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def timed_create(store: str, name: str, driver_name: str, opts: dict, log=None) -> tuple[dict, list[str]]:
    """Phase times of a create (and its rm), and the API calls up to the end of the create."""
    host, driver = operations.build_host(Store(store), name, driver_name, opts, operations.TLSFiles(),
                                         explicit=set(opts))
    os.makedirs(os.path.join(store, "machines", name), exist_ok=True)
    driver.wait_delay = 0.05
    calls: list[str] = log if log is not None else []
    if driver_name == "amazonec2":
        real = driver.call

        async def counted(operation, **params):
            calls.append("".join(p.title() for p in operation.split("_")))
            return await real(operation, **params)

        driver.call = counted
    phases = {}
    t = time.perf_counter()
    await driver.pre_create_check()
    phases["pre-create check"] = time.perf_counter() - t
    t = time.perf_counter()
    await driver.create(Reporter())
    phases["create (to an address)"] = time.perf_counter() - t
    at_create_end = list(calls)
    t = time.perf_counter()
    await driver.remove()
    phases["rm"] = time.perf_counter() - t
    return phases, at_create_end


def report(title: str, runs: list[dict], ours: list[str], theirs: list[str]) -> None:
    print(f"\n{title}")
    for phase in runs[0]:
        print(f"  {phase:<26}{statistics.median(r[phase] for r in runs) * 1000:>8.0f} ms")
    print(f"  API calls per create: machine-tui {len(ours)}, docker-machine at least {len(theirs)}")
    counts = collections.Counter(ours)
    print("    ours: " + ", ".join(f"{k} x{v}" if v > 1 else k for k, v in counts.items()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_EC2_METADATA_DISABLED="true")
    import moto.server

    port = free_port()
    server = moto.server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    api = FakeDigitalOcean()
    os.environ.update(MACHINE_TUI_DIGITALOCEAN_API=api.url, DIGITALOCEAN_ACCESS_TOKEN=api.token)
    cloud = FakeOpenStack()
    os.environ["OS_PASSWORD"] = cloud.password
    openstack = {"openstack-auth-url": cloud.auth_url, "openstack-username": cloud.user,
                 "openstack-tenant-name": cloud.project, "openstack-domain-name": cloud.domain,
                 "openstack-region": cloud.region, "openstack-flavor-name": "m1.small",
                 "openstack-image-name": "ubuntu-24.04"}
    try:
        with tempfile.TemporaryDirectory() as store:
            os_runs, os_calls = [], []
            for i in range(a.repeat):
                cloud.requests.clear()
                phases, _ = asyncio.run(timed_create(store, f"os{i}", "openstack", openstack))
                os_runs.append(phases)
                os_calls = os_calls or [f"{m} {_shape(p)}" for m, p in cloud.requests[:_create_end(cloud)]]
            ec2_runs, do_runs, ec2_calls, do_calls = [], [], [], []
            for i in range(a.repeat):  # the calls shown are the first run's: a fresh account, no group yet
                phases, calls = asyncio.run(timed_create(store, f"aws{i}", "amazonec2", {
                    "amazonec2-endpoint": f"http://127.0.0.1:{port}", "amazonec2-ami": "ami-785db401"}))
                ec2_runs.append(phases)
                ec2_calls = ec2_calls or calls
                api.requests.clear()
                phases, calls = asyncio.run(timed_create(store, f"do{i}", "digitalocean", {}, api.requests))
                do_runs.append(phases)
                do_calls = do_calls or calls
            report("amazonec2 on moto's EC2 server", ec2_runs, ec2_calls, DOCKER_MACHINE_EC2)
            shown = [f"{m} {p.rstrip('0123456789')}" + ("ID" if p[-1].isdigit() else "") for m, p in do_calls]
            report("digitalocean on the API v2 stand-in", do_runs, shown, DOCKER_MACHINE_DO)
            report("openstack on the keystone/nova/neutron/glance stand-in (a fresh project: the group is made)",
                   os_runs, os_calls, DOCKER_MACHINE_OPENSTACK)
    finally:
        server.stop()
        api.close()
        cloud.close()


def _shape(path: str) -> str:
    """A request path with its ids as ID, e.g. /compute/v2.1/servers/ID."""
    import re

    return re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}|/[0-9a-f]{32}|/os1-[0-9a-f]{64}", "/ID", path)


def _create_end(cloud) -> int:
    """The requests up to the create's end: the rm's DELETEs follow."""
    for i, (method, _) in enumerate(cloud.requests):
        if method == "DELETE":
            return i
    return len(cloud.requests)


if __name__ == "__main__":
    main()
