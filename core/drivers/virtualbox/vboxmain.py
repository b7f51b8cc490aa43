"""Talking to VirtualBox through its Main API: the `vboxapi` module of the VirtualBox SDK (XPCOM on Linux and
macOS, COM on Windows). The same operations as vboxmanage.VBoxManage, with the same errors, so the driver does not
know which path it is on; `--debug` says which.

No process per call (VBoxManage costs ~50-100 ms a call), and the API's own error codes instead of parsed stderr.
Written for the API of VirtualBox 6.1 and 7.0; 7.1 moved the x86 and firmware settings to IPlatform and
IFirmwareSettings, which the accessors below follow when the machine has them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from .backend import VBoxError, VMSpec

NIC_TYPES = {"Am79C970A": "Am79C970A", "Am79C973": "Am79C973", "82540EM": "I82540EM", "82543GC": "I82543GC",
             "82545EM": "I82545EM", "virtio": "Virtio"}
PROMISC = {"deny": "Deny", "allow-vms": "AllowNetwork", "allow-all": "AllowAll"}
STATE_NAMES = {"PoweredOff": "poweroff", "Saved": "saved", "Aborted": "aborted", "Running": "running",
               "Paused": "paused", "Stuck": "gurumeditation", "Starting": "starting", "Stopping": "stopping",
               "Saving": "saving", "Restoring": "restoring"}


def api_available() -> bool:
    try:
        import vboxapi  # noqa: F401
    except ImportError:
        return False
    return True


class VBoxMain:
    def __init__(self, log: Callable[..., None] | None = None, manager: Any | None = None) -> None:
        if manager is None:
            import vboxapi

            manager = vboxapi.VirtualBoxManager(None, None)
        self.mgr = manager
        self.vbox = manager.getVirtualBox()
        self.c = manager.constants
        self.log = log
        self._state_names = {getattr(self.c, f"MachineState_{k}"): v for k, v in STATE_NAMES.items()
                             if hasattr(self.c, f"MachineState_{k}")}

    def describe(self) -> str:
        return f"the VirtualBox Main API (vboxapi, VirtualBox {self.vbox.version})"

    # ----- plumbing
    def _api(self, what: str, fn: Any, *args: Any) -> Any:
        if self.log:
            self.log(f"API: {what}")
        try:
            return fn(*args)
        except Exception as err:
            if not self.mgr.xcptIsOurXcptKind(err):
                raise
            message, status = self.mgr.xcptGetMessage(err), self.mgr.xcptToString(err)
            # the text VBoxManage would print, so both paths read alike in a message
            raise VBoxError.of(f"VirtualBox API {what} failed:\n{message} (code {status})",
                            f"{message}\nDetails: code {status}") from None

    async def _wait(self, what: str, progress: Any) -> None:
        while not progress.completed:
            progress.waitForCompletion(20)  # ms: lets the binding process its events
            await asyncio.sleep(0.03)
        if progress.resultCode != 0:
            info = progress.errorInfo
            text = info.text if info is not None else f"result code {progress.resultCode:#x}"
            raise VBoxError(f"VirtualBox API {what} failed:\n{text}", text)

    def _find(self, name: str) -> Any:
        return self._api("findMachine", self.vbox.findMachine, name)

    def _const(self, *names: str) -> Any:
        """The first of several constant names this VirtualBox has (names changed between API versions)."""
        for name in names:
            if hasattr(self.c, name):
                return getattr(self.c, name)
        raise VBoxError(f"this VirtualBox API has none of {', '.join(names)}")

    async def _edit(self, name: str, change: Any) -> None:
        """Run change(mutable machine) under a write lock and save the settings, as VBoxManage modifyvm does."""
        machine = self._find(name)
        session = self.mgr.getSessionObject(self.vbox)
        self._api("lockMachine", machine.lockMachine, session, self.c.LockType_Write)
        try:
            change(session.machine)
            self._api("saveSettings", session.machine.saveSettings)
        finally:
            session.unlockMachine()

    async def _console(self, name: str, action: Any) -> None:
        machine = self._find(name)
        session = self.mgr.getSessionObject(self.vbox)
        self._api("lockMachine", machine.lockMachine, session, self.c.LockType_Shared)
        try:
            if session.console is None:  # a shared lock on a VM that is not running has no console
                raise VBoxError(f"Machine '{name}' is not currently running",
                                f"Machine '{name}' is not currently running")
            result = action(session.console)
            if result is not None:
                await self._wait("console", result)
        finally:
            session.unlockMachine()

    # ----- reading
    async def version(self) -> tuple[str, tuple[int, ...]]:
        raw = f"{self.vbox.version}r{self.vbox.revision}"
        nums = tuple(int(n) for n in self.vbox.version.split("_")[0].split(".")[:3] if n.isdigit())
        return raw, nums

    async def vm_info(self, name: str) -> dict[str, str]:
        """The keys of `showvminfo --machinereadable` the driver reads."""
        m = self._find(name)
        info = {"name": name, "VMState": self._state_names.get(m.state, "unknown"), "cpus": str(m.CPUCount),
                "memory": str(m.memorySize)}
        for attachment in self.mgr.getArray(m, "mediumAttachments"):
            medium = attachment.medium
            slot = f"{attachment.controller}-{attachment.port}-{attachment.device}"
            info[slot] = medium.location if medium else "none"
        for nic in range(2):
            adapter = self._api("getNetworkAdapter", m.getNetworkAdapter, nic)
            if not adapter.enabled:
                continue
            info[f"macaddress{nic + 1}"] = adapter.MACAddress
            if adapter.attachmentType == self.c.NetworkAttachmentType_HostOnly:
                info[f"hostonlyadapter{nic + 1}"] = adapter.hostOnlyInterface
        return info

    async def hostonly_ifs(self) -> list[dict[str, str]]:
        out = []
        for nic in self.mgr.getArray(self.vbox.host, "networkInterfaces"):
            if nic.interfaceType == self.c.HostNetworkInterfaceType_HostOnly:
                out.append({"Name": nic.name, "IPAddress": nic.IPAddress, "NetworkMask": nic.networkMask,
                            "HardwareAddress": nic.hardwareAddress})
        return out

    async def dhcp_servers(self) -> list[dict[str, str]]:
        return [{"NetworkName": d.networkName, "IP": d.IPAddress, "NetworkMask": d.networkMask,
                 "lowerIPAddress": d.lowerIP, "upperIPAddress": d.upperIP, "Enabled": "Yes" if d.enabled else "No"}
                for d in self.mgr.getArray(self.vbox, "DHCPServers")]

    # ----- operations
    async def make_disk(self, path: str, size: int, head: bytes) -> None:
        c = self.c
        medium = self._api("createMedium", self.vbox.createMedium, "VMDK", path, c.AccessMode_ReadWrite,
                           c.DeviceType_HardDisk)
        await self._wait("createBaseStorage",
                         self._api("createBaseStorage", medium.createBaseStorage, size, [c.MediumVariant_Standard]))
        io = self._api("openForIO", medium.openForIO, True, "")
        try:
            for offset in range(0, len(head), 1 << 20):
                self._api("IMediumIO.write", io.write, offset, head[offset:offset + (1 << 20)])
        finally:
            io.close()

    async def clone_disk(self, source: str, target: str) -> None:
        c = self.c
        src = self._api("openMedium", self.vbox.openMedium, source, c.DeviceType_HardDisk, c.AccessMode_ReadWrite,
                        False)
        dst = self._api("createMedium", self.vbox.createMedium, "VMDK", target, c.AccessMode_ReadWrite,
                        c.DeviceType_HardDisk)
        await self._wait("cloneTo", self._api("cloneTo", src.cloneTo, dst, [c.MediumVariant_Standard], None))

    async def create_vm(self, spec: VMSpec) -> None:
        c, vbox = self.c, self.vbox
        settings = self._api("composeMachineFilename", vbox.composeMachineFilename, spec.name, "", "", spec.basefolder)
        api = tuple(int(n) for n in str(vbox.APIVersion).split("_")[:2])
        if api >= (7, 1):
            machine = self._api("createMachine", vbox.createMachine, settings, spec.name,
                                c.PlatformArchitecture_x86, [], "Linux26_64", "", "", "", "")
        elif api >= (7, 0):
            machine = self._api("createMachine", vbox.createMachine, settings, spec.name, [], "Linux26_64", "", "",
                                "", "")
        else:
            machine = self._api("createMachine", vbox.createMachine, settings, spec.name, [], "Linux26_64", "")
        self._api("saveSettings", machine.saveSettings)
        self._api("registerMachine", vbox.registerMachine, machine)

        def configure(m: Any) -> None:
            platform = getattr(m, "platform", None)
            x86 = platform.x86 if platform is not None else m
            firmware = getattr(m, "firmwareSettings", None) or m.BIOSSettings
            (firmware if platform is not None else m).firmwareType = self._const("FirmwareType_BIOS")
            firmware.logoFadeIn = False
            firmware.logoFadeOut = False
            firmware.logoDisplayTime = 0
            firmware.bootMenuMode = self._const("FirmwareBootMenuMode_Disabled", "BIOSBootMenuMode_Disabled")
            m.CPUCount = spec.cpus
            m.memorySize = spec.memory
            firmware.ACPIEnabled = True
            firmware.IOAPICEnabled = True
            (platform or m).RTCUseUTC = True
            m.CPUHotPlugEnabled = False
            x86.setCPUProperty(self._const("CPUPropertyTypeX86_PAE", "CPUPropertyType_PAE"), True)
            x86.HPETEnabled = True
            for prop in ("Enabled", "NestedPaging", "LargePages", "VPID"):
                x86.setHWVirtExProperty(self._const(f"HWVirtExPropertyType_{prop}"), True)
            m.graphicsAdapter.accelerate3DEnabled = False
            m.setBootOrder(1, c.DeviceType_HardDisk if spec.boot == "disk" else c.DeviceType_DVD)
            nat = m.getNetworkAdapter(0)
            nat.enabled = True
            nat.attachmentType = c.NetworkAttachmentType_NAT
            nat.adapterType = getattr(c, f"NetworkAdapterType_{NIC_TYPES.get(spec.nat_nictype, 'I82540EM')}")
            nat.cableConnected = True
            if spec.mac:
                nat.MACAddress = spec.mac
            nat.NATEngine.DNSUseHostResolver = spec.host_dns_resolver
            nat.NATEngine.DNSProxy = spec.dns_proxy
            controller = m.addStorageController("SATA", c.StorageBus_SATA)
            controller.useHostIOCache = True
            dvd = vbox.openMedium(spec.iso, c.DeviceType_DVD, c.AccessMode_ReadOnly, False)
            m.attachDevice("SATA", 0, 0, c.DeviceType_DVD, dvd)
            hdd = vbox.openMedium(spec.disk, c.DeviceType_HardDisk, c.AccessMode_ReadWrite, False)
            m.attachDevice("SATA", 1, 0, c.DeviceType_HardDisk, hdd)
            m.setGuestPropertyValue("/VirtualBox/GuestAdd/SharedFolders/MountPrefix", "/")
            m.setGuestPropertyValue("/VirtualBox/GuestAdd/SharedFolders/MountDir", "/")
            if spec.share:
                folder, share_name = spec.share
                m.createSharedFolder(share_name, folder, True, True, "")
                m.setExtraData(f"VBoxInternal2/SharedFoldersEnableSymlinksCreate/{share_name}", "1")

        await self._edit(spec.name, lambda m: self._api("configure the VM", configure, m))

    async def forward_ssh(self, name: str, port: int) -> None:
        def change(m: Any) -> None:
            nat = m.getNetworkAdapter(0).NATEngine
            if any(rule.split(",")[0] == "ssh" for rule in self.mgr.getArray(nat, "redirects")):
                nat.removeRedirect("ssh")
            nat.addRedirect("ssh", self.c.NATProtocol_TCP, "127.0.0.1", port, "", 22)

        await self._edit(name, lambda m: self._api("NAT port forward", change, m))

    async def start_vm(self, name: str, ui_type: str) -> None:
        machine = self._find(name)
        session = self.mgr.getSessionObject(self.vbox)
        progress = self._api("launchVMProcess", machine.launchVMProcess, session, ui_type, [])
        try:
            await self._wait("launchVMProcess", progress)
        finally:
            try:
                session.unlockMachine()
            except Exception:
                pass  # the launch failed: the session was never locked

    async def resume_vm(self, name: str, ui_type: str) -> None:
        await self._console(name, lambda console: self._api("resume", console.resume))

    async def press_power_button(self, name: str) -> None:
        await self._console(name, lambda console: self._api("powerButton", console.powerButton))

    async def power_off(self, name: str) -> None:
        await self._console(name, lambda console: self._api("powerDown", console.powerDown))

    async def delete_vm(self, name: str) -> None:
        machine = self._find(name)
        media = self._api("unregister", machine.unregister, self.c.CleanupMode_DetachAllReturnHardDisksOnly)
        await self._wait("deleteConfig", self._api("deleteConfig", machine.deleteConfig, media))

    async def create_hostonly_if(self) -> str | None:
        progress, nic = self._api("createHostOnlyNetworkInterface", self.vbox.host.createHostOnlyNetworkInterface)
        await self._wait("createHostOnlyNetworkInterface", progress)
        name: str | None = nic.name
        return name

    async def configure_hostonly_if(self, nic: str, ip: str, mask: str) -> None:
        iface = self._api("findHostNetworkInterfaceByName", self.vbox.host.findHostNetworkInterfaceByName, nic)
        self._api("enableStaticIPConfig", iface.enableStaticIPConfig, ip, mask)

    async def remove_dhcp_server(self, netname: str) -> None:
        server = self._api("findDHCPServerByNetworkName", self.vbox.findDHCPServerByNetworkName, netname)
        self._api("removeDHCPServer", self.vbox.removeDHCPServer, server)

    async def set_dhcp_server(self, netname: str, ip: str, mask: str, lower: str, upper: str, exists: bool) -> None:
        if exists:
            server = self._api("findDHCPServerByNetworkName", self.vbox.findDHCPServerByNetworkName, netname)
        else:
            server = self._api("createDHCPServer", self.vbox.createDHCPServer, netname)
        self._api("setConfiguration", server.setConfiguration, ip, mask, lower, upper)
        server.enabled = True

    async def import_disk(self, image: str, fmt: str, target: str) -> None:
        c = self.c
        dst = self._api("createMedium", self.vbox.createMedium, "VDI", target, c.AccessMode_ReadWrite,
                        c.DeviceType_HardDisk)
        if fmt == "raw":  # the API has no raw reader: a VDI of the image's size, written through IMediumIO
            await self._wait("createBaseStorage", self._api("createBaseStorage", dst.createBaseStorage,
                                                            os.path.getsize(image), [c.MediumVariant_Standard]))
            io = self._api("openForIO", dst.openForIO, True, "")
            try:
                with open(image, "rb") as fh:
                    offset = 0
                    while chunk := fh.read(1 << 20):
                        if chunk.count(0) != len(chunk):  # holes stay holes in the dynamic VDI
                            self._api("IMediumIO.write", io.write, offset, chunk)
                        offset += len(chunk)
                        await asyncio.sleep(0)
            finally:
                io.close()
            return
        src = self._api("openMedium", self.vbox.openMedium, image, c.DeviceType_HardDisk, c.AccessMode_ReadOnly,
                        False)
        await self._wait("cloneTo", self._api("cloneTo", src.cloneTo, dst, [c.MediumVariant_Standard], None))

    async def resize_disk(self, path: str, megabytes: int) -> None:
        c = self.c
        medium = self._api("openMedium", self.vbox.openMedium, path, c.DeviceType_HardDisk, c.AccessMode_ReadWrite,
                           False)
        await self._wait("resize", self._api("resize", medium.resize, megabytes * 1024 * 1024))

    async def attach_hostonly(self, name: str, nic: str, nictype: str, promisc: str, mac: str = "") -> None:
        c = self.c

        def change(m: Any) -> None:
            adapter = m.getNetworkAdapter(1)
            adapter.enabled = True
            adapter.attachmentType = c.NetworkAttachmentType_HostOnly
            adapter.adapterType = getattr(c, f"NetworkAdapterType_{NIC_TYPES.get(nictype, 'I82540EM')}")
            adapter.promiscModePolicy = getattr(c, f"NetworkAdapterPromiscModePolicy_{PROMISC.get(promisc, 'Deny')}")
            adapter.hostOnlyInterface = nic
            adapter.cableConnected = True
            if mac:
                adapter.MACAddress = mac

        await self._edit(name, lambda m: self._api("host-only adapter", change, m))
