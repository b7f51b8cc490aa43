"""The guest side of `--virtualbox-image-url`, on a real VM: VirtualBox cannot run here, so the VM the driver made
in the VBoxManage stand-in is booted by QEMU instead, from the same cloud image, with the seed ISO the driver
wrote, its NAT port forward and two NICs carrying the MACs the driver gave VirtualBox (virtio: Debian's cloud
kernel has no e1000; the MACs are what matters). Then the driver itself logs in and finds the host-only address
by MAC, as it does on VirtualBox, and cloud-init in the guest renders the seed's network-config."""

from __future__ import annotations

import os
import subprocess

import vmrig
from imageserver import ImageServer
from machine_tui.core import ssh
from machine_tui.core.events import Reporter
from vboxrig import new_machine, vbox  # noqa: F401 (vbox: a fixture)


def boot_like_virtualbox(image_dir: str, machine: str, vm: dict) -> subprocess.Popen:
    s = vm["settings"]
    port = vm["natpf"]["ssh"].split(",")[3]
    macs = [":".join(m[i:i + 2] for i in range(0, 12, 2)) for m in (s["macaddress1"], s["macaddress2"])]
    disk = os.path.join(machine, "qemu-disk.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", os.path.join(image_dir, "cloud.qcow2"), "-F",
                    "qcow2", disk], check=True)
    return subprocess.Popen([
        "qemu-system-x86_64", "-accel", "tcg", "-m", "1024", "-smp", "2", "-display", "none", "-monitor", "none",
        "-serial", f"file:{machine}/qemu-console.log",
        # nic1: VirtualBox's NAT with the SSH forward; nic2: the host-only network and its DHCP server
        "-netdev", f"user,id=nat,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:22",
        "-device", f"virtio-net-pci,netdev=nat,mac={macs[0]}",
        "-netdev", "user,id=hostonly,restrict=on,net=192.168.56.0/24,host=192.168.56.1,dhcpstart=192.168.56.101",
        "-device", f"virtio-net-pci,netdev=hostonly,mac={macs[1]}",
        "-drive", f"file={disk},if=none,id=d0,format=qcow2", "-device", "nvme,drive=d0,serial=vbox0",
        "-drive", f"file={machine}/seed.iso,format=raw,if=virtio,readonly=on",
        "-kernel", os.path.join(image_dir, "vmlinuz"),
        "-append", "root=/dev/nvme0n1 rw console=ttyS0 quiet apparmor=0",
    ], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


async def test_cloud_image_guest_takes_the_seed_and_its_host_only_address_is_found(vbox, store, tmp_path):  # noqa: F811
    image = vmrig.build_image()
    with ImageServer(image) as srv:
        st, host, driver = new_machine(store, "vbcloud", **{"virtualbox-image-url": srv.url("cloud.qcow2")})
        await driver.pre_create_check()
        await driver.create(Reporter())
    machine = os.path.join(store, "machines", "vbcloud")
    qemu = boot_like_virtualbox(image, machine, vbox.state()["vms"]["vbcloud"])
    try:
        conn = await ssh.wait_for_ssh(driver, Reporter(), tries=80)
        # the seed made the user with the machine's key: the driver logs in as VirtualBox users would
        out = (await conn.run("id -un; hostname; cloud-init status --wait >/dev/null; echo done", timeout=300)).stdout
        assert out.split() == ["docker", "vbcloud", "done"]
        await driver.prepare_host(conn, Reporter())
        assert driver.config["IPAddress"] == "192.168.56.101"  # the host-only NIC's, found by its MAC
        # cloud-init renders the seed's network-config: DHCP on both NICs, each matched by its MAC
        seed_config = (await conn.run("sudo -n sh -c 'mkdir -p /mnt/seed && mount -o ro \"$(blkid -L cidata)\" "
                                      "/mnt/seed && cat /mnt/seed/network-config'", timeout=60)).stdout
        assert "mac_address" in seed_config
        rendered = (await conn.run(
            "sudo -n cloud-init devel net-convert -p /mnt/seed/network-config -k yaml -d /tmp/net -D debian "
            "-O networkd >/dev/null && cat /tmp/net/etc/systemd/network/*.network", timeout=120)).stdout
        settings = vbox.state()["vms"]["vbcloud"]["settings"]
        for mac in (settings["macaddress1"], settings["macaddress2"]):
            pretty = ":".join(mac[i:i + 2] for i in range(0, 12, 2)).lower()
            assert f"MACAddress={pretty}" in rendered, rendered
        assert rendered.count("DHCP=ipv4") == 2, rendered
        await conn.close()
    finally:
        qemu.kill()
        qemu.wait()
