"""End to end on a real Debian 12 VM under QEMU running Docker's real daemon: `create -d generic` provisions
it over SSH with TLS, and the real docker CLI then works against it (and only with our certificates)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import vmrig
from conftest import assert_store_sound, clean_env, kill_after, run_cli, start_cli
from vmrig import busybox_rootfs


@pytest.fixture(scope="module")
def image():
    return vmrig.build_image()


def booted_vm(image, folder: str):
    """A test VM with its own key, up to its SSH banner; stopped when the fixture ends."""
    key = vmrig.make_key(folder)
    machine = vmrig.VM(image, os.path.join(folder, "vm"), key + ".pub").start()
    machine.key = key
    try:
        machine.wait_for_ssh_banner()
        yield machine
    finally:
        machine.stop()


@pytest.fixture(scope="module")
def vm(image, tmp_path_factory):
    yield from booted_vm(image, str(tmp_path_factory.mktemp("vm")))


def docker(env_lines: str, *args, check=True, timeout=180):
    env = dict(os.environ)
    for line in env_lines.splitlines():
        if line.startswith("export "):
            k, v = line[len("export "):].split("=", 1)
            env[k] = v.strip('"')
    env["DOCKER_CONFIG"] = env.get("DOCKER_CONFIG_FOR_TEST", "/tmp/mt-docker-config")
    r = subprocess.run(["docker", *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def generic_args(vm, name, *extra):
    return ["create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-port", str(vm.ssh_port),
            "--generic-ssh-key", vm.key, "--generic-engine-port", str(vm.engine_port), *extra, name]


def test_provisioning_faults_name_the_step_and_leave_a_removable_machine(vm, store, tmp_path):
    env = clean_env(store, DOCKER_CONFIG=str(tmp_path / "docker-config"), MACHINE_WAIT_RETRIES="3")
    # an engine option dockerd refuses: the daemon never comes up
    r = run_cli(generic_args(vm, "badopt", "--engine-opt", "no-such-daemon-flag=1"), env, timeout=600)
    assert r.returncode == 1
    assert r.stderr.startswith("Error creating machine: Error running provisioning: starting Docker: "), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    row = run_cli(["ls"], env).stdout.splitlines()[1]
    assert row.split()[:4] == ["badopt", "-", "generic", "Error"]
    assert run_cli(["rm", "-f", "badopt"], env).returncode == 0

    # an unsupported OS is named, with the supported ones
    ssh_root = ["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=quiet", "-i", vm.key, "-p", str(vm.ssh_port), "root@127.0.0.1"]
    subprocess.run(ssh_root + ["cp /etc/os-release /root/os-release.bak && "
                               "sed -i 's/^ID=debian/ID=plan9/' /usr/lib/os-release"], check=True)
    r = run_cli(generic_args(vm, "plan9"), env, timeout=600)
    subprocess.run(ssh_root + ["cp /root/os-release.bak /usr/lib/os-release"], check=True)
    assert r.returncode == 1
    assert 'detecting the OS: Error detecting OS: OS type not recognized: ID="plan9"; supported: ' in r.stderr
    assert run_cli(["rm", "-f", "plan9"], env).returncode == 0

    # a host without Docker, and no install script allowed (offline): the install step says so
    subprocess.run(ssh_root + ["mv /usr/sbin/dockerd /usr/sbin/dockerd.away && mv /usr/bin/docker /usr/bin/docker.away"],
                   check=True)
    r = run_cli(generic_args(vm, "nodocker", "--engine-install-url", "none"), env, timeout=600)
    subprocess.run(ssh_root + ["mv /usr/sbin/dockerd.away /usr/sbin/dockerd && mv /usr/bin/docker.away /usr/bin/docker"],
                   check=True)
    assert r.returncode == 1
    assert "installing Docker: Docker is not installed on the host and --engine-install-url is none" in r.stderr
    assert run_cli(["rm", "-f", "nodocker"], env).returncode == 0

    # a user whose sudo wants a password: refused at once, not a hang
    subprocess.run(ssh_root + ["useradd -m bob && mkdir -p ~bob/.ssh && cp /root/.ssh/authorized_keys ~bob/.ssh/ && "
                               "chown -R bob ~bob/.ssh && echo 'bob ALL=(ALL) ALL' > /etc/sudoers.d/bob"], check=True)
    r = run_cli(generic_args(vm, "bob", "--generic-ssh-user", "bob"), env, timeout=600)
    assert r.returncode == 1
    assert "setting the hostname" in r.stderr and "password is required" in r.stderr, r.stderr
    assert run_cli(["rm", "-f", "bob"], env).returncode == 0


def test_generic_create_env_docker_certs_ssh_and_rm(vm, store, tmp_path):
    env = clean_env(store, DOCKER_CONFIG=str(tmp_path / "docker-config"))
    os.environ["DOCKER_CONFIG_FOR_TEST"] = env["DOCKER_CONFIG"]
    r = run_cli(["create", "-d", "generic", "--generic-ip-address", "127.0.0.1",
                 "--generic-ssh-port", str(vm.ssh_port), "--generic-ssh-key", vm.key,
                 "--generic-engine-port", str(vm.engine_port),
                 "--engine-label", "spam=eggs", "--engine-env", "TEST=VALUE", "--engine-opt", "log-driver=none",
                 "--engine-insecure-registry", "registry.example:5000", "gen1"], env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr + vm.console[-2000:]
    assert "Docker is up and running!" in r.stdout
    assert r.stdout.count("Provisioning with debian...") == 1, r.stdout
    mdir = os.path.join(store, "machines", "gen1")
    assert {"ca.pem", "cert.pem", "key.pem", "server.pem", "server-key.pem", "id_test", "known_hosts"} <= set(os.listdir(mdir))
    for f in ("key.pem", "server-key.pem", "id_test", "known_hosts", "config.json"):
        assert oct(os.stat(os.path.join(mdir, f)).st_mode & 0o777) == "0o600", f

    ls = run_cli(["ls"], env).stdout.splitlines()[1]
    assert ls.split()[:4] == ["gen1", "-", "generic", "Running"]
    assert "v20.10" in ls

    lines = run_cli(["env", "gen1"], env).stdout
    assert f'export DOCKER_HOST="tcp://127.0.0.1:{vm.engine_port}"' in lines
    version = docker(lines, "version", "--format", "{{.Server.Version}}")
    assert version.stdout.startswith("20.10")
    info = json.loads(docker(lines, "info", "--format", "{{json .}}").stdout)
    assert "spam=eggs" in info["Labels"] and "provider=generic" in info["Labels"]
    assert info["LoggingDriver"] == "none"
    assert "registry.example:5000" in json.dumps(info["RegistryConfig"])
    assert info["Driver"] == "overlay2"

    # a client without our certificates is refused
    plain = subprocess.run(["docker", "-H", f"tcp://127.0.0.1:{vm.engine_port}", "version"],
                           capture_output=True, text=True, timeout=60, env={**os.environ, "DOCKER_CONFIG": env["DOCKER_CONFIG"]})
    assert plain.returncode != 0

    # the docker context named after the machine works without eval
    ctx = subprocess.run(["docker", "--context", "gen1", "version", "--format", "{{.Server.Version}}"],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "DOCKER_CONFIG": env["DOCKER_CONFIG"]})
    assert ctx.returncode == 0, ctx.stderr

    # a container from an image made here (the guest cannot pull)
    tar = busybox_rootfs(str(tmp_path))
    docker(lines, "import", tar, "local/busybox:1")
    out = docker(lines, "run", "--rm", "local/busybox:1", "/bin/busybox", "echo", "hello from the vm")
    assert out.stdout.strip() == "hello from the vm"

    # dockerd got the engine env
    envline = run_cli(["ssh", "gen1", "--", "cat /proc/$(pidof dockerd)/environ | tr '\\0' '\\n' | grep TEST="], env)
    assert envline.stdout.strip() == "TEST=VALUE"

    # ssh passes the remote exit code back, native and external
    assert run_cli(["ssh", "gen1", "--", "uname", "-s"], env).stdout.strip() == "Linux"
    assert run_cli(["ssh", "gen1", "--", "exit", "7"], env).returncode == 7
    assert run_cli(["--native-ssh", "ssh", "gen1", "--", "exit", "5"], env).returncode == 5
    assert run_cli(["--native-ssh", "ssh", "gen1", "echo", "foo"], env).stdout == "foo\n"

    # scp both ways
    local = tmp_path / "hello.txt"
    local.write_text("hi there\n")
    assert run_cli(["scp", str(local), "gen1:/tmp/hello.txt"], env).returncode == 0
    back = tmp_path / "back.txt"
    assert run_cli(["scp", "gen1:/tmp/hello.txt", str(back)], env).returncode == 0
    assert back.read_text() == "hi there\n"
    assert run_cli(["scp", "-d", "-q", str(local), "gen1:/tmp/delta.txt"], env).returncode == 0
    assert run_cli(["scp", "gen1:/tmp/delta.txt", "gen1:/tmp/m2m.txt"], env).returncode == 0  # machine to machine
    assert run_cli(["ssh", "gen1", "--", "cat", "/tmp/m2m.txt"], env).stdout == "hi there\n"

    # mount over sshfs, and unmount
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = run_cli(["mount", "gen1:/etc", str(mnt)], env)
    assert r.returncode == 0, r.stderr
    try:
        assert (mnt / "hostname").read_text().strip() == "gen1"
    finally:
        assert run_cli(["mount", "-u", "gen1:/etc", str(mnt)], env).returncode == 0
    assert not (mnt / "hostname").exists()

    # regenerate-certs: new server cert, the docker CLI still works
    old = open(os.path.join(mdir, "server.pem")).read()
    r = run_cli(["regenerate-certs", "-f", "gen1"], env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert open(os.path.join(mdir, "server.pem")).read() != old
    docker(lines, "version")

    # generic hosts: stop/kill are not ours to do (as in docker-machine), restart reboots over SSH
    r = run_cli(["stop", "gen1"], env)
    assert (r.returncode, r.stderr) == (1, "generic driver does not support stop\n")
    r = run_cli(["restart", "gen1"], env, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr + vm.console[-1500:]
    assert "Restarted machines may have new IP addresses" in r.stdout
    docker(lines, "version")

    # a swapped host key is refused
    pinned = open(os.path.join(mdir, "known_hosts")).read()
    with open(os.path.join(mdir, "known_hosts"), "w") as fh:
        fh.write(pinned.split(" ")[0] + " ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBX2hWxL4eNV4KK3wsH1G5Wq9aAdmB8tyYNrrtBm2rU1\n")
    r = run_cli(["--native-ssh", "ssh", "gen1", "--", "true"], env)
    assert r.returncode != 0 and "not the one pinned" in r.stderr
    with open(os.path.join(mdir, "known_hosts"), "w") as fh:
        fh.write(pinned)

    # the host goes down: docker-machine's answers
    vm.stop()
    assert run_cli(["status", "gen1"], env).stdout == "Stopped\n"
    r = run_cli(["url", "gen1"], env)
    assert (r.returncode, r.stderr) == (1, "Host is not running\n")
    r = run_cli(["ssh", "gen1", "true"], env)
    assert r.stderr == 'Error: Cannot run SSH command: Host "gen1" is not running\n'
    assert run_cli(["ip", "gen1"], env).stdout == "127.0.0.1\n"
    assert run_cli(["ls"], env).stdout.splitlines()[1].split()[:4] == ["gen1", "-", "generic", "Stopped"]

    # rm: machine, docker context and files gone
    assert run_cli(["rm", "-y", "gen1"], env).returncode == 0
    assert not os.path.exists(mdir)
    ctxs = subprocess.run(["docker", "context", "ls", "--format", "{{.Name}}"], capture_output=True, text=True,
                          env={**os.environ, "DOCKER_CONFIG": env["DOCKER_CONFIG"]}).stdout.split()
    assert "gen1" not in ctxs


@pytest.fixture
def own_vm(image, tmp_path):
    """A VM of its own (the module's shared one is stopped by the test before)."""
    yield from booted_vm(image, str(tmp_path))


def test_generic_create_killed_at_random_moments_reads_error_and_the_next_one_works(own_vm, store, tmp_path):
    """kill -9 anywhere in a real provisioning (SSH wait, OS detection, hostname, certificates, dockerd restart):
    the machine reads Error with the step it stopped during, rm -f removes it, a later create succeeds."""
    import random
    import time

    vm = own_vm

    env = clean_env(store, DOCKER_CONFIG=str(tmp_path / "docker-config"))
    started = time.monotonic()
    assert run_cli(generic_args(vm, "probe"), env, timeout=600).returncode == 0
    full = time.monotonic() - started
    assert run_cli(["rm", "-y", "probe"], env).returncode == 0
    rng = random.Random(3)
    steps = set()
    for i in range(10):
        name = f"k{i}"
        # one kill in each tenth of a create's time: spread over the steps whatever this machine's speed
        interrupted = kill_after(start_cli(generic_args(vm, name), env), max(0.3, full * (i + rng.random()) / 10))
        rows = assert_store_sound(store, env)
        if interrupted and name in rows:
            line = run_cli(["ls", "--format", "{{.State}}|{{.Error}}", "--filter", f"name=^{name}$"], env).stdout
            state, error = line.strip().split("|", 1)
            assert state == "Error" and error.startswith("create did not finish (stopped during: "), line
            steps.add(error)
        assert run_cli(["rm", "-f", "-y", name], env).returncode == 0
        assert name not in run_cli(["ls", "-q"], env).stdout.split()
    assert len(steps) >= 2, steps  # the kills landed in different steps (most of a create is SSH and dockerd)
    r = run_cli(generic_args(vm, "after"), env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert run_cli(["ls", "--format", "{{.Name}} {{.State}} {{.Error}}"], env).stdout.startswith("after Running")
    assert run_cli(["rm", "-y", "after"], env).returncode == 0
