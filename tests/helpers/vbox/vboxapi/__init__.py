"""A stand-in for the VirtualBox SDK's `vboxapi` module, for the tests of the driver's API path (VirtualBox cannot
run here). It keeps its VMs in the state file the VBoxManage stand-in uses (../vboxstate.py), in VBoxManage's terms,
so a VM made through the API reads back through `VBoxManage showvminfo` and the two paths can be compared.

What it holds to, as the real Main API does: settings change only on a machine locked for writing (a session's
machine) and only persist on saveSettings(); a running VM cannot be write-locked; errors are COM exceptions with
VirtualBox's status codes (VBOX_E_OBJECT_NOT_FOUND, E_ACCESSDENIED...) that VirtualBoxManager's xcpt* helpers
read; long operations return IProgress objects; out parameters come back after the return value."""

from __future__ import annotations

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import vboxstate as vs  # noqa: E402

STATUS = {"E_ACCESSDENIED": 0x80070005, "E_INVALIDARG": 0x80070057, "E_FAIL": 0x80004005,
          "VBOX_E_OBJECT_NOT_FOUND": 0x80BB0001, "VBOX_E_INVALID_VM_STATE": 0x80BB0002,
          "VBOX_E_FILE_ERROR": 0x80BB0004, "VBOX_E_INVALID_OBJECT_STATE": 0x80BB0007,
          "VBOX_E_OBJECT_IN_USE": 0x80BB000C, "VBOX_E_NOT_SUPPORTED": 0x80BB0009}
ENUMS = {
    "MachineState": ["Null", "PoweredOff", "Saved", "Teleported", "Aborted", "Running", "Paused", "Stuck",
                     "Starting", "Stopping", "Saving", "Restoring"],
    "LockType": ["Null", "Shared", "Write", "VM"], "DeviceType": ["Null", "Floppy", "DVD", "HardDisk", "Network"],
    "AccessMode": ["ReadOnly", "ReadWrite"], "MediumVariant": ["Standard"], "StorageBus": ["Null", "IDE", "SATA"],
    "NetworkAttachmentType": ["Null", "NAT", "Bridged", "Internal", "HostOnly"],
    "NetworkAdapterType": ["Null", "Am79C970A", "Am79C973", "I82540EM", "I82543GC", "I82545EM", "Virtio"],
    "NetworkAdapterPromiscModePolicy": ["Deny", "AllowNetwork", "AllowAll"], "NATProtocol": ["UDP", "TCP"],
    "FirmwareType": ["BIOS", "EFI"], "BIOSBootMenuMode": ["Disabled", "MenuOnly", "MessageAndMenu"],
    "CPUPropertyType": ["Null", "PAE", "LongMode"],
    "HWVirtExPropertyType": ["Null", "Enabled", "VPID", "NestedPaging", "UnrestrictedExecution", "LargePages"],
    "HostNetworkInterfaceType": ["Bridged", "HostOnly"],
    "CleanupMode": ["UnregisterOnly", "DetachAllReturnNone", "DetachAllReturnHardDisksOnly", "Full"],
}
STATE_OF = {"poweroff": "PoweredOff", "saved": "Saved", "aborted": "Aborted", "running": "Running",
            "paused": "Paused"}
ONOFF = {True: "on", False: "off"}


class Constants:
    def __init__(self):
        for enum, names in ENUMS.items():
            for value, name in enumerate(names):
                setattr(self, f"{enum}_{name}", value)


C = Constants()


def name_of(enum: str, value: int) -> str:
    return ENUMS[enum][value]


class COMException(Exception):
    """What XPCOM raises: a status code and, when VirtualBox gave extended info, a message."""

    def __init__(self, status: str, message: str | None = None):
        super().__init__(message or status)
        self.errno, self.msg = STATUS[status], message


def log(what: str, *args) -> None:
    vs.log_call(["api", what, *(str(a) for a in args)])


