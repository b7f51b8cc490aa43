"""The SSH layer against a real OpenSSH sshd on loopback: pooled connection, exit codes, timeouts, host key
pinning, refusal of a changed key, wrong key, closed port."""

from __future__ import annotations

import asyncio
import os
import subprocess

import pytest
from machine_tui.core import ssh
from machine_tui.core.errors import MachineError


def target(sshd, tmp_path, key=None, port=None):
    return ssh.Target("127.0.0.1", port or sshd.port, sshd.user, key or sshd.key, str(tmp_path / "known_hosts"))


async def test_commands_share_one_connection_and_report_exit_status(sshd, tmp_path):
    conn = ssh.connection_for(target(sshd, tmp_path))
    first = await conn.run("echo hello")
    assert first.stdout == "hello\n" and first.exit_status == 0
    raw = await conn.connection()
    results = await asyncio.gather(*(conn.run(f"echo {i}") for i in range(10)))
    assert [r.stdout.strip() for r in results] == [str(i) for i in range(10)]
    assert await conn.connection() is raw  # one pooled connection for all of them
    failed = await conn.run("echo oops >&2; exit 3", check=False)
    assert (failed.exit_status, failed.stderr) == (3, "oops\n")
    with pytest.raises(MachineError, match="exited with status 3: oops"):
        await conn.run("echo oops >&2; exit 3")
    with pytest.raises(MachineError, match="did not finish within 1 s"):
        await conn.run("sleep 5", timeout=1)
    assert (await conn.run("cat", input="piped")).stdout == "piped"
    await conn.write_file(str(tmp_path / "remote" / "f.txt"), "data\n", mode="0600", root=False)
    assert open(tmp_path / "remote" / "f.txt").read() == "data\n"
    assert oct(os.stat(tmp_path / "remote" / "f.txt").st_mode & 0o777) == "0o600"
    await conn.close()


async def test_reconnects_after_the_link_drops(sshd, tmp_path):
    conn = ssh.connection_for(target(sshd, tmp_path))
    await conn.run("true")
    (await conn.connection()).close()  # the link dies under us
    assert (await conn.run("echo back")).stdout == "back\n"
    await conn.close()


async def test_host_key_is_pinned_then_a_changed_key_is_refused(sshd, tmp_path):
    t = target(sshd, tmp_path)
    conn = ssh.Connection(t)
    await conn.run("true")
    await conn.close()
    pinned = open(t.known_hosts).read()
    assert pinned.startswith(f"[127.0.0.1]:{sshd.port} ssh-ed25519 ")
    assert oct(os.stat(t.known_hosts).st_mode & 0o777) == "0o600"
    # same key: fine
    conn = ssh.Connection(t)
    await conn.run("true")
    await conn.close()
    # the server's key changes (rebuilt host, or someone in the middle)
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    with open(t.known_hosts, "w") as fh:
        fh.write(f"[127.0.0.1]:{sshd.port} " + open(str(other) + ".pub").read().split(" ", 2)[0] + " "
                 + open(str(other) + ".pub").read().split(" ")[1] + "\n")
    with pytest.raises(ssh.HostKeyChanged, match=f"rm {t.known_hosts}"):
        await ssh.Connection(t).run("true")


async def test_wrong_key_and_closed_port_say_what_failed(sshd, tmp_path):
    bad = tmp_path / "bad_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(bad)], check=True)
    with pytest.raises(MachineError, match="authentication to .* refused"):
        await ssh.Connection(target(sshd, tmp_path, key=str(bad))).run("true")
    with pytest.raises(MachineError, match="connection refused"):
        await ssh.Connection(target(sshd, tmp_path, port=1)).run("true")
    with pytest.raises(MachineError, match="does not exist"):
        await ssh.Connection(target(sshd, tmp_path, key="/no/such/key")).run("true")


async def test_wait_for_ssh_shows_every_retry(tmp_path):
    from machine_tui.core.events import Reporter

    class Down:
        config = {}

        async def ssh_hostname(self):
            return "127.0.0.1"

        def ssh_port(self):
            return 1

        def ssh_user(self):
            return "root"

        def ssh_key_path(self):
            return str(tmp_path / "k")

        def resolve_store_path(self, *p):
            return str(tmp_path)

        async def why_down(self):
            return ""

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    seen = []
    rep = Reporter(seen.append)
    with pytest.raises(MachineError, match="Too many retries waiting for SSH to be available"):
        await ssh.wait_for_ssh(Down(), rep, tries=3, delay=0.1)
    assert [e.message.split(":")[0] for e in seen] == ["Waiting for SSH (1/3)", "Waiting for SSH (2/3)",
                                                       "Waiting for SSH (3/3)"]


def test_round_trips_pooled_vs_fresh_ssh_process(sshd, tmp_path):
    """Not a speed test: both ways must work; bench/bench_ssh.py measures them."""
    r = subprocess.run(["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                        "-o", "LogLevel=quiet", "-i", sshd.key, "-p", str(sshd.port), f"{sshd.user}@127.0.0.1",
                        "echo ok"], capture_output=True, text=True, timeout=30)
    assert r.stdout == "ok\n"


def test_ssh_to_a_pinned_machine_hands_over_to_openssh_without_loading_asyncssh(sshd, tmp_path):
    """`ssh NAME CMD` pins the host key at first contact (asyncssh); afterwards it only finds the target and runs
    OpenSSH's client: the SSH library's import (~130 ms) is not on that path."""
    import json
    import sys

    from generichost import add_generic

    store = str(tmp_path / "store")
    add_generic(store, "g1", sshd.port, sshd.key, sshd.user)
    env = {**os.environ, "MACHINE_STORAGE_PATH": store, "MACHINE_TUI_LOG_DIR": str(tmp_path / "logs")}
    code = ("import sys, json\nfrom machine_tui.cli.main import main\n"
            "sys.argv = ['machine-tui', 'ssh', 'g1', 'echo', 'answered']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(sys.modules)))")
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True) for _ in range(2)]
    for r in runs:
        assert r.stdout.startswith("answered\n"), r.stderr
    first, then = (set(json.loads(r.stdout.splitlines()[-1])) for r in runs)
    assert "asyncssh" in first and os.path.exists(os.path.join(store, "machines", "g1", "known_hosts"))
    assert "asyncssh" not in then
