"""The store: docker-machine's layout and bytes, migrations, broken machines, moved stores, the lock."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import stat

import pytest
from conftest import FIXTURES
from machine_tui.core import gojson
from machine_tui.core.errors import MachineNotFound
from machine_tui.core.store import LoadError, Store

FIXTURE_STORES = sorted(d for d in os.listdir(FIXTURES) if d.startswith("store-"))


def copy_store(name, dest):
    shutil.copytree(os.path.join(FIXTURES, name), dest)
    for root, dirs, files in os.walk(dest):
        os.chmod(root, 0o700)
        for f in files:
            os.chmod(os.path.join(root, f), 0o600)
    return Store(str(dest))


@pytest.mark.parametrize("fixture", FIXTURE_STORES)
def test_every_store_docker_machine_wrote_loads_and_saves_back_identically(tmp_path, fixture):
    store = copy_store(fixture, tmp_path / fixture)
    names = store.list_names()
    assert names
    for name in names:
        host = store.load(name)
        original = open(store.config_path(name)).read()
        # moved store: paths now point into the copy
        assert host.driver_config["StorePath"] == store.path
        assert host.auth["CertDir"] == os.path.join(store.path, "certs")
        # written back at its original place, the bytes are docker-machine's own
        host_at_home = json.loads(original)
        assert gojson.marshal_indent(host_at_home) == original


def test_save_is_docker_machine_format_and_private(tmp_path):
    store = copy_store("store-after-create-none", tmp_path / "s")
    host = store.load("nonehost")
    store.save(host)
    path = store.config_path("nonehost")
    data = open(path).read()
    assert not data.endswith("\n")
    assert data.startswith('{\n    "ConfigVersion": 3,\n    "Driver": {\n        "IPAddress"')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [f for f in os.listdir(host.dir) if ".tmp" in f]


def test_unknown_driver_json_is_kept_verbatim(tmp_path):
    store = copy_store("store-after-create-none", tmp_path / "s")
    cfg = json.loads(open(store.config_path("nonehost")).read())
    cfg["DriverName"] = "amazonec2"
    cfg["Driver"] = {"IPAddress": "1.2.3.4", "MachineName": "nonehost", "StorePath": store.path,
                     "AccessKey": "AKIA", "Tags": "a,b", "VolumeSize": 16, "Nested": {"z": 1, "a": [1, 2]}}
    text = gojson.marshal_indent(cfg)
    open(store.config_path("nonehost"), "w").write(text)
    host = store.load("nonehost")
    store.save(host)
    assert open(store.config_path("nonehost")).read() == text


def test_corrupt_and_empty_machines_are_error_rows_not_failures(tmp_path, cli):
    store = copy_store("store-after-create-none", tmp_path / "s")
    os.mkdir(store.machine_dir("empty"), 0o700)
    os.mkdir(store.machine_dir("broken"), 0o700)
    open(store.config_path("broken"), "w").write('{"ConfigVersion": 3, nope')
    os.mkdir(store.machine_dir("cut"), 0o700)
    open(store.config_path("cut"), "w").write('{"ConfigVersion": 3, "Driver": {')
    with pytest.raises(LoadError) as err:
        store.load("broken")
    assert str(err.value) == "Error getting migrated host: invalid character 'n' looking for beginning of object key string"
    with pytest.raises(LoadError) as err:
        store.load("cut")
    assert str(err.value) == "Error getting migrated host: unexpected end of JSON input"
    with pytest.raises(LoadError) as err:
        store.load("empty")
    assert "config.json: no such file or directory" in str(err.value)

    from conftest import clean_env, run_cli

    r = run_cli(["ls", "-t", "2"], clean_env(store.path))
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[1].startswith("nonehost ")
    assert [l.split()[0] for l in lines[2:]] == ["broken", "cut", "empty"]
    assert "not found   Error" in lines[2]
    q = run_cli(["ls", "-q"], clean_env(store.path))
    assert q.stdout == "nonehost\n"


def test_missing_machine(tmp_path):
    store = Store(str(tmp_path / "s"))
    with pytest.raises(MachineNotFound):
        store.load("ghost")


V1_CONFIG = {
    "ConfigVersion": 1,
    "Driver": {"IPAddress": "10.0.0.5", "MachineName": "old", "SSHUser": "docker", "SSHPort": 22},
    "DriverName": "generic",
    "HostOptions": {
        "Driver": "", "Memory": 0, "Disk": 0,
        "EngineOptions": {"TlsVerify": True, "InstallURL": "https://get.docker.com"},
        "SwarmOptions": {"IsSwarm": False, "Host": "tcp://0.0.0.0:3376"},
        "AuthOptions": {
            "StorePath": "STORE/machines/old",
            "CaCertPath": "STORE/certs/ca.pem",
            "PrivateKeyPath": "STORE/certs/ca-key.pem",
            "ClientCertPath": "STORE/certs/cert.pem",
            "ClientKeyPath": "STORE/certs/key.pem",
            "ServerCertPath": "STORE/machines/old/server.pem",
            "ServerKeyPath": "STORE/machines/old/server-key.pem",
        },
    },
    "Name": "old",
}


def test_v1_config_is_migrated_with_backup(tmp_path):
    store = Store(str(tmp_path / "s"))
    os.makedirs(store.machine_dir("old"), 0o700)
    original = json.dumps(V1_CONFIG).replace("STORE", store.path)
    open(store.config_path("old"), "w").write(original)
    host = store.load("old")
    assert host.doc["ConfigVersion"] == 3
    assert host.auth["CaPrivateKeyPath"] == os.path.join(store.path, "certs", "ca-key.pem")
    assert "PrivateKeyPath" not in host.auth
    assert host.auth["CertDir"] == os.path.join(store.path, "certs")
    assert host.driver_config["StorePath"] == store.path
    assert open(store.config_path("old") + ".bak").read() == original
    assert json.loads(open(store.config_path("old")).read())["ConfigVersion"] == 3


def test_v0_config_is_migrated(tmp_path):
    store = Store(str(tmp_path / "s"))
    os.makedirs(store.machine_dir("ancient"), 0o700)
    v0 = {"Driver": {"IPAddress": "10.0.0.6"}, "DriverName": "none", "StorePath": f"{store.path}/machines/ancient",
          "CaCertPath": f"{store.path}/certs/ca.pem", "PrivateKeyPath": f"{store.path}/certs/ca-key.pem",
          "SwarmMaster": True, "SwarmDiscovery": "token://x", "SwarmHost": "tcp://0.0.0.0:3376"}
    open(store.config_path("ancient"), "w").write(json.dumps(v0))
    host = store.load("ancient")
    assert host.doc["ConfigVersion"] == 3
    assert host.swarm["Master"] is True and host.swarm["Discovery"] == "token://x"
    assert host.auth["CaPrivateKeyPath"].endswith("certs/ca-key.pem")


def test_config_from_the_future_is_refused(tmp_path):
    store = Store(str(tmp_path / "s"))
    os.makedirs(store.machine_dir("future"), 0o700)
    open(store.config_path("future"), "w").write('{"ConfigVersion": 4}')
    with pytest.raises(LoadError, match="config version is from the future"):
        store.load("future")


def _bump_label(path, n):
    store = Store(path)
    for i in range(n):
        store.update("nonehost", lambda h: h.engine["Labels"].append(f"w{os.getpid()}-{i}"))


def test_concurrent_writers_never_lose_an_update(tmp_path):
    store = copy_store("store-after-create-none", tmp_path / "s")
    procs = [multiprocessing.Process(target=_bump_label, args=(store.path, 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    labels = store.load("nonehost").engine["Labels"]
    assert len(labels) == 100