def need_vm(st: dict, name: str) -> dict:
    vm = st["vms"].get(name)
    if vm is None:
        raise COMException("VBOX_E_OBJECT_NOT_FOUND", f"Could not find a registered machine named '{name}'")
    return vm


class Progress:
    def __init__(self, failure: str | None = None):
        self.completed = True
        self.resultCode = STATUS["E_FAIL"] if failure else 0
        self.errorInfo = type("ErrorInfo", (), {"text": failure})() if failure else None

    def waitForCompletion(self, ms: int) -> None:
        pass


# ----- machines
class Machine:
    """A registered machine; read-only unless it is a session's machine (`edits` collects the changes)."""

    def __init__(self, name: str, edits: dict | None = None):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "_edits", edits)

    ATTRS = {"CPUCount": ("cpus", str), "memorySize": ("memory", str), "RTCUseUTC": ("rtcuseutc", ONOFF),
             "firmwareType": ("firmware", lambda v: name_of("FirmwareType", v).lower()),
             "CPUHotPlugEnabled": ("cpuhotplug", ONOFF), "HPETEnabled": ("hpet", ONOFF)}

    def __setattr__(self, attr, value):
        if attr not in self.ATTRS:
            raise AttributeError(f"IMachine has no attribute {attr!r}")
        key, fmt = self.ATTRS[attr]
        self._set(key, fmt[value] if isinstance(fmt, dict) else fmt(value))

    def _need_mutable(self):
        if self._edits is None:
            st = vs.load()
            raise COMException("VBOX_E_INVALID_VM_STATE", "The machine is not mutable (state is "
                               f"{STATE_OF.get(need_vm(st, self.name)['state'], 'PoweredOff')})")

    def _set(self, key: str, value: str) -> None:
        self._need_mutable()
        self._edits["settings"][key] = value

    @property
    def state(self) -> int:
        return getattr(C, "MachineState_" + STATE_OF.get(need_vm(vs.load(), self.name)["state"], "Null"))

    @property
    def CPUCount(self) -> int:
        return int(need_vm(vs.load(), self.name)["settings"].get("cpus", 1))

    @property
    def memorySize(self) -> int:
        return int(need_vm(vs.load(), self.name)["settings"].get("memory", 128))

    @property
    def mediumAttachments(self) -> list:
        out = []
        for args in need_vm(vs.load(), self.name)["storage"].get("storageattach", []):
            o = dict(zip(args[1::2], args[2::2]))
            out.append(type("MediumAttachment", (), {"controller": o["--storagectl"], "port": int(o["--port"]),
                                                     "device": int(o["--device"]), "medium": Medium(o["--medium"])}))
        return out

    @property
    def BIOSSettings(self):
        return Settings(self, {"logoFadeIn": ("bioslogofadein", ONOFF), "logoFadeOut": ("bioslogofadeout", ONOFF),
                               "logoDisplayTime": ("bioslogodisplaytime", str),
                               "bootMenuMode": ("biosbootmenu", lambda v: name_of("BIOSBootMenuMode", v).lower()),
                               "ACPIEnabled": ("acpi", ONOFF), "IOAPICEnabled": ("ioapic", ONOFF)})

    @property
    def graphicsAdapter(self):
        return Settings(self, {"accelerate3DEnabled": ("accelerate3d", ONOFF)})

    def getNetworkAdapter(self, slot: int):
        return Adapter(self, slot)

    def setCPUProperty(self, prop: int, value: bool) -> None:
        self._set(name_of("CPUPropertyType", prop).lower(), ONOFF[value])

    def setHWVirtExProperty(self, prop: int, value: bool) -> None:
        key = {"Enabled": "hwvirtex", "VPID": "vtxvpid", "NestedPaging": "nestedpaging", "LargePages": "largepages"}
        self._set(key[name_of("HWVirtExPropertyType", prop)], ONOFF[value])

    def setBootOrder(self, position: int, device: int) -> None:
        self._set(f"boot{position}", {C.DeviceType_DVD: "dvd", C.DeviceType_HardDisk: "disk"}[device])

    def addStorageController(self, name: str, bus: int):
        self._need_mutable()
        controller = {"name": name, "bus": name_of("StorageBus", bus).lower(), "hostiocache": False}
        self._edits["controllers"].append(controller)
        return Settings(self, {"useHostIOCache": ("hostiocache", ONOFF)}, controller)

    def attachDevice(self, controller: str, port: int, device: int, kind: int, medium) -> None:
        self._need_mutable()
        if not any(c["name"] == controller for c in self._edits["controllers"]):
            raise COMException("VBOX_E_OBJECT_NOT_FOUND", f"Could not find a storage controller named '{controller}'")
        self._edits["storage"].append(("storageattach", [self.name, "--storagectl", controller, "--port", str(port),
                                       "--device", str(device), "--type",
                                       {C.DeviceType_DVD: "dvddrive", C.DeviceType_HardDisk: "hdd"}[kind],
                                       "--medium", medium.location]))

    def setGuestPropertyValue(self, key: str, value: str) -> None:
        self._need_mutable()
        self._edits["storage"].append(("guestproperty", ["set", self.name, key, value]))

    def createSharedFolder(self, name: str, host_path: str, writable: bool, automount: bool, mount_point: str):
        self._need_mutable()
        args = ["add", self.name, "--name", name, "--hostpath", host_path] + (["--automount"] if automount else [])
        self._edits["storage"].append(("sharedfolder", args))

    def setExtraData(self, key: str, value: str) -> None:
        self._need_mutable()
        self._edits["storage"].append(("setextradata", [self.name, key, value]))

    def saveSettings(self) -> None:
        if self._edits is None:  # a new machine, not yet registered: its settings file is written by register
            return
        log("IMachine.saveSettings", self.name)
        st = vs.load()
        vm = need_vm(st, self.name)
        vm["settings"].update(self._edits["settings"])
        vm["natpf"] = dict(self._edits["natpf"])
        for c in self._edits["controllers"]:
            vm["storage"].setdefault("storagectl", []).append(
                [self.name, "--name", c["name"], "--add", c["bus"], "--hostiocache", c["hostiocache"]])
        for cmd, args in self._edits["storage"]:
            vm["storage"].setdefault(cmd, []).append(args)
        self._edits["controllers"].clear()
        self._edits["storage"].clear()
        vs.save(st)

    def lockMachine(self, session: "Session", lock_type: int) -> None:
        log("IMachine.lockMachine", self.name, name_of("LockType", lock_type))
        if session.locked:
            raise COMException("VBOX_E_INVALID_OBJECT_STATE", "The given session is busy")
        vm = need_vm(vs.load(), self.name)
        if lock_type == C.LockType_Write and vm["state"] in ("running", "paused"):
            raise COMException("VBOX_E_INVALID_OBJECT_STATE",
                               f"The machine '{self.name}' is already locked by a session (or being locked or unlocked)")
        if lock_type == C.LockType_Shared and vm["state"] not in ("running", "paused"):
            session.open(self.name, None)  # a shared lock on a stopped VM: a read-only machine, no console
            return
        edits = {"settings": {}, "natpf": dict(vm["natpf"]), "controllers": [], "storage": []}
        session.open(self.name, edits if lock_type == C.LockType_Write else None)

    def launchVMProcess(self, session: "Session", ui_type: str, environment):
        log("IMachine.launchVMProcess", self.name, ui_type)
        if not isinstance(environment, list):
            raise COMException("E_INVALIDARG", "environmentChanges must be an array of strings")
        st = vs.load()
        vm = need_vm(st, self.name)
        if vm["state"] in ("running", "paused"):
            raise COMException("VBOX_E_INVALID_OBJECT_STATE",
                               f"The machine '{self.name}' is already locked by a session (or being locked or unlocked)")
        failure = vs.power_up(vm, self.name)
        vs.save(st)
        if failure is None:
            session.open(self.name, None)
        return Progress(failure)

    def unregister(self, mode: int):
        log("IMachine.unregister", self.name, name_of("CleanupMode", mode))
        st = vs.load()
        vm = need_vm(st, self.name)
        if vm["state"] in ("running", "paused"):
            raise COMException("VBOX_E_INVALID_OBJECT_STATE", f"Cannot unregister the machine '{self.name}' while "
                               "it is locked")
        disks = [a[-1] for a in vm["storage"].get("storageattach", []) if "hdd" in a]
        del st["vms"][self.name]
        vs.save(st)
        object.__setattr__(self, "_dir", vm["dir"])
        return [Medium(d) for d in disks] if mode == C.CleanupMode_DetachAllReturnHardDisksOnly else []

    def deleteConfig(self, media: list):
        log("IMachine.deleteConfig", self.name, len(media))
        for m in media:
            if os.path.exists(m.location):
                os.unlink(m.location)
        shutil.rmtree(self._dir, ignore_errors=True)
        return Progress()


