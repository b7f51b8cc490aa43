"""A cloud create ended at any moment leaves nothing billed behind.

Each test runs `machine-tui create` against an emulated cloud and signals the process when the cloud has handled
its k-th request and before the answer leaves (the worst moment: the resource exists and the process never learns
its id). SIGTERM and SIGHUP must clean up by themselves, as Ctrl-C does; after SIGKILL, `rm -f` must. Either way
not one instance, droplet, server, key, volume or floating IP of the machine is left. The emulated clouds report
127.0.0.1 as every address, with an SSH port where nothing listens: the create never dials anything else."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import moto.server as moto_server
import pytest
from conftest import clean_env, run_cli
from fakedigitalocean import FakeDigitalOcean
from fakeopenstack import FakeOpenStack

SIGNALS = {"KILL": signal.SIGKILL, "TERM": signal.SIGTERM, "HUP": signal.SIGHUP}
# when the signal comes, ten moments per cloud: an int k is "once the cloud has handled the create's k-th request"
# (each create's requests in order: the sign-in or account, the look-ups, the key, the group, the instance, its
# reads, the floating IP), a float is "that many seconds after the create's last request" (waiting for SSH)
MOMENTS = {"amazonec2": (1, 3, 5, 6, 7, 8, 9, 10, 11, 12),
           "digitalocean": (1, 2, 3, 4, 5, 6, 7, 0.5, 2.0, 4.0),
           "openstack": (2, 6, 8, 9, 11, 12, 14, 15, 17, 19)}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KillSwitch:
    """Signals the create's process once the cloud has handled its k-th request (before answering it)."""

    def __init__(self, at: int | float, signum: int):
        self.at, self.signum = at, signum
        self.pid: int | None = None
        self.seen: list[str] = []
        self.last = 0.0
        self.fired = threading.Event()
        self._lock = threading.Lock()
        if isinstance(at, float):
            threading.Thread(target=self._after_quiet, daemon=True).start()

    def __call__(self, method: str, path: str) -> None:
        with self._lock:
            if self.pid is None or self.fired.is_set():
                return
            self.seen.append(f"{method} {path}")
            self.last = time.monotonic()
            if len(self.seen) == self.at:
                self._fire()

    def _fire(self) -> None:
        os.kill(self.pid, self.signum)
        self.fired.set()

    def _after_quiet(self) -> None:
        while not self.fired.is_set():
            time.sleep(0.05)
            with self._lock:
                if self.seen and not self.fired.is_set() and time.monotonic() - self.last >= self.at:
                    self._fire()


class Ec2Proxy:
    """Between the driver and moto: every address in moto's answers becomes 127.0.0.1, and the kill switch sees
    each request once moto has handled it."""

    def __init__(self, upstream: str):
        proxy = self
        self.upstream = upstream
        self.after = None

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                action = urllib.parse.parse_qs(body.decode()).get("Action", ["?"])[0]
                request = urllib.request.Request(proxy.upstream + self.path, data=body, method="POST",
                                                 headers={k: v for k, v in self.headers.items() if k != "Host"})
                try:
                    with urllib.request.urlopen(request, timeout=60) as answer:
                        status, data = answer.status, answer.read()
                except urllib.error.HTTPError as err:
                    status, data = err.code, err.read()
                text = re.sub(r"<(ipAddress|privateIpAddress|publicIp)>[^<]*<", r"<\1>127.0.0.1<", data.decode())
                if proxy.after is not None:
                    proxy.after("POST", action)
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/xml")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the process was killed before the answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class LoopbackHooks:
    """The fakes' instance hooks: every new droplet or server answers at 127.0.0.1."""

    def on_create(self, *_):
        return "127.0.0.1"

    def on_action(self, *_):
        pass

    def on_delete(self, *_):
        pass


