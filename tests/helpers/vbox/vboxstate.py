"""What the VirtualBox stand-ins share: the JSON state file (VMs, host-only interfaces, DHCP servers), the call
log, the version they pretend to be and VirtualBox's rules. `VBoxManage` (the program) and `vboxapi` (the SDK
module) both read and write it, so a VM made through one is seen by the other, as with a real VirtualBox.

Environment: VBOX_EMULATOR_STATE (state file), VBOX_EMULATOR_LOG (calls, one JSON list per line),
VBOX_EMULATOR_VERSION (default 7.0.20r163906), VBOX_EMULATOR_NO_VTX=1 (VMs fail to start as without VT-x)."""

import json
import os
import re


def version() -> str:
    return os.environ.get("VBOX_EMULATOR_VERSION", "7.0.20r163906")


def version_tuple() -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", version().split("r")[0])[:3])


def load() -> dict:
    try:
        with open(os.environ["VBOX_EMULATOR_STATE"]) as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {"vms": {}, "hostonlyifs": [], "dhcpservers": []}


def save(st: dict) -> None:
    path = os.environ["VBOX_EMULATOR_STATE"]
    with open(path + ".tmp", "w") as fh:
        json.dump(st, fh, indent=1)
    os.replace(path + ".tmp", path)


def log_call(entry: list) -> None:
    if os.environ.get("VBOX_EMULATOR_LOG"):
        with open(os.environ["VBOX_EMULATOR_LOG"], "a") as fh:
            fh.write(json.dumps(entry) + "\n")


def allowed_hostonly(ip: str) -> bool:
    """VirtualBox >= 6.1.28 refuses host-only addresses outside 192.168.56.0/21 (no networks.conf here)."""
    if version_tuple() < (6, 1, 28) or on_windows():
        return True
    a, b, c, _ = (int(x) for x in ip.split("."))
    return a == 192 and b == 168 and 56 <= c <= 63


def new_vm(st: dict, name: str, base: str) -> dict:
    os.makedirs(os.path.join(base, name, "Logs"), exist_ok=True)
    open(os.path.join(base, name, f"{name}.vbox"), "w").write("<VirtualBox/>\n")
    uuid = f"{len(st['vms']) + 1:08d}-0000-4000-8000-000000000000"
    vm = {"uuid": uuid, "state": "poweroff", "dir": os.path.join(base, name), "nics": {}, "settings": {},
          "storage": {}, "natpf": {}}
    st["vms"][name] = vm
    return vm


def on_windows() -> bool:
    """VBOX_EMULATOR_HOST=windows: VirtualBox as it is on a Windows host (adapter names, no networks.conf rule)."""
    return os.environ.get("VBOX_EMULATOR_HOST") == "windows"


def new_hostonly_if(st: dict) -> dict:
    index = len(st["hostonlyifs"])
    name = f"vboxnet{index}"
    if on_windows():
        name = "VirtualBox Host-Only Ethernet Adapter" + (f" #{index + 1}" if index else "")
    nic = {"name": name, "guid": f"786f6276-656e-{index:04d}-8000-0a0027000000",
           "ip": f"192.168.{56 + index}.1", "mask": "255.255.255.0", "index": index}
    st["hostonlyifs"].append(nic)
    return nic


def power_up(vm: dict, name: str) -> str | None:
    """Start a VM as VirtualBox does; the failure text when VT-x is missing (VBox.log says why)."""
    log = os.path.join(vm["dir"], "Logs", "VBox.log")
    if os.environ.get("VBOX_EMULATOR_NO_VTX"):
        open(log, "w").write("00:00:01.000 VT-x is disabled. If possible, enable it in the BIOS.\n"
                             "00:00:01.001 Power up failed (vrc=VERR_VMX_NO_VMX, rc=E_FAIL (0X80004005))\n")
        return f"The virtual machine '{name}' has terminated unexpectedly during startup because of signal 6"
    open(log, "w").write("00:00:00.100 VirtualBox VM 7.0.20 r163906 linux.amd64\n00:00:01.000 VMM: fine\n")
    vm["state"] = "running"
    return None