class Settings:
    """A settings object of a machine (BIOS, graphics, a storage controller): attributes map to VBoxManage keys."""

    def __init__(self, machine: Machine, keys: dict, record: dict | None = None):
        object.__setattr__(self, "_m", machine)
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "_record", record)

    def __setattr__(self, attr, value):
        if attr not in self._keys:
            raise AttributeError(attr)
        key, fmt = self._keys[attr]
        if self._record is not None:
            self._m._need_mutable()
            self._record[key] = fmt[value] if isinstance(fmt, dict) else fmt(value)
        else:
            self._m._set(key, fmt[value] if isinstance(fmt, dict) else fmt(value))


class Adapter:
    def __init__(self, machine: Machine, slot: int):
        object.__setattr__(self, "_m", machine)
        object.__setattr__(self, "_n", slot + 1)

    def _settings(self) -> dict:
        edits = self._m._edits
        saved = need_vm(vs.load(), self._m.name)["settings"]
        return {**saved, **(edits["settings"] if edits else {})}

    def __getattr__(self, attr):
        s, n = self._settings(), self._n
        if attr == "enabled":
            return f"nic{n}" in s
        if attr == "attachmentType":
            return {"nat": C.NetworkAttachmentType_NAT, "hostonly": C.NetworkAttachmentType_HostOnly}.get(
                s.get(f"nic{n}"), C.NetworkAttachmentType_Null)
        if attr == "hostOnlyInterface":
            return s.get(f"hostonlyadapter{n}", "")
        if attr == "MACAddress":
            return s.get(f"macaddress{n}", "080027AAAA01" if n == 1 else "080027BBBB02")
        if attr == "NATEngine":
            return NATEngine(self._m)
        raise AttributeError(attr)

    def __setattr__(self, attr, value):
        n, m = self._n, self._m
        if attr == "enabled":
            m._need_mutable()
        elif attr == "attachmentType":
            m._set(f"nic{n}", name_of("NetworkAttachmentType", value).lower())
        elif attr == "adapterType":
            m._set(f"nictype{n}", name_of("NetworkAdapterType", value).lstrip("I"))
        elif attr == "MACAddress":
            m._set(f"macaddress{n}", value)
        elif attr == "cableConnected":
            m._set(f"cableconnected{n}", ONOFF[value])
        elif attr == "promiscModePolicy":
            m._set(f"nicpromisc{n}", {"Deny": "deny", "AllowNetwork": "allow-vms", "AllowAll": "allow-all"}[
                name_of("NetworkAdapterPromiscModePolicy", value)])
        elif attr == "hostOnlyInterface":
            if not any(nic["name"] == value for nic in vs.load()["hostonlyifs"]):
                raise COMException("E_INVALIDARG", f"The host network interface named '{value}' could not be found")
            m._set(f"hostonlyadapter{n}", value)
        else:
            raise AttributeError(attr)


