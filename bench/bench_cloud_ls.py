"""`ls` over 10 and 100 EC2 machines on moto, against docker-machine on the same store and the same emulated
cloud, as ratios from one run; the API requests one `ls` makes per provider; the requests an hour an open app makes
for 10 machines per provider.

    PATH=../shared/peer:$PATH python bench/bench_cloud_ls.py [--sizes 10,100] [--repeat 3]

Not a test: it prints figures. The instances are stopped, so that neither tool dials moto's public-looking
addresses (`ls` then only asks the cloud for each machine's state)."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests"), os.path.join(HERE, "..", "tests", "helpers"),
                os.path.join(HERE, "..", "tests", "cli")]

import boto3  # noqa: E402
import moto.server as moto_server  # noqa: E402
from fakedigitalocean import FakeDigitalOcean  # noqa: E402
from fakeopenstack import FakeOpenStack  # noqa: E402
from machine_tui.core import operations  # noqa: E402
from machine_tui.core.events import Reporter  # noqa: E402
from machine_tui.core.store import Store  # noqa: E402
from test_killed_creates import Ec2Proxy  # noqa: E402

OURS = [os.path.realpath(sys.executable), "-m", "machine_tui.cli"]
THEIRS = shutil.which("docker-machine")
APP_POLL, CLOUD_EVERY = 5.0, 30.0  # the app's poll, and how often it asks a cloud (core.service.listing.CloudRows)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def made(store: str, name: str, driver_name: str, opts: dict):
    host, driver = operations.build_host(Store(store), name, driver_name, opts, operations.TLSFiles(),
                                         explicit=set(opts))
    os.makedirs(os.path.join(store, "machines", name), exist_ok=True)
    driver.wait_delay = 0.01
    driver.keep_journal(Store(store).identity(), lambda: Store(store).save(host))
    await driver.pre_create_check()
    await driver.create(Reporter())
    Store(store).save(host)
    return driver


def timed(cmd: list[str], env: dict, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = subprocess.run(cmd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if r.returncode != 0 or "Stopped" not in r.stdout:
            raise SystemExit(f"{cmd[0]} ls failed: {r.stdout[-300:]} {r.stderr[-300:]}")
    return statistics.median(times)


def ec2(sizes: list[int], repeat: int, env: dict) -> int:
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    proxy = Ec2Proxy(endpoint)
    seen: list[str] = []
    proxy.after = lambda method, action: seen.append(action)
    client = boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint)
    per_ls = 0
    print(f"ls over stopped EC2 instances (moto; docker-machine {'on PATH' if THEIRS else 'not on PATH'})")
    for size in sizes:
        urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST")).close()
        store = tempfile.mkdtemp(prefix="bench-ls-")
        for n in range(size):
            driver = asyncio.run(made(store, f"m{n}", "amazonec2", {"amazonec2-endpoint": proxy.url,
                                                                   "amazonec2-ami": "ami-785db401"}))
            client.stop_instances(InstanceIds=[driver.instance_id])
        client.describe_instances()
        run_env = {**env, "MACHINE_STORAGE_PATH": store}
        seen.clear()
        ours = timed([*OURS, "ls"], run_env, repeat)
        per_ls = len(seen) // repeat
        line = f"  {size:>4} machines: machine-tui {ours * 1000:6.0f} ms, {per_ls} request(s) per ls"
        if THEIRS:
            seen.clear()
            theirs = timed([THEIRS, "ls"], run_env, repeat)
            line += (f"; docker-machine {theirs * 1000:6.0f} ms, {len(seen) // repeat} request(s) per ls; "
                     f"ratio {ours / theirs:.2f}x")
        print(line)
        shutil.rmtree(store)
    proxy.close()
    server.stop()
    return per_ls


def digitalocean(env: dict) -> int:
    api = FakeDigitalOcean()
    os.environ.update(MACHINE_TUI_DIGITALOCEAN_API=api.url, DIGITALOCEAN_ACCESS_TOKEN=api.token)
    store = tempfile.mkdtemp(prefix="bench-ls-")
    for n in range(10):
        driver = asyncio.run(made(store, f"d{n}", "digitalocean", {}))
        api.droplets[driver.droplet_id]["status"] = "off"
    api.requests.clear()
    timed([*OURS, "ls"], {**env, "MACHINE_STORAGE_PATH": store, "MACHINE_TUI_DIGITALOCEAN_API": api.url,
                         "DIGITALOCEAN_ACCESS_TOKEN": api.token}, 1)
    shutil.rmtree(store)
    api.close()
    return len(api.requests)


def openstack(env: dict) -> int:
    api = FakeOpenStack()
    os.environ["OS_PASSWORD"] = api.password
    auth = {"openstack-auth-url": api.auth_url, "openstack-username": api.user, "openstack-tenant-name": api.project,
            "openstack-domain-name": api.domain, "openstack-region": api.region,
            "openstack-flavor-name": "m1.small", "openstack-image-name": "ubuntu-24.04"}
    store = tempfile.mkdtemp(prefix="bench-ls-")
    for n in range(10):
        driver = asyncio.run(made(store, f"s{n}", "openstack", auth))
        api.servers[driver.machine_id]["status"] = "SHUTOFF"
    api.requests.clear()
    timed([*OURS, "ls"], {**env, "MACHINE_STORAGE_PATH": store, "OS_PASSWORD": api.password}, 1)
    shutil.rmtree(store)
    api.close()
    return len(api.requests)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="bench-home-")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MACHINE_", "DOCKER_", "AWS_", "OS_"))}
    creds = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_EC2_METADATA_DISABLED": "true",
             "AWS_CONFIG_FILE": os.path.join(home, "none"), "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "none")}
    env.update(creds)
    os.environ.update(creds)
    per = {"EC2": ec2([int(s) for s in args.sizes.split(",")], args.repeat, env),
           "DigitalOcean": digitalocean(env), "OpenStack": openstack(env)}
    print("\nRequests of one ls over 10 machines, and of an open app per hour (a poll every "
          f"{APP_POLL:g} s, clouds asked every {CLOUD_EVERY:g} s)")
    before = {"EC2": 2 * 10, "DigitalOcean": 2 * 10, "OpenStack": 5 * 10}  # per machine, as the issue measured
    for provider, n in per.items():
        print(f"  {provider:<13} ls: {n:>3} (was {before[provider]}); app: {n * 3600 / CLOUD_EVERY:>6.0f} an hour "
              f"(was {before[provider] * 3600 / APP_POLL:,.0f})")
    shutil.rmtree(home)


if __name__ == "__main__":
    main()
