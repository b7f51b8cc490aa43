"""The VirtualBox driver. Its flags are declared here (docker-machine's defaults and env vars);
the VM operations land with the VirtualBox issue. Until then create stops at the pre-create check
with VirtualBox's own requirement spelled out."""

from __future__ import annotations

import shutil

from ..errors import PreCreateError
from . import Driver, Flag, State

_B = "bool"
FLAGS = [
    Flag("virtualbox-boot2docker-url", "The URL of the boot2docker image. Defaults to the latest available version",
         env="VIRTUALBOX_BOOT2DOCKER_URL"),
    Flag("virtualbox-cpu-count", "number of CPUs for the machine (-1 to use the number of CPUs available)", "int", 1,
         "VIRTUALBOX_CPU_COUNT"),
    Flag("virtualbox-disk-size", "Size of disk for host in MB", "int", 20000, "VIRTUALBOX_DISK_SIZE"),
    Flag("virtualbox-host-dns-resolver", "Use the host DNS resolver", _B, False, "VIRTUALBOX_HOST_DNS_RESOLVER"),
    Flag("virtualbox-hostonly-cidr", "Specify the Host Only CIDR", default="192.168.99.1/24",
         env="VIRTUALBOX_HOSTONLY_CIDR"),
    Flag("virtualbox-hostonly-nicpromisc", "Specify the Host Only Network Adapter Promiscuous Mode", default="deny",
         env="VIRTUALBOX_HOSTONLY_NIC_PROMISC"),
    Flag("virtualbox-hostonly-nictype", "Specify the Host Only Network Adapter Type", default="82540EM",
         env="VIRTUALBOX_HOSTONLY_NIC_TYPE"),
    Flag("virtualbox-hostonly-no-dhcp", "Disable the Host Only DHCP Server", _B, False, "VIRTUALBOX_HOSTONLY_NO_DHCP"),
    Flag("virtualbox-import-boot2docker-vm", "The name of a Boot2Docker VM to import",
         env="VIRTUALBOX_BOOT2DOCKER_IMPORT_VM"),
    Flag("virtualbox-memory", "Size of memory for host in MB", "int", 1024, "VIRTUALBOX_MEMORY_SIZE"),
    Flag("virtualbox-nat-nictype", "Specify the Network Adapter Type", default="82540EM", env="VIRTUALBOX_NAT_NICTYPE"),
    Flag("virtualbox-no-dns-proxy", "Disable proxying all DNS requests to the host", _B, False,
         "VIRTUALBOX_NO_DNS_PROXY"),
    Flag("virtualbox-no-share", "Disable the mount of your home directory", _B, False, "VIRTUALBOX_NO_SHARE"),
    Flag("virtualbox-no-vtx-check",
         "Disable checking for the availability of hardware virtualization before the vm is started", _B, False,
         "VIRTUALBOX_NO_VTX_CHECK"),
    Flag("virtualbox-share-folder",
         "Mount the specified directory instead of the default home location. Format: dir:name",
         env="VIRTUALBOX_SHARE_FOLDER"),
    Flag("virtualbox-ui-type", "Specify the UI Type: (gui|sdl|headless|separate)", default="headless",
         env="VIRTUALBOX_UI_TYPE"),
]


class VirtualBoxDriver(Driver):
    name = "virtualbox"
    flags = FLAGS

    async def pre_create_check(self) -> None:
        if not shutil.which("VBoxManage"):
            raise PreCreateError(
                'Error with pre-create check: "VBoxManage not found. Make sure VirtualBox is installed and '
                'VBoxManage is in the path"'
            )
        raise PreCreateError(
            'Error with pre-create check: "machine-tui cannot drive VirtualBox yet: use -d generic or -d none"'
        )

    async def state(self) -> State:
        return State.ERROR

    async def get_url(self) -> str:
        return ""
