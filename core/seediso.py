"""The cloud-init NoCloud seed: a tiny ISO 9660 image labelled `cidata` holding user-data and meta-data.

Written here rather than with genisoimage/xorriso so a user needs no extra tool. Plain ISO 9660 (no Rock Ridge or
Joliet): Linux lowercases the names and drops the `.;1` suffix, so `USER-DATA.;1` is read as `user-data`, which is
what cloud-init looks for."""

from __future__ import annotations

import struct
import time

SECTOR = 2048


def _both16(n: int) -> bytes:
    return struct.pack("<H", n) + struct.pack(">H", n)


def _both32(n: int) -> bytes:
    return struct.pack("<I", n) + struct.pack(">I", n)


def _record_date(t: time.struct_time) -> bytes:
    return bytes([t.tm_year - 1900, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, 0])


def _volume_date(t: time.struct_time) -> bytes:
    return time.strftime("%Y%m%d%H%M%S", t).encode() + b"00\x00"


def _dir_record(ident: bytes, extent: int, size: int, is_dir: bool, t: time.struct_time) -> bytes:
    body = (bytes([0]) + _both32(extent) + _both32(size) + _record_date(t) + bytes([2 if is_dir else 0, 0, 0])
            + _both16(1) + bytes([len(ident)]) + ident)
    if len(ident) % 2 == 0:
        body += b"\x00"
    return bytes([len(body) + 1]) + body


def _text(value: str, size: int) -> bytes:
    return value.encode("ascii").ljust(size, b" ")[:size]


def make_seed_iso(files: dict[str, bytes], label: str = "cidata") -> bytes:
    """An ISO image holding `files` (names like "user-data") in its root directory."""
    t = time.gmtime()
    names = sorted(files)
    root_extent, first_file = 20, 21
    extents, at = {}, first_file
    for name in names:
        extents[name] = at
        at += max(1, -(-len(files[name]) // SECTOR))
    total = at

    root = _dir_record(b"\x00", root_extent, SECTOR, True, t) + _dir_record(b"\x01", root_extent, SECTOR, True, t)
    for name in names:
        ident = (name.upper() + ".;1").encode("ascii")
        root += _dir_record(ident, extents[name], len(files[name]), False, t)
    if len(root) > SECTOR:
        raise ValueError("too many files for a one-sector seed directory")

    path_table_l = bytes([1, 0]) + struct.pack("<I", root_extent) + struct.pack("<H", 1) + b"\x00\x00"
    path_table_m = bytes([1, 0]) + struct.pack(">I", root_extent) + struct.pack(">H", 1) + b"\x00\x00"

    pvd = bytearray(SECTOR)
    pvd[0:8] = b"\x01CD001\x01\x00"
    pvd[8:40] = _text("LINUX", 32)
    pvd[40:72] = _text(label, 32)
    pvd[80:88] = _both32(total)
    pvd[120:124] = _both16(1)
    pvd[124:128] = _both16(1)
    pvd[128:132] = _both16(SECTOR)
    pvd[132:140] = _both32(10)
    pvd[140:144] = struct.pack("<I", 18)
    pvd[148:152] = struct.pack(">I", 19)
    pvd[156:190] = _dir_record(b"\x00", root_extent, SECTOR, True, t)
    for start, size in ((190, 128), (318, 128), (446, 128), (574, 128), (702, 37), (739, 37), (776, 37)):
        pvd[start:start + size] = b" " * size
    pvd[574:702] = _text("MACHINE-TUI", 128)
    pvd[813:830] = _volume_date(t)
    pvd[830:847] = _volume_date(t)
    pvd[847:864] = b"0" * 16 + b"\x00"
    pvd[864:881] = b"0" * 16 + b"\x00"
    pvd[881] = 1

    terminator = bytearray(SECTOR)
    terminator[0:7] = b"\xffCD001\x01"

    image = bytearray(SECTOR * total)
    image[16 * SECTOR:17 * SECTOR] = pvd
    image[17 * SECTOR:18 * SECTOR] = terminator
    image[18 * SECTOR:18 * SECTOR + len(path_table_l)] = path_table_l
    image[19 * SECTOR:19 * SECTOR + len(path_table_m)] = path_table_m
    image[root_extent * SECTOR:root_extent * SECTOR + len(root)] = root
    for name in names:
        start = extents[name] * SECTOR
        image[start:start + len(files[name])] = files[name]
    return bytes(image)


def cloud_config(hostname: str, user: str, public_key: str, bootcmd: str = "") -> bytes:
    """user-data: the login user with the machine's key and password-less sudo (provisioning uses sudo -n); and
    `bootcmd`, a shell script cloud-init runs early at each boot (the engine's seed, which guards itself)."""
    boot = ""
    if bootcmd:
        boot = "bootcmd:\n  - |\n" + "".join(f"    {line}\n" for line in bootcmd.splitlines())
    return (
        "#cloud-config\n"
        f"hostname: {hostname}\n"
        # the name in /etc/hosts too: sudo looks its host up, and without it asks DNS (none offline) at each call
        "manage_etc_hosts: true\n"
        "users:\n"
        f"  - name: {user}\n"
        "    shell: /bin/bash\n"
        # no group named after the user: images with Docker preinstalled already have a `docker` group
        "    no_user_group: true\n"
        '    sudo: "ALL=(ALL) NOPASSWD:ALL"\n'
        "    ssh_authorized_keys:\n"
        f"      - {public_key.strip()}\n"
        "ssh_pwauth: false\n"
        "ssh_genkeytypes: [ed25519]\n"
        + boot
    ).encode()


def meta_data(instance_id: str, hostname: str) -> bytes:
    return f"instance-id: {instance_id}\nlocal-hostname: {hostname}\n".encode()


def network_config(macs: list[str]) -> bytes:
    """network-config (v1, which every cloud-init renderer takes): DHCP on each listed NIC, found by MAC.
    Without it cloud-init configures only the first NIC, and a VirtualBox host-only adapter would stay down."""
    lines = ["version: 1", "config:"]
    for i, mac in enumerate(macs):
        hexdigits = mac.replace(":", "").lower()  # VirtualBox writes MACs without colons
        mac = ":".join(hexdigits[j:j + 2] for j in range(0, 12, 2))
        lines += ["  - type: physical", f"    name: eth{i}", f'    mac_address: "{mac}"',
                  "    subnets:", "      - type: dhcp"]
    return ("\n".join(lines) + "\n").encode()


def write_machine_seed(path: str, hostname: str, user: str, public_key: str, instance: str,
                       macs: list[str] | None = None, bootcmd: str = "") -> None:
    """The NoCloud seed ISO of a machine (0600: it names the login user and its key, and may carry the engine's
    server key in `bootcmd`)."""
    files = {"user-data": cloud_config(hostname, user, public_key, bootcmd), "meta-data": meta_data(instance, hostname)}
    if macs:
        files["network-config"] = network_config(macs)
    from .store import write_atomic

    write_atomic(path, make_seed_iso(files), 0o600)
