"""End to end through a docker-machine driver plugin: the Go test plugin (net/rpc and gob, as libmachine's plugins
speak) starts a real QEMU guest and reports its SSH address; machine-tui provisions it, the real docker CLI reaches
its engine over TLS, stop/start go through the plugin, and rm through it removes the guest."""

from __future__ import annotations

import json
import os
import shlex

import vmrig
from conftest import clean_env, run_cli, with_plugins


def test_a_machine_made_by_a_go_plugin_on_a_real_vm(store, tmp_path, lab_bin):
    image = vmrig.build_image(cloud_init=False)
    key = vmrig.make_key(str(tmp_path))
    vm = vmrig.VM(image, str(tmp_path / "vm"), key + ".pub")
    vm.prepare_disk()
    pid_file = os.path.join(vm.dir, "qemu.pid")
    env = with_plugins(clean_env(store, DOCKER_CONFIG=str(tmp_path / "docker-config")), lab_bin)
    r = run_cli(["create", "-d", "lab", "--lab-vm-command", shlex.join([*vm.command(), "-daemonize"]),
                 "--lab-pid-file", pid_file, "--lab-ssh-port", str(vm.ssh_port), "--lab-ssh-user", "root",
                 "--lab-ssh-key", key, "--lab-engine-port", str(vm.engine_port),
                 "--lab-qmp-socket", os.path.join(vm.dir, "qmp.sock"), "pl1"], env, timeout=1500)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert "(pl1) Creating the lab machine..." in r.stdout and "Docker is up and running!" in r.stdout
    with open(os.path.join(store, "machines", "pl1", "config.json")) as f:
        doc = json.load(f)
    assert doc["DriverName"] == "lab" and doc["Driver"]["EnginePort"] == vm.engine_port
    assert vmrig.docker(env, "pl1", "info", "--format", "{{.Name}}").strip() == "pl1"  # TLS, our certificates

    # a second process reads what the first wrote, and each verb goes through the plugin
    row = run_cli(["ls", "--format", "{{.Name}} {{.DriverName}} {{.State}} {{.URL}}"], env).stdout
    assert row == f"pl1 lab Running tcp://127.0.0.1:{vm.engine_port}\n"
    r = run_cli(["stop", "pl1"], env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert run_cli(["status", "pl1"], env).stdout == "Stopped\n"
    r = run_cli(["start", "pl1"], env, timeout=1200)
    assert r.returncode == 0, r.stdout + r.stderr
    assert vmrig.docker(env, "pl1", "info", "--format", "{{.Name}}").strip() == "pl1"
    with open(pid_file) as f:
        pid = int(f.read().strip())
    r = run_cli(["rm", "-y", "pl1"], env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(f"/proc/{pid}")  # the plugin's Remove ended the guest
    assert run_cli(["ls", "-q"], env).stdout == ""
