"""Disks of a VirtualBox VM: the format of a cloud image, and boot2docker's userdata tar that seeds its disk."""

from __future__ import annotations

import io
import os
import tarfile

from ...errors import MachineError

MAGIC = "boot2docker, please format-me"


def disk_image_format(path: str) -> tuple[str, int]:
    """(format, virtual size in bytes or 0 when the header does not say) of a disk image, by its magic."""
    import struct

    with open(path, "rb") as fh:
        head = fh.read(512)
        fh.seek(0, os.SEEK_END)
        length = fh.tell()
    if head[:4] == b"QFI\xfb":
        return "qcow2", struct.unpack(">Q", head[24:32])[0]
    if head[:4] == b"KDMV" or b"# Disk DescriptorFile" in head[:64]:
        return "vmdk", 0
    if head[64:68] == b"\x7f\x10\xda\xbe":
        return "vdi", 0
    if head[510:512] == b"\x55\xaa":
        return "raw", length
    raise MachineError(f"{path} is not a disk image VirtualBox can boot (not qcow2, VMDK, VDI, nor a raw disk with "
                       "a boot sector)")


def userdata_tar(public_key: bytes) -> bytes:
    """What boot2docker's automount looks for at the start of the raw disk: the magic file, then the SSH key."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        def add(name: str, data: bytes | None, mode: int) -> None:
            info = tarfile.TarInfo(name)
            info.mode = mode
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))

        add(MAGIC, MAGIC.encode(), 0o644)
        add(".ssh", None, 0o700)
        add(".ssh/authorized_keys", public_key, 0o644)
        add(".ssh/authorized_keys2", public_key, 0o644)
    return buf.getvalue()