class NATEngine:
    def __init__(self, machine: Machine):
        object.__setattr__(self, "_m", machine)

    @property
    def redirects(self) -> list[str]:
        edits = self._m._edits
        rules = edits["natpf"] if edits else need_vm(vs.load(), self._m.name)["natpf"]
        return [r.replace(",tcp,", ",1,").replace(",udp,", ",0,") for r in rules.values()]

    def __setattr__(self, attr, value):
        key = {"DNSUseHostResolver": "natdnshostresolver1", "DNSProxy": "natdnsproxy1"}[attr]
        self._m._set(key, ONOFF[value])

    def addRedirect(self, name, proto, host_ip, host_port, guest_ip, guest_port):
        self._m._need_mutable()
        if name in self._m._edits["natpf"]:
            raise COMException("E_INVALIDARG", "A NAT rule of this name already exists")
        self._m._edits["natpf"][name] = \
            f"{name},{name_of('NATProtocol', proto).lower()},{host_ip},{host_port},{guest_ip},{guest_port}"

    def removeRedirect(self, name):
        self._m._need_mutable()
        if name not in self._m._edits["natpf"]:
            raise COMException("E_INVALIDARG", "A NAT rule of this name does not exist")
        del self._m._edits["natpf"][name]


class Console:
    def __init__(self, name: str):
        self.name = name

    def _change(self, what: str, allowed: set, after: str, progress: bool = False):
        log(f"IConsole.{what}", self.name)
        st = vs.load()
        vm = need_vm(st, self.name)
        if vm["state"] not in allowed:
            raise COMException("VBOX_E_INVALID_VM_STATE", f"Invalid machine state: {STATE_OF[vm['state']]}")
        vm["state"] = after
        vs.save(st)
        return Progress() if progress else None

    def powerButton(self):
        return self._change("powerButton", {"running"}, "poweroff")  # the guest shuts down at once here

    def powerDown(self):
        return self._change("powerDown", {"running", "paused"}, "poweroff", progress=True)

    def resume(self):
        return self._change("resume", {"paused"}, "running")

    def pause(self):
        return self._change("pause", {"running"}, "paused")


