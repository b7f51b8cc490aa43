"""docker-machine's plugin protocol against a plugin built with Go's own net/rpc and gob: every call the client
makes, each kind of flag, a driver's error, a crash in the middle of a call, a hang (bounded), another API version,
the service name of plugins older than docker-machine 0.5.1, and the heartbeat that keeps a long call alive."""

from __future__ import annotations

import json
import os

import pytest
from machine_tui.core.drivers.plugin import flag_from_plugin
from machine_tui.core.plugins import gob
from machine_tui.core.plugins.rpc import RPC_FLAGS, RPC_FLAGS_NAME, Plugin, PluginError, RemoteError


def lab(lab_bin: str, **kwargs) -> Plugin:
    return Plugin("lab", os.path.join(lab_bin, "docker-machine-driver-lab"), **kwargs)


def configure(plugin: Plugin, values: dict, config: dict | None = None) -> dict:
    plugin.call("SetConfigRaw", gob.BYTES, json.dumps(config or {"MachineName": "m1"}).encode())
    plugin.call("SetConfigFromFlags", gob.INTERFACE, gob.Concrete(RPC_FLAGS_NAME, RPC_FLAGS, {"Values": values}))
    return json.loads(plugin.call("GetConfigRaw"))


def test_every_call_of_a_machines_life_is_answered_by_a_go_plugin(lab_bin):
    said: list[str] = []
    with lab(lab_bin, on_output=said.append).start() as plugin:
        flags = {f.name: f for f in map(flag_from_plugin, plugin.call("GetCreateFlags"))}
        text, number, switch, items = (flags[n] for n in ("lab-text", "lab-number", "lab-switch", "lab-items"))
        assert (text.kind, text.default, text.env, text.usage) == ("string", "plain", "LAB_TEXT", "Some text")
        assert (number.kind, number.default, number.env) == ("int", 3, "LAB_NUMBER")
        assert (switch.kind, switch.default, switch.env) == ("bool", None, "LAB_SWITCH")
        assert (items.kind, items.default, items.env) == ("list", ["a", "b"], "LAB_ITEMS")
        driver = configure(plugin, {"lab-text": "héllo", "lab-number": -7 + 12, "lab-switch": True,
                                    "lab-items": ["x", "y"], "lab-ssh-host": "127.0.0.1", "lab-ssh-port": 2222,
                                    "lab-ssh-user": "me", "lab-ssh-key": "/k", "swarm-master": True,
                                    "swarm-host": "tcp://0.0.0.0:3376"})
        assert (driver["Text"], driver["Number"], driver["Switch"], driver["Items"]) == ("héllo", 5, True, ["x", "y"])
        assert (driver["MachineName"], driver["SwarmMaster"], driver["SwarmHost"]) == ("m1", True, "tcp://0.0.0.0:3376")
        assert plugin.call("DriverName") == "lab" and plugin.call("GetMachineName") == "m1"
        plugin.call("PreCreateCheck")
        plugin.call("Create")
        assert plugin.call("GetState") == 1  # libmachine's state.Running
        assert (plugin.call("GetIP"), plugin.call("GetURL")) == ("127.0.0.1", "tcp://127.0.0.1:2376")
        assert [plugin.call(m) for m in ("GetSSHHostname", "GetSSHPort", "GetSSHUsername", "GetSSHKeyPath")] == \
            ["127.0.0.1", 2222, "me", "/k"]
        plugin.call("Stop")
        assert plugin.call("GetState") == 4  # Stopped
        for method in ("Start", "Restart", "Kill", "Remove"):
            plugin.call(method)
        calls = json.loads(plugin.call("GetConfigRaw"))["Calls"]
        assert calls == ["SetConfigFromFlags", "PreCreateCheck", "Create", "GetState", "GetIP", "GetURL", "Stop",
                         "GetState", "Start", "Restart", "Kill", "Remove"]
    assert plugin.proc.wait(10) == 0  # Close ends the plugin as docker-machine's does
    assert said == ["Creating the lab machine..."]  # what it prints after its address is its progress


def test_a_drivers_error_comes_back_in_its_own_words_and_the_plugin_goes_on(lab_bin):
    with lab(lab_bin).start() as plugin:
        configure(plugin, {"lab-misbehave": "fail:GetState"})
        with pytest.raises(RemoteError, match=r"^lab: GetState failed as asked$"):
            plugin.call("GetState")
        assert plugin.call("GetIP") == ""
        with pytest.raises(RemoteError, match=r"^Host is not running$"):  # libmachine's words for it
            plugin.call("GetURL")
        with pytest.raises(RemoteError, match="can't find method RPCServerDriver.Upgrade"):
            plugin.call("Upgrade")


def test_a_plugin_that_crashes_in_the_middle_of_a_call_is_one_line_naming_it(lab_bin):
    with lab(lab_bin).start() as plugin:
        configure(plugin, {"lab-misbehave": "crash:Create"})
        with pytest.raises(PluginError) as err:
            plugin.call("Create")
    assert str(err.value) == "docker-machine-driver-lab: the plugin exited (status 3): lab: crashing in Create as asked"


def test_a_hung_plugin_is_stopped_at_its_bound(lab_bin, monkeypatch):
    monkeypatch.setenv("MACHINE_TUI_PLUGIN_TIMEOUT", "2")
    plugin = lab(lab_bin).start()
    configure(plugin, {"lab-misbehave": "hang:GetState"})
    with pytest.raises(PluginError) as err:
        plugin.call("GetState")
    assert str(err.value) == "docker-machine-driver-lab: no answer to GetState within 2 s: the plugin was stopped"
    assert plugin.proc.poll() is not None  # killed, not left behind


def test_a_plugin_of_another_api_version_is_refused_in_one_line(lab_bin, monkeypatch):
    monkeypatch.setenv("LAB_API_VERSION", "2")
    with pytest.raises(PluginError) as err:
        lab(lab_bin).start()
    assert str(err.value) == ("docker-machine-driver-lab uses an incompatible API version (2); machine-tui speaks "
                              "version 1, as docker-machine 0.16 does")


def test_a_plugin_from_before_docker_machine_0_5_1_answers_to_its_old_service_name(lab_bin, monkeypatch):
    monkeypatch.setenv("LAB_OLD_SERVICE", "1")
    with lab(lab_bin).start() as plugin:
        assert plugin.service == "RpcServerDriver"
        assert configure(plugin, {"lab-number": 9})["Number"] == 9


def test_the_heartbeat_keeps_a_plugin_alive_through_a_call_longer_than_its_patience(lab_bin, monkeypatch):
    # this plugin exits after 1.5 s without a heartbeat (libmachine's: 10 s, beaten every 5 s): a 4-second create
    # only ends well if the client beats
    monkeypatch.setenv("LAB_PATIENCE", "1.5")
    with lab(lab_bin, heartbeat_every=0.5).start() as plugin:
        configure(plugin, {"lab-create-seconds": 4})
        plugin.call("Create", bound=600)
        assert plugin.call("GetState") == 1


def test_a_program_that_is_not_a_plugin_is_named(tmp_path):
    fake = tmp_path / "docker-machine-driver-fake"
    fake.write_text("#!/bin/sh\necho 'hello there'\nsleep 30\n")
    fake.chmod(0o755)
    with pytest.raises(PluginError) as err:
        Plugin("fake", str(fake)).start()
    assert str(err.value) == ("docker-machine-driver-fake printed 'hello there', not an address: it is not a "
                              "docker-machine driver plugin")
