"""Real test hosts: Debian 12 VMs under QEMU (TCG), booted from the image core/build-image.sh makes
(what `machine-tui build-image` runs).

Each VM is a qcow2 overlay on the shared cached base, its SSH and engine ports forwarded on 127.0.0.1 only
(user-mode networking with restrict=on: the guest reaches nothing), the test's key handed in by fw_cfg."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NEEDS = ("qemu-system-x86_64", "qemu-img", "debootstrap", "mke2fs", "ssh-keygen")


def missing_tools() -> list[str]:
    return [t for t in NEEDS if not shutil.which(t)]


def build_image(cloud_init: bool = True) -> str:
    """The cached image folder: vmlinuz, docker.qcow2 and (by default) cloud.qcow2, the cloud-init variant."""
    gone = missing_tools()
    if gone:
        raise RuntimeError(
            f"the VM tests need {', '.join(gone)}: apt-get install qemu-system-x86 qemu-utils debootstrap "
            "e2fsprogs openssh-client (scripts/install-test-deps does it)"
        )
    cache = os.environ.get("MACHINE_TUI_IMAGE_CACHE", "/var/cache/machine-tui-test-image")
    out = subprocess.run(["bash", os.path.join(ROOT, "core", "build-image.sh"), cache]
                         + (["cloud-init"] if cloud_init else []), capture_output=True, text=True, timeout=1200)
    if out.returncode != 0:
        raise RuntimeError(f"building the test image failed:\n{out.stderr[-3000:]}")
    return out.stdout.strip().splitlines()[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VM:
    def __init__(self, image_dir: str, workdir: str, pubkey: str, smp: int = 2):
        self.image_dir, self.dir, self.pubkey, self.smp = image_dir, workdir, pubkey, smp
        os.makedirs(workdir, exist_ok=True)
        self.ssh_port = free_port()
        self.engine_port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def console(self) -> str:
        path = os.path.join(self.dir, "console.log")
        return open(path, errors="replace").read() if os.path.exists(path) else ""

    def prepare_disk(self) -> str:
        disk = os.path.join(self.dir, "disk.qcow2")
        if not os.path.exists(disk):
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b",
                            os.path.join(self.image_dir, "docker.qcow2"), "-F", "qcow2", disk], check=True)
        return disk

    def command(self) -> list[str]:
        """The QEMU command line of this VM (its pid in qemu.pid beside its disk)."""
        disk = os.path.join(self.dir, "disk.qcow2")
        fwd = (f"hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22,"
               f"hostfwd=tcp:127.0.0.1:{self.engine_port}-:{self.engine_port}")
        return [
            "qemu-system-x86_64", "-accel", "tcg", "-m", "1024", "-smp", str(self.smp), "-display", "none",
            "-serial", f"file:{self.dir}/console.log", "-monitor", "none",
            "-qmp", f"unix:{self.dir}/qmp.sock,server=on,wait=off", "-pidfile", f"{self.dir}/qemu.pid",
            "-netdev", f"user,id=n0,restrict=on,{fwd}", "-device", "virtio-net-pci,netdev=n0",
            "-device", "virtio-rng-pci",
            "-drive", f"file={disk},if=none,id=d0,format=qcow2,discard=unmap", "-device", "nvme,drive=d0,serial=rig0",
            "-kernel", os.path.join(self.image_dir, "vmlinuz"),
            "-fw_cfg", f"name=opt/rig/ssh_key,file={self.pubkey}",
            "-append", "root=/dev/nvme0n1 rw console=ttyS0 quiet apparmor=0",
        ]

    def start(self) -> "VM":
        self.prepare_disk()
        self.proc = subprocess.Popen(self.command(), stdout=open(os.path.join(self.dir, "qemu.out"), "w"),
                                     stderr=subprocess.STDOUT)
        return self

    def wait_for_ssh_banner(self, timeout: float = 180) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"QEMU exited: {open(os.path.join(self.dir, 'qemu.out')).read()}")
            try:
                with socket.create_connection(("127.0.0.1", self.ssh_port), timeout=1) as s:
                    s.settimeout(1)
                    if s.recv(16).startswith(b"SSH-"):
                        return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"no SSH banner within {timeout} s; console:\n{self.console[-2000:]}")

    def qmp(self, command: str) -> None:
        qmp(self.dir, command)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.qmp("quit")
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def qmp(folder: str, command: str) -> None:
    """One QMP command to the VM whose qmp.sock is in folder."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(os.path.join(folder, "qmp.sock"))
        f = s.makefile("rw")
        f.readline()
        for cmd in ("qmp_capabilities", command):
            f.write(json.dumps({"execute": cmd}) + "\n")
            f.flush()
            f.readline()


def make_key(folder: str) -> str:
    key = os.path.join(folder, "id_test")
    if not os.path.exists(key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    return key


def tempdir() -> str:
    return tempfile.mkdtemp(prefix="mt-vm-")


def busybox_rootfs(folder: str) -> str:
    """A root fs holding Debian's static busybox, made here, so a container runs with no registry."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    assert os.path.exists(busybox), "the container test needs busybox-static: apt-get install busybox-static"
    root = os.path.join(folder, "rootfs")
    os.makedirs(os.path.join(root, "bin"), exist_ok=True)
    shutil.copy(busybox, os.path.join(root, "bin", "busybox"))
    if not os.path.lexists(os.path.join(root, "bin", "sh")):  # a shell where `docker exec` looks for one
        os.symlink("busybox", os.path.join(root, "bin", "sh"))
    tar = os.path.join(folder, "rootfs.tar")
    subprocess.run(["tar", "-C", root, "-cf", tar, "."], check=True)
    return tar


def docker(env: dict, context: str, *args: str, timeout: float = 180) -> str:
    """The real docker CLI on a machine's context (made by `create`), over its TLS; its output."""
    r = subprocess.run(["docker", "--context", context, *args], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "DOCKER_CONFIG": env["DOCKER_CONFIG"]})
    assert r.returncode == 0, r.stderr
    return r.stdout