class Session:
    def __init__(self):
        self.locked, self.machine, self.console = False, None, None

    def open(self, name: str, edits: dict | None) -> None:
        self.locked = True
        self.machine = Machine(name, edits)
        state = vs.load()["vms"].get(name, {}).get("state")
        self.console = Console(name) if state in ("running", "paused") else None

    def unlockMachine(self) -> None:
        if not self.locked:
            raise COMException("E_ACCESSDENIED", "The session is not locked (session state: Unlocked)")
        self.locked, self.machine, self.console = False, None, None


# ----- media, host network, DHCP
class Medium:
    def __init__(self, location: str):
        self.location = location

    def createBaseStorage(self, size: int, variants: list):
        if not isinstance(variants, list):
            raise COMException("E_INVALIDARG", "variant must be an array of MediumVariant")
        log("IMedium.createBaseStorage", os.path.basename(self.location), size)
        if os.path.exists(self.location):
            raise COMException("VBOX_E_FILE_ERROR", f"Cannot create the medium storage unit '{self.location}': it "
                               "already exists (VERR_ALREADY_EXISTS)")
        open(self.location, "wb").close()
        return Progress()

    def cloneTo(self, target: "Medium", variants: list, parent):
        log("IMedium.cloneTo", os.path.basename(self.location), os.path.basename(target.location))
        if os.path.exists(target.location):
            raise COMException("VBOX_E_FILE_ERROR", f"Cannot create the medium storage unit '{target.location}': it "
                               "already exists (VERR_ALREADY_EXISTS)")
        shutil.copyfile(self.location, target.location)
        return Progress()

    def resize(self, size: int):
        log("IMedium.resize", os.path.basename(self.location), size)
        if self.location.endswith(".vmdk"):
            raise COMException("VBOX_E_NOT_SUPPORTED", "Resize medium operation for this format is not implemented yet!")
        st = vs.load()
        st.setdefault("media", {})[self.location] = {"resize_mb": size // (1024 * 1024)}
        vs.save(st)
        return Progress()

    def openForIO(self, writable: bool, password: str):
        return MediumIO(self.location)


class MediumIO:
    def __init__(self, path: str):
        self.path = path

    def write(self, offset: int, data: bytes) -> int:
        with open(self.path, "r+b") as fh:
            fh.seek(offset)
            fh.write(bytes(data))
        return len(data)

    def close(self) -> None:
        pass


class HostInterface:
    def __init__(self, record: dict):
        self.name, self.IPAddress, self.networkMask = record["name"], record["ip"], record["mask"]
        self.hardwareAddress = f"0a:00:27:00:00:0{record['index']}"
        self.interfaceType = C.HostNetworkInterfaceType_HostOnly

    def enableStaticIPConfig(self, ip: str, mask: str) -> None:
        log("IHostNetworkInterface.enableStaticIPConfig", self.name, ip, mask)
        if not vs.allowed_hostonly(ip):
            raise COMException("E_ACCESSDENIED")  # no extended info, as VirtualBox gives none
        st = vs.load()
        record = next(n for n in st["hostonlyifs"] if n["name"] == self.name)
        record["ip"], record["mask"] = ip, mask
        vs.save(st)


class Host:
    @property
    def networkInterfaces(self):
        return [HostInterface(n) for n in vs.load()["hostonlyifs"]]

    def createHostOnlyNetworkInterface(self):
        log("IHost.createHostOnlyNetworkInterface")
        st = vs.load()
        record = vs.new_hostonly_if(st)
        vs.save(st)
        return Progress(), HostInterface(record)

    def findHostNetworkInterfaceByName(self, name: str):
        record = next((n for n in vs.load()["hostonlyifs"] if n["name"] == name), None)
        if record is None:
            raise COMException("VBOX_E_OBJECT_NOT_FOUND", f"The host network interface named '{name}' could not be "
                               "found")
        return HostInterface(record)


class DHCPServer:
    def __init__(self, record: dict):
        self.networkName, self.IPAddress, self.networkMask = record["netname"], record["ip"], record["mask"]
        self.lowerIP, self.upperIP = record["lower"], record["upper"]
        object.__setattr__(self, "_enabled", record["enabled"])

    @property
    def enabled(self):
        return self._enabled

    @enabled.setter
    def enabled(self, value):
        self._update(enabled=bool(value))

    def _update(self, **changes):
        st = vs.load()
        record = next(d for d in st["dhcpservers"] if d["netname"] == self.networkName)
        record.update(changes)
        vs.save(st)

    def setConfiguration(self, ip, mask, lower, upper):
        log("IDHCPServer.setConfiguration", self.networkName, ip, mask, lower, upper)
        self._update(ip=ip, mask=mask, lower=lower, upper=upper)


# ----- the root objects
class VirtualBox:
    def __init__(self):
        raw = vs.version()
        self.version, self.revision = raw.split("r")[0], int(raw.split("r")[1])
        self.APIVersion = "_".join(self.version.split(".")[:2])
        self.host = Host()

    @property
    def DHCPServers(self):
        return [DHCPServer(d) for d in vs.load()["dhcpservers"]]

    def findMachine(self, name: str):
        log("IVirtualBox.findMachine", name)
        need_vm(vs.load(), name)
        return Machine(name)

    def composeMachineFilename(self, name, group, flags, base):
        return os.path.join(base, name, f"{name}.vbox")

    def createMachine(self, settings_file, name, *rest):
        expected = 8 if vs.version_tuple() >= (7, 0) else 5  # 7.0 added cipher, password id and password
        if len(rest) + 2 != expected:
            raise TypeError(f"createMachine takes {expected} arguments in VirtualBox {self.version}, not "
                            f"{len(rest) + 2}")
        log("IVirtualBox.createMachine", name, rest[1])
        if os.path.exists(settings_file):
            raise COMException("VBOX_E_FILE_ERROR", f"Machine settings file '{settings_file}' already exists")
        return NewMachine(name, os.path.dirname(os.path.dirname(settings_file)), rest[1])

    def registerMachine(self, machine: "NewMachine") -> None:
        log("IVirtualBox.registerMachine", machine.name)
        st = vs.load()
        if machine.name in st["vms"]:
            raise COMException("VBOX_E_OBJECT_IN_USE", f"Machine '{machine.name}' is already registered")
        vm = vs.new_vm(st, machine.name, machine.base)
        vm["settings"]["ostype"] = machine.os_type
        vs.save(st)

    def createMedium(self, fmt: str, location: str, access: int, kind: int):
        return Medium(location)

    def openMedium(self, location: str, kind: int, access: int, force_new_uuid: bool):
        if not os.path.exists(location):
            raise COMException("VBOX_E_FILE_ERROR", f"Could not find file for the medium '{location}' "
                               "(VERR_FILE_NOT_FOUND)")
        return Medium(location)

    def createDHCPServer(self, netname: str):
        log("IVirtualBox.createDHCPServer", netname)
        st = vs.load()
        if any(d["netname"] == netname for d in st["dhcpservers"]):
            raise COMException("E_INVALIDARG", f"A DHCP server with the network name '{netname}' already exists")
        record = {"netname": netname, "ip": "", "mask": "", "lower": "", "upper": "", "enabled": False}
        st["dhcpservers"].append(record)
        vs.save(st)
        return DHCPServer(record)

    def findDHCPServerByNetworkName(self, netname: str):
        record = next((d for d in vs.load()["dhcpservers"] if d["netname"] == netname), None)
        if record is None:
            raise COMException("VBOX_E_OBJECT_NOT_FOUND", f"Could not find a DHCP server named '{netname}'")
        return DHCPServer(record)

    def removeDHCPServer(self, server: DHCPServer) -> None:
        log("IVirtualBox.removeDHCPServer", server.networkName)
        st = vs.load()
        st["dhcpservers"] = [d for d in st["dhcpservers"] if d["netname"] != server.networkName]
        vs.save(st)


class NewMachine:
    """What createMachine returns: unregistered until registerMachine."""

    def __init__(self, name: str, base: str, os_type: str):
        self.name, self.base, self.os_type = name, base, os_type

    def saveSettings(self) -> None:
        log("IMachine.saveSettings", self.name)


class VirtualBoxManager:
    """vboxapi's entry point, with the helpers the driver uses."""

    def __init__(self, style=None, params=None):
        if os.environ.get("VBOX_EMULATOR_API_DOWN"):
            raise Exception("Failed to initialize the XPCOM runtime: VBoxSVC is not running")
        self.constants = C
        self.vbox = VirtualBox()

    def getVirtualBox(self):
        return self.vbox

    def getSessionObject(self, vbox=None):
        return Session()

    def getArray(self, obj, attr):
        return list(getattr(obj, attr))

    def xcptIsOurXcptKind(self, err=None) -> bool:
        return isinstance(err, COMException)

    def xcptGetStatus(self, err=None) -> int:
        return err.errno

    def xcptToString(self, err=None) -> str:
        status = err.errno if isinstance(err, COMException) else err
        return next((k for k, v in STATUS.items() if v == status), f"{status:#x}")

    def xcptGetMessage(self, err=None) -> str:
        return err.msg if err.msg is not None else self.xcptToString(err)
