"""What the driver needs from VirtualBox, whichever path answers: VBoxManage (as docker-machine) or the Main API
(the SDK's vboxapi). Both backends implement VirtualBoxBackend and raise the same error types."""

from __future__ import annotations

from typing import Protocol

from ...errors import MachineError


class VBoxError(MachineError):
    """VirtualBox refused an operation; stderr is what it said (VBoxManage's text, or the API's in that form)."""

    def __init__(self, message: str, stderr: str = ""):
        super().__init__(message)
        self.stderr = stderr

    @classmethod
    def of(cls, message: str, stderr: str) -> VBoxError:
        """The error type that says what went wrong, read once here from VirtualBox's words."""
        if "Could not find a registered machine" in stderr:
            return VMNotRegistered(message, stderr)
        if "E_ACCESSDENIED" in stderr:
            return AccessDenied(message, stderr)
        return cls(message, stderr)


class VMNotRegistered(VBoxError):
    """VirtualBox has no VM of that name."""


class AccessDenied(VBoxError):
    """VirtualBox refused for want of rights (e.g. a host-only range outside networks.conf)."""


class VMSpec:
    """What the driver asks VirtualBox to make: docker-machine's VM, whichever path makes it.
    A plain class: `ls` imports this module, and a dataclass costs ~5 ms to build."""

    __slots__ = ("name", "basefolder", "cpus", "memory", "host_dns_resolver", "dns_proxy", "nat_nictype", "iso",
                 "disk", "share", "boot", "mac")

    def __init__(self, name: str, basefolder: str, cpus: int, memory: int, host_dns_resolver: bool, dns_proxy: bool,
                 nat_nictype: str, iso: str, disk: str, share: tuple[str, str] | None = None, boot: str = "dvd",
                 mac: str = ""):
        self.name, self.basefolder, self.cpus, self.memory = name, basefolder, cpus, memory
        self.host_dns_resolver, self.dns_proxy, self.nat_nictype = host_dns_resolver, dns_proxy, nat_nictype
        self.iso, self.disk = iso, disk
        self.share = share  # (host folder, share name)
        self.boot = boot  # boot2docker boots its ISO; a cloud image its disk
        self.mac = mac  # the NAT adapter's MAC, when the guest's seed must name it


class VirtualBoxBackend(Protocol):
    """The operations the driver performs; each is one VBoxManage command line (or its Main API call)."""

    def describe(self) -> str: ...
    async def version(self) -> tuple[str, tuple[int, ...]]: ...
    async def vm_info(self, name: str) -> dict[str, str]: ...
    async def hostonly_ifs(self) -> list[dict[str, str]]: ...
    async def dhcp_servers(self) -> list[dict[str, str]]: ...
    async def make_disk(self, path: str, size: int, head: bytes) -> None: ...
    async def clone_disk(self, source: str, target: str) -> None: ...
    async def create_vm(self, spec: VMSpec) -> None: ...
    async def forward_ssh(self, name: str, port: int) -> None: ...
    async def start_vm(self, name: str, ui_type: str) -> None: ...
    async def resume_vm(self, name: str, ui_type: str) -> None: ...
    async def press_power_button(self, name: str) -> None: ...
    async def power_off(self, name: str) -> None: ...
    async def delete_vm(self, name: str) -> None: ...
    async def create_hostonly_if(self) -> str | None: ...
    async def configure_hostonly_if(self, nic: str, ip: str, mask: str) -> None: ...
    async def remove_dhcp_server(self, netname: str) -> None: ...
    async def set_dhcp_server(self, netname: str, ip: str, mask: str, lower: str, upper: str, exists: bool) -> None: ...
    async def attach_hostonly(self, name: str, nic: str, nictype: str, promisc: str, mac: str = "") -> None: ...
    async def import_disk(self, image: str, fmt: str, target: str) -> None: ...
    async def resize_disk(self, path: str, megabytes: int) -> None: ...
