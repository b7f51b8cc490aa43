"""A docker-machine driver plugin is a driver like the others: its flags in `create --help`, completion and
`drivers`; docker-machine's words and exit codes when it refuses; a machine it made lives through ls, status, url,
ip, stop, kill, inspect, ssh and rm, with config.json keeping the plugin's own JSON. (start and restart wait for
Docker, as docker-machine's do: the VM test drives them.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import clean_env, run_cli, with_plugins


def stored_lab_machine(env, store, name="m1", **driver) -> str:
    """A machine made with the lab plugin, as its config.json reads (DriverName and the plugin's JSON)."""
    r = run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", name], env)
    assert r.returncode == 0, r.stderr
    path = os.path.join(store, "machines", name, "config.json")
    with open(path) as f:
        doc = json.load(f)
    doc["DriverName"] = "lab"
    doc["Driver"] = {"IPAddress": "127.0.0.1", "MachineName": name, "SSHUser": "docker", "SSHPort": 22,
                     "SSHKeyPath": "", "StorePath": store, "SwarmMaster": False, "SwarmHost": "",
                     "SwarmDiscovery": "", "Text": "kept", "State": 1, "Calls": None, **driver}
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def driver_json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)["Driver"]


def test_the_plugins_flags_are_in_help_completion_and_the_driver_list(store, lab_bin):
    env = with_plugins(clean_env(store), lab_bin)
    helptext = run_cli(["create", "-d", "lab", "--help"], env).stdout
    lines = {line.split()[0]: line for line in helptext.splitlines() if line.strip().startswith("--lab-")}
    assert '"plain"' in lines["--lab-text"] and "Some text [$LAB_TEXT]" in lines["--lab-text"]
    assert '"3"' in lines["--lab-number"] and "[$LAB_NUMBER]" in lines["--lab-number"]
    assert "--lab-items" in lines and "--lab-switch" in lines
    assert "lab-create-seconds" in run_cli(["completion", "bash"], env).stdout
    rows = [line.split(None, 2) for line in run_cli(["drivers"], env).stdout.splitlines()]
    assert ["lab", "plugin", f"binary {lab_bin}/docker-machine-driver-lab   -"] in rows


def test_a_refusal_is_said_in_docker_machines_words_and_writes_nothing(store, lab_bin, tmp_path):
    env = with_plugins(clean_env(store), lab_bin)
    r = run_cli(["create", "-d", "lab", "--lab-number", "-2", "m1"], env)
    assert (r.returncode, r.stderr) == (1, "Error setting machine configuration from flags provided: lab-number must "
                                           "not be negative\n")
    r = run_cli(["create", "-d", "lab", "--lab-misbehave", "fail:PreCreateCheck", "m1"], env)
    assert (r.returncode, r.stderr) == (3, 'Error with pre-create check: "lab: PreCreateCheck failed as asked"\n')
    assert not os.path.exists(os.path.join(store, "machines", "m1"))
    # a driver name that would be a path is never looked up, even where such a path exists
    (tmp_path / "docker-machine-driver-..").mkdir()
    r = subprocess.run([sys.executable, "-m", "machine_tui.cli", "create", "-d", "../lab", "m2"], env=env,
                       cwd=tmp_path, capture_output=True, text=True)
    assert (r.returncode, r.stderr) == (1, 'Driver "../lab" not found. Do you have the plugin binary '
                                           '"docker-machine-driver-../lab" accessible in your PATH?\n')


def test_a_create_the_driver_fails_says_so_and_stays_removable(store, lab_bin):
    env = with_plugins(clean_env(store), lab_bin)
    r = run_cli(["create", "-d", "lab", "--lab-misbehave", "fail:Create", "--lab-text", "given", "m1"], env)
    assert r.returncode == 1
    assert r.stderr == "Error creating machine: Error in driver during machine creation: lab: Create failed as asked\n"
    assert "(m1) Creating the lab machine..." in r.stdout  # the plugin's own progress, as docker-machine shows it
    doc = json.load(open(os.path.join(store, "machines", "m1", "config.json")))
    assert doc["DriverName"] == "lab"
    assert (doc["Driver"]["Text"], doc["Driver"]["Calls"]) == ("given", ["SetConfigFromFlags", "PreCreateCheck",
                                                                         "Create"])
    r = run_cli(["rm", "-y", "m1"], env)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(os.path.join(store, "machines", "m1"))


