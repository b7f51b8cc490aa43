"""The VirtualBox driver as a package, one concern per module: the driver itself, the backend contract and its two
paths (VBoxManage, the Main API), the host-only network, the disks, the boot2docker ISO."""

from .driver import FLAGS, VirtualBoxDriver

__all__ = ["FLAGS", "VirtualBoxDriver"]
