"""The VirtualBox stand-ins as the tests drive them: VBoxManage's emulator on PATH with its state and call log, and
a virtualbox machine made through the core without running its create."""

from __future__ import annotations

import json
import os

import pytest
from machine_tui.core import operations
from machine_tui.core.store import Store

EMULATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vbox")


class VBox:
    def __init__(self, folder):
        self.state_file, self.log_file = str(folder / "vbox-state.json"), str(folder / "vbox-calls.log")
        self.env = {"PATH": EMULATOR + os.pathsep + os.environ["PATH"], "VBOX_EMULATOR_STATE": self.state_file,
                    "VBOX_EMULATOR_LOG": self.log_file}

    def calls(self) -> list[list[str]]:
        if not os.path.exists(self.log_file):
            return []
        with open(self.log_file) as fh:
            return [json.loads(line) for line in fh]

    def reset_calls(self):
        if os.path.exists(self.log_file):
            os.unlink(self.log_file)

    def state(self) -> dict:
        with open(self.state_file) as fh:
            return json.load(fh)


@pytest.fixture
def vbox(tmp_path, monkeypatch):
    v = VBox(tmp_path)
    for k, val in v.env.items():
        monkeypatch.setenv(k, val)
    return v


def new_machine(store_path, name="default", **flags):
    store = Store(store_path)
    opts = {"virtualbox-no-vtx-check": True, "virtualbox-disk-size": 8, **flags}
    host, driver = operations.build_host(store, name, "virtualbox", opts, operations.TLSFiles())
    store.create_machine_dir(name)
    return store, host, driver
