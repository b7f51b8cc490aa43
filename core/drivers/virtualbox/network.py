"""The host-only network docker-machine gives each VirtualBox VM: the adapter, its DHCP server, the fixed MACs."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import sys
from typing import Any

from ...errors import MachineError
from ...events import Reporter
from .backend import AccessDenied, VBoxError, VirtualBoxBackend

DEFAULT_CIDR = "192.168.99.1/24"
NEW_DEFAULT_CIDR = "192.168.56.1/24"  # inside what VirtualBox >= 6.1.28 allows without networks.conf
# the rule (and /etc/vbox/networks.conf) holds on Linux, macOS and Solaris hosts; on Windows any range goes
RANGE_RULE = sys.platform != "win32"


async def setup_hostonly(vbm: VirtualBoxBackend, c: dict[str, Any], machine_name: str, report: Reporter | None,
                         version: tuple[int, ...] | None = None) -> None:
    """docker-machine's host-only network: an adapter with the CIDR's host address (made if missing), its DHCP
    server, attached as the VM's second NIC. Rewrites c["HostOnlyCIDR"] where VirtualBox refuses the old default."""
    version = version or (await vbm.version())[1]
    if c["HostOnlyCIDR"] == DEFAULT_CIDR and version >= (6, 1, 28) and RANGE_RULE:
        c["HostOnlyCIDR"] = NEW_DEFAULT_CIDR
        if report is not None:
            report.info(f"VirtualBox {'.'.join(map(str, version))} only allows host-only networks in "
                        f"192.168.56.0/21: using {NEW_DEFAULT_CIDR}")
    host_ip, net = parse_cidr(c["HostOnlyCIDR"])
    mask = str(net.netmask)
    nics = await vbm.hostonly_ifs()
    found = next((n["Name"] for n in nics if n.get("IPAddress") == str(host_ip)
                  and n.get("NetworkMask") in (mask, "0f000000")), None)
    if found is None:
        before = {n.get("Name") for n in nics}
        try:
            found = await vbm.create_hostonly_if()
        except VBoxError:
            if report is not None:
                report.warn("This is a known VirtualBox bug. Let's try to recover anyway...")
        for _ in range(10):
            if found:
                break
            new = [n.get("Name") for n in await vbm.hostonly_ifs() if n.get("Name") not in before]
            if new:
                found = new[0]
                break
            await asyncio.sleep(1)
        if not found:
            raise MachineError("Error setting up host only network on machine start: The host-only adapter we "
                               "just created is not visible. This is a well known VirtualBox bug. You might want "
                               "to uninstall it and reinstall at least version 5.0.12 that is is supposed to fix "
                               "this issue")
        if report is not None:
            report.info(f'Found a new host-only adapter: "{found}"')
        try:
            await vbm.configure_hostonly_if(found, str(host_ip), mask)
        except AccessDenied:
            raise MachineError(
                f"VirtualBox refused the host-only network {c['HostOnlyCIDR']}: since 6.1.28 it only allows "
                "192.168.56.0/21 unless /etc/vbox/networks.conf lists the range. Add the line "
                f"'* {net}' to /etc/vbox/networks.conf, or use --virtualbox-hostonly-cidr "
                f"{NEW_DEFAULT_CIDR}") from None
    if not c["HostOnlyNoDHCP"]:
        await setup_dhcp(vbm, found, host_ip, net)
    await vbm.attach_hostonly(machine_name, found, c["HostOnlyNicType"], c["HostOnlyPromiscMode"],
                              macs_for(machine_name)[1] if c.get("ImageURL") else "")


async def setup_dhcp(vbm: VirtualBoxBackend, nic: str, host_ip: Any, net: Any) -> None:
    names = {n.get("Name") for n in await vbm.hostonly_ifs()}
    servers = await vbm.dhcp_servers()
    for server in servers:  # servers whose adapter is gone
        netname = server.get("NetworkName", "")
        if netname.startswith("HostInterfaceNetworking-") and netname[24:] not in names:
            await vbm.remove_dhcp_server(netname)
    netname = f"HostInterfaceNetworking-{nic}"
    base = int(net.network_address)
    choices = [i for i in range(1, 25) if base + i != int(host_ip)]
    dhcp_ip = ipaddress.ip_address(base + random.choice(choices))
    if net.prefixlen <= 24:
        lower, upper = ipaddress.ip_address(base + 100), ipaddress.ip_address(base + 254)
    else:
        lower, upper = ipaddress.ip_address(int(dhcp_ip) + 1), ipaddress.ip_address(int(net.broadcast_address) - 1)
    existing = next((s for s in servers if s.get("NetworkName") == netname), None)
    if existing and existing.get("lowerIPAddress") == str(lower) and existing.get("upperIPAddress") == str(upper) \
            and existing.get("NetworkMask") == str(net.netmask) and existing.get("Enabled") == "Yes":
        return
    await vbm.set_dhcp_server(netname, str(dhcp_ip), str(net.netmask), str(lower), str(upper), bool(existing))


def macs_for(name: str) -> list[str]:
    """The NAT and host-only MACs of a cloud-image VM, fixed from its name so its seed can name them:
    VirtualBox's 08:00:27 prefix, as the MACs it picks itself."""
    import hashlib

    digest = hashlib.sha256(name.encode()).hexdigest()
    base = f"080027{digest[:5]}"
    return [base + "0", base + "1"]


def parse_cidr(text: str) -> tuple[Any, Any]:
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise MachineError(f"invalid CIDR address: {text}") from None
    if iface.ip == iface.network.network_address:
        raise MachineError("host-only cidr must be specified with a host address, not a network address")
    return iface.ip, iface.network