def test_a_plugin_machine_lives_through_every_verb(store, lab_bin):
    env = with_plugins(clean_env(store), lab_bin)
    path = stored_lab_machine(env, store)
    fmt = ["ls", "--format", "{{.Name}} {{.DriverName}} {{.State}} {{.URL}}"]
    assert run_cli(fmt, env).stdout == "m1 lab Running tcp://127.0.0.1:2376\n"
    assert run_cli(["status", "m1"], env).stdout == "Running\n"
    assert run_cli(["url", "m1"], env).stdout == "tcp://127.0.0.1:2376\n"
    assert run_cli(["ip", "m1"], env).stdout == "127.0.0.1\n"
    r = run_cli(["stop", "m1"], env)
    assert r.returncode == 0 and 'Machine "m1" was stopped.' in r.stdout, r.stderr
    assert run_cli(["status", "m1"], env).stdout == "Stopped\n"
    driver = driver_json(path)
    # the plugin's JSON as the Stop run gave it back (the state reads before and after it keep nothing)
    assert (driver["State"], driver["Text"], driver["Calls"]) == (4, "kept", ["Stop"])
    with open(path) as f:
        doc = json.load(f)
    doc["Driver"]["State"] = 1
    with open(path, "w") as f:
        json.dump(doc, f)
    r = run_cli(["kill", "m1"], env)
    assert r.returncode == 0 and 'Machine "m1" was killed.' in r.stdout, r.stderr
    assert driver_json(path)["Calls"] == ["Stop", "Kill"]
    inspected = json.loads(run_cli(["inspect", "m1"], env).stdout)
    assert inspected["DriverName"] == "lab" and inspected["Driver"]["Text"] == "kept"
    r = run_cli(["rm", "-y", "m1"], env)
    assert r.returncode == 0, r.stderr
    assert run_cli(["ls", "-q"], env).stdout == ""


def test_a_broken_plugin_breaks_only_its_own_machines(store, lab_bin):
    env = with_plugins(clean_env(store), lab_bin)
    stored_lab_machine(env, store, "bad", Misbehave="crash:GetURL")
    stored_lab_machine(env, store, "good")
    rows = run_cli(["ls", "--format", "{{.Name}} {{.URL}} {{.Error}}"], env).stdout.splitlines()
    assert rows[0] == ("bad  docker-machine-driver-lab: the plugin exited (status 3): lab: crashing in GetURL as "
                       "asked"), rows
    assert rows[1].startswith("good tcp://127.0.0.1:2376 "), rows
    r = run_cli(["url", "bad"], env)
    assert (r.returncode, r.stderr) == (1, "docker-machine-driver-lab: the plugin exited (status 3): lab: crashing in "
                                           "GetURL as asked\n")
    gone = with_plugins(clean_env(store), "/nonexistent")  # the plugin off PATH: said as docker-machine says it
    gone["PATH"] = gone["PATH"].replace(f"{lab_bin}{os.pathsep}", "")
    r = run_cli(["status", "good"], gone)
    assert r.returncode == 1 and r.stderr.endswith('Driver "lab" not found. Do you have the plugin binary '
                                                   '"docker-machine-driver-lab" accessible in your PATH?\n')
    assert run_cli(["ls", "-q"], gone).stdout == "bad\ngood\n"  # still listed, never rewritten


def test_ssh_goes_where_the_plugin_says(store, lab_bin, sshd):
    env = with_plugins(clean_env(store), lab_bin)
    stored_lab_machine(env, store, SSHPort=sshd.port, SSHUser=sshd.user, SSHKeyPath=sshd.key)
    r = run_cli(["ssh", "m1", "echo", "through the plugin"], env)
    assert (r.returncode, r.stdout) == (0, "through the plugin\n"), r.stderr