class Ec2Cloud:
    name = "aws1"

    def __init__(self, tmp_path, monkeypatch=None):
        if monkeypatch is not None:  # moto refuses an unknown image or instance type, as EC2 does
            import moto.settings

            monkeypatch.setattr(moto.settings, "ENABLE_AMI_VALIDATION", True)
            monkeypatch.setattr(moto.settings, "EC2_ENABLE_INSTANCE_TYPE_VALIDATION", True)
        self.port = closed_port()
        self.server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        urllib.request.urlopen(urllib.request.Request(self.endpoint + "/moto-api/reset", method="POST"),
                               timeout=10).close()
        self.proxy = Ec2Proxy(self.endpoint)
        self.env = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
                    "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                    "AWS_EC2_METADATA_DISABLED": "true"}
        self.client = boto3.client("ec2", region_name="us-east-1", endpoint_url=self.endpoint,
                                   aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")

    def create_args(self, ssh_port: int) -> list[str]:
        return ["create", "-d", "amazonec2", "--amazonec2-endpoint", self.proxy.url, "--amazonec2-ami",
                "ami-785db401", "--amazonec2-ssh-port", str(ssh_port), self.name]

    def arm(self, switch: KillSwitch) -> None:
        self.proxy.after = switch

    def reach(self) -> list[str]:
        return ["--amazonec2-endpoint", self.proxy.url]

    def left(self) -> list[str]:
        self.client.describe_instances()  # moto ends terminations at the next read
        instances = [i["InstanceId"] for r in self.client.describe_instances()["Reservations"]
                     for i in r["Instances"] if i["State"]["Name"] not in ("terminated", "shutting-down")]
        keys = [k["KeyName"] for k in self.client.describe_key_pairs()["KeyPairs"]]
        volumes = [v["VolumeId"] for v in self.client.describe_volumes()["Volumes"] if v["State"] != "deleted"]
        return instances + keys + volumes

    def close(self) -> None:
        self.proxy.close()
        self.server.stop()


class DigitalOceanCloud:
    name = "do1"

    def __init__(self, tmp_path, monkeypatch=None):
        self.api = FakeDigitalOcean()
        self.api.hooks = LoopbackHooks()
        self.env = {"MACHINE_TUI_DIGITALOCEAN_API": self.api.url, "DIGITALOCEAN_ACCESS_TOKEN": self.api.token}

    def create_args(self, ssh_port: int) -> list[str]:
        return ["create", "-d", "digitalocean", "--digitalocean-ssh-port", str(ssh_port), self.name]

    def arm(self, switch: KillSwitch) -> None:
        self.api.after = switch

    def reach(self) -> list[str]:
        return []

    def left(self) -> list[str]:
        return [f"droplet {d}" for d in self.api.droplets] + [f"key {k}" for k in self.api.keys]

    def close(self) -> None:
        self.api.close()


class OpenStackCloud:
    name = "os1"

    def __init__(self, tmp_path, monkeypatch=None):
        self.api = FakeOpenStack()
        self.api.hooks = LoopbackHooks()
        self.api.floating_address = "127.0.0.1"
        self.env = {"OS_PASSWORD": self.api.password}

    def reach(self) -> list[str]:
        api = self.api
        return ["--openstack-auth-url", api.auth_url, "--openstack-username", api.user, "--openstack-tenant-name",
                api.project, "--openstack-domain-name", api.domain, "--openstack-region", api.region]

    def create_args(self, ssh_port: int) -> list[str]:
        return ["create", "-d", "openstack", *self.reach(), "--openstack-flavor-name", "m1.small",
                "--openstack-image-name", "ubuntu-24.04", "--openstack-floatingip-pool", "public",
                "--openstack-ssh-port", str(ssh_port), self.name]

    def arm(self, switch: KillSwitch) -> None:
        self.api.after = switch

    def left(self) -> list[str]:
        found = self.api.resources()
        return found["servers"] + found["keypairs"] + found["floatingips"]

    def close(self) -> None:
        self.api.close()


CLOUDS = {"amazonec2": Ec2Cloud, "digitalocean": DigitalOceanCloud, "openstack": OpenStackCloud}


# SIGKILL and SIGTERM at every moment; SIGHUP takes SIGTERM's path (one handler) save for a terminal that is gone,
# so it is tried at the first, a middle and the last moment of each cloud
ENDINGS = [(sig, c, m) for sig in ("KILL", "TERM") for c in CLOUDS for m in MOMENTS[c]] + \
    [("HUP", c, MOMENTS[c][i]) for c in CLOUDS for i in (0, 5, 9)]


@pytest.mark.parametrize("sig,which,moment", ENDINGS)
def test_a_create_ended_at_any_moment_leaves_nothing_after_rm_f(which, moment, sig, store, tmp_path, monkeypatch):
    for var in [v for v in os.environ if v.startswith(("OS_", "AWS_", "DIGITALOCEAN_"))]:
        monkeypatch.delenv(var)
    cloud = CLOUDS[which](tmp_path, monkeypatch)
    try:
        ended_and_removed(cloud, store, moment, sig)
    finally:
        cloud.close()


def create_ended(cloud, env: dict, moment: int | float, signum: int, name: str = "") -> tuple[KillSwitch, Any, str]:
    """A create run until the switch signals it (and it ends by itself, or is killed): (switch, process, stderr)."""
    switch = KillSwitch(moment, signum)
    cloud.arm(switch)
    args = cloud.create_args(closed_port())
    if name:
        args[-1] = name
    proc = subprocess.Popen([sys.executable, "-m", "machine_tui.cli", *args], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    switch.pid = proc.pid
    try:
        _, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    return switch, proc, err


def ended_and_removed(cloud, store: str, moment: int | float, sig: str) -> None:
    env = clean_env(store, **cloud.env)
    switch, proc, err = create_ended(cloud, env, moment, SIGNALS[sig])
    assert switch.fired.is_set(), f"the create made {len(switch.seen)} requests, fewer than {moment}: {err}"
    assert proc.returncode in (-signal.SIGKILL, 128 + SIGNALS[sig]), (proc.returncode, err)
    if sig != "KILL":
        # it cleaned up by itself, as Ctrl-C does: nothing of the machine is left, in the cloud or the store
        assert cloud.left() == [], (switch.seen, err)
        assert not os.path.exists(os.path.join(store, "machines", cloud.name)), err
        assert f"Ended by SIG{sig}" in err
    r = run_cli(["rm", "-f", "-y", cloud.name], env)
    assert r.returncode == 0, r.stderr
    assert cloud.left() == [], (switch.seen, err, r.stderr)
    assert not os.path.exists(os.path.join(store, "machines", cloud.name))



# the request after which each create has made its instance (and its key): killed there, nothing was journaled
# about the instance
AFTER_THE_INSTANCE = {"amazonec2": 10, "digitalocean": 4, "openstack": 15}


@pytest.mark.parametrize("which", list(CLOUDS))
def test_orphans_lists_what_no_machine_owns_and_removes_it_on_request(which, store, tmp_path, monkeypatch):
    """Two creates killed right after their instance was made: one machine is then deleted by hand (its folder gone,
    as a user or a restored backup leaves it), the other kept. `orphans` lists only what the lost one made;
    --remove removes it, and the kept machine's resources stay until its own `rm -f`."""
    import shutil

    for var in [v for v in os.environ if v.startswith(("OS_", "AWS_", "DIGITALOCEAN_"))]:
        monkeypatch.delenv(var)
    cloud = CLOUDS[which](tmp_path, monkeypatch)
    try:
        env = clean_env(store, **cloud.env)
        for name in ("lost", "kept.1"):
            switch, proc, _ = create_ended(cloud, env, AFTER_THE_INSTANCE[which], signal.SIGKILL, name)
            assert switch.fired.is_set() and proc.returncode == -signal.SIGKILL
        made = sorted(cloud.left())
        shutil.rmtree(os.path.join(store, "machines", "lost"))
        r = run_cli(["orphans", "-d", which, *cloud.reach()], env)
        assert r.returncode == 0, r.stderr
        rows = r.stdout.splitlines()
        assert rows[0].split() == ["KIND", "ID", "MACHINE", "DETAIL", "WHY"]
        assert rows[1:] and all(" lost " in row and f"no {which} machine lost in the store" in row
                                for row in rows[1:]), rows
        assert "orphans -d " + which + " --remove removes them" in r.stderr
        r = run_cli(["orphans", "-d", which, *cloud.reach(), "--remove", "-y"], env)
        assert r.returncode == 0, r.stderr
        assert f"Removed {len(rows) - 1} orphaned" in r.stderr
        left = sorted(cloud.left())
        assert left and set(left) < set(made)  # the kept machine's, only
        r = run_cli(["orphans", "-d", which, *cloud.reach()], env)
        assert r.returncode == 0 and r.stdout == "" and "No orphans" in r.stderr, r.stderr
        assert run_cli(["rm", "-f", "kept.1"], env).returncode == 0
        assert cloud.left() == []
    finally:
        cloud.close()


def test_orphans_needs_a_cloud_driver_and_says_so(cli):
    r = cli("orphans")
    assert r.returncode == 1 and r.stderr == "orphans looks in a cloud: give -d amazonec2 or -d digitalocean or -d " \
        "openstack\n"
    r = cli("orphans", "-d", "qemu")
    assert r.returncode == 1 and r.stderr.startswith("orphans looks in a cloud")
