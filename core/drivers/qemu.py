"""The QEMU driver: local VMs on Linux without VirtualBox.

Two kinds of image:
- a cloud image (default: Debian 12's generic cloud qcow2), downloaded once into the store's cache/ and verified
  against its published checksum; the machine's user, SSH key and hostname reach it through a cloud-init NoCloud
  seed ISO, as cloud images expect;
- machine-tui's own fast image (`machine-tui build-image`, `--qemu-local-image DIR`): Debian with Docker
  preinstalled, its kernel booted directly and the key handed in through QEMU's fw_cfg (about 10 s faster to SSH
  under software emulation than cloud-init).
Each machine is a qcow2 overlay on the shared base in its own folder, its SSH and engine ports forwarded on
127.0.0.1 only; a QMP socket gives the state and clean stops; the pidfile and the serial console log live in the
machine folder."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import sys
import uuid
from typing import TYPE_CHECKING, Any

from .. import hostos
from ..errors import HostNotRunning, MachineError, PortTaken, PreCreateError
from ..flags import CPUS, MEGABYTES, MEMORY_MB, PORT_OR_AUTO, Flag
from ..imagecache import DEBIAN_12_CLOUD
from ..ports import free_port, port_free
from ..states import State
from .base import Driver, Setting
from .qmp import qmp_command

if TYPE_CHECKING:
    from ..events import Reporter

KEY_NAME = "opt/rig/ssh_key"  # the fw_cfg entry the image's key unit reads
SEED_DIR = "opt/machine"  # the fw_cfg entries of the engine's seed, read by the image's rig-engine unit
ACCELS = ("auto", "kvm", "hvf", "tcg")
# QMP query-status -> machine state; "prelaunch" is a VM started with -S whose CPUs never ran
QMP_STATES = {"running": State.RUNNING, "paused": State.PAUSED, "prelaunch": State.PAUSED,
              "suspended": State.PAUSED, "debug": State.PAUSED, "shutdown": State.STOPPING,
              "inmigrate": State.STARTING, "restore-vm": State.STARTING}


class QemuDriver(Driver):
    name = "qemu"
    summary = "a local Debian VM on QEMU (KVM where usable), nothing downloaded with `build-image`"
    flags = [
        Flag("qemu-accel", "Accelerator: auto, kvm, hvf or tcg (auto proves that acceleration runs a guest "
             "before using it)", default="auto", env="QEMU_ACCEL", choices=ACCELS),
        Flag("qemu-binary", "QEMU system emulator to run", default="qemu-system-x86_64", env="QEMU_BINARY",
             advanced=True),
        Flag("qemu-cpus", "Number of virtual CPUs", "int", 1, "QEMU_CPUS", bounds=CPUS),
        Flag("qemu-disk-size", "Size of the machine's disk in MB", "int", 20000, "QEMU_DISK_SIZE", bounds=MEGABYTES),
        Flag("qemu-engine-port", "Port on 127.0.0.1 for the Docker engine (0: a free one)", "int", 0,
             "QEMU_ENGINE_PORT", advanced=True, bounds=PORT_OR_AUTO),
        Flag("qemu-extra-args", "Extra arguments for QEMU (shell words)", env="QEMU_EXTRA_ARGS", advanced=True),
        Flag("qemu-image-checksum", "Checksum of the image as ALGO:HEX (default: the SHA512SUMS or SHA256SUMS "
             "file published next to it)", env="QEMU_IMAGE_CHECKSUM", advanced=True),
        Flag("qemu-image-url", "Cloud image to boot (http, https or file URL), downloaded once into the store's "
             "cache", default=DEBIAN_12_CLOUD, env="QEMU_IMAGE_URL"),
        Flag("qemu-kernel", "Boot this kernel directly instead of the image's boot loader (root file system on "
             "/dev/nvme0n1)", env="QEMU_KERNEL", advanced=True),
        Flag("qemu-local-image", "Folder made by `machine-tui build-image` (docker.qcow2 and vmlinuz): boots "
             "faster, nothing to download", env="QEMU_LOCAL_IMAGE"),
        Flag("qemu-memory", "Memory of the machine in MB", "int", 1024, "QEMU_MEMORY", bounds=MEMORY_MB),
        Flag("qemu-network", "A private network shared with the other machines on it: a second NIC on one VDE "
             "switch, with an address machine-tui assigns (needs vde2)", env="QEMU_NETWORK"),
        Flag("qemu-no-internet", "The guest reaches nothing but its forwarded ports (user-mode network with "
             "restrict=on)", "bool", False, "QEMU_NO_INTERNET"),
        Flag("qemu-ssh-port", "Port on 127.0.0.1 for SSH (0: a free one)", "int", 0, "QEMU_SSH_PORT", advanced=True,
             bounds=PORT_OR_AUTO),
        Flag("qemu-ssh-user", "User cloud-init creates for SSH on a cloud image", default="docker",
             env="QEMU_SSH_USER", advanced=True),
    ]

    ip_address = Setting("IPAddress", str, "127.0.0.1")
    ssh_user_setting = Setting("SSHUser", str, "docker")
    ssh_port_setting = Setting("SSHPort", int, flag="qemu-ssh-port")
    engine_port = Setting("EnginePort", int, flag="qemu-engine-port")
    image_dir = Setting("ImageDir", str, "")  # from --qemu-local-image
    image_url = Setting("ImageURL", str, "")  # --qemu-image-url, unless a local image is used
    image_checksum = Setting("ImageChecksum", str, flag="qemu-image-checksum")
    base_image = Setting("BaseImage", str, "")
    kernel = Setting("Kernel", str, "")  # from --qemu-kernel, made absolute
    memory = Setting("Memory", int, flag="qemu-memory")
    cpus = Setting("CPUs", int, flag="qemu-cpus")
    disk_size = Setting("DiskSize", int, flag="qemu-disk-size")
    accel = Setting("Accel", str, flag="qemu-accel")
    binary = Setting("Binary", str, flag="qemu-binary")
    extra_args = Setting("ExtraArgs", str, flag="qemu-extra-args")
    no_internet = Setting("NoInternet", bool, flag="qemu-no-internet")
    network = Setting("Network", str, flag="qemu-network", written_at_create=False)
    network_address = Setting("NetworkAddress", str, "", written_at_create=False)
    network_mac = Setting("NetworkMAC", str, "", written_at_create=False)

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self._started = False  # this object launched QEMU: a vanished VM is then worth explaining

    def set_config_from_flags(self, opts: dict[str, Any]) -> None:
        from ..imagecache import parse_checksum

        super().set_config_from_flags(opts)
        image = opts.get("qemu-local-image") or ""
        self.image_dir = os.path.abspath(os.path.expanduser(image)) if image else ""
        url = "" if image else str(opts.get("qemu-image-url") or self.flag_named("qemu-image-url").default)
        if url and "://" not in url:  # a plain path means a local file
            url = "file://" + os.path.abspath(os.path.expanduser(url))
        self.image_url = url
        if self.image_checksum:
            parse_checksum(self.image_checksum)
        kernel = opts.get("qemu-kernel") or ""
        self.kernel = os.path.abspath(os.path.expanduser(kernel)) if kernel else ""
        if self.accel not in ACCELS:
            raise MachineError(f"--qemu-accel must be one of {', '.join(ACCELS)}, not {self.accel!r}")
        try:
            shlex.split(self.extra_args)
        except ValueError as err:
            raise MachineError(f"--qemu-extra-args {self.extra_args!r}: {str(err).lower()} (quote as a shell "
                               "would)") from None
        self.ssh_user_setting = "root" if image else (opts.get("qemu-ssh-user") or "docker")
        if self.network:
            from .qemunet import folder

            folder(self.store_path, self.network)  # the name checked before anything is made
        else:
            self.config.pop("Network", None)

    # ----- files
    def _path(self, name: str) -> str:
        return self.resolve_store_path(name)

    def log_path(self) -> str:
        return self._path("console.log")

    @property
    def _fw_cfg(self) -> bool:
        """machine-tui's own image: key through fw_cfg, its kernel booted directly."""
        return bool(self.image_dir)

    @property
    def _kernel(self) -> str:
        return os.path.join(self.image_dir, "vmlinuz") if self.image_dir else self.kernel

    async def pre_create_check(self) -> None:
        if not shutil.which(self.binary):
            raise PreCreateError(f'Error with pre-create check: "{self.binary} not found: install QEMU '
                                 '(apt-get install qemu-system-x86 qemu-utils)"')
        if not shutil.which("qemu-img"):
            raise PreCreateError('Error with pre-create check: "qemu-img not found: apt-get install qemu-utils"')
        if self.accel == "hvf" and sys.platform != "darwin":
            raise PreCreateError('Error with pre-create check: "the hvf accelerator exists only on macOS: '
                                 'use --qemu-accel auto, kvm or tcg"')
        needed = [os.path.join(self.image_dir, f) for f in ("docker.qcow2", "vmlinuz")] if self.image_dir else []
        if self.kernel:
            needed.append(self.kernel)
        for path in needed:
            if not os.path.exists(path):
                hint = "build the image with `machine-tui build-image`" if self.image_dir else "check --qemu-kernel"
                raise PreCreateError(f'Error with pre-create check: "{path} does not exist: {hint}"')
        for port in (self.ssh_port_setting, self.engine_port):
            if port and not port_free(port):
                raise PreCreateError(f'Error with pre-create check: "port {port} on 127.0.0.1 is already taken"')

    async def create(self, report: Reporter) -> None:
        from ..sshkeys import make_key_pair

        self.ssh_key_setting = make_key_pair(self._path("id_rsa"))
        chosen_ports = not self.ssh_port_setting and not self.engine_port
        self.ssh_port_setting = self.ssh_port_setting or free_port()
        self.engine_port = self.engine_port or free_port()
        if self.image_dir:
            self.base_image = os.path.join(self.image_dir, "docker.qcow2")
        else:
            from ..imagecache import fetch_image

            try:
                self.base_image = await fetch_image(self.image_url, os.path.join(self.store_path, "cache"), report,
                                                   self.image_checksum)
            except MachineError as err:
                raise MachineError(f"downloading the image: {err}") from None
        if self.network:
            from .qemunet import join

            member = join(self.store_path, self.network, self.machine_name)
            self.network_address, self.network_mac = member.address, member.mac
            report.info(f"On network {self.network} as {member.address}")
        report.info("Creating the disk (a qcow2 overlay on the base image)...")
        await self._make_disk(report)
        if self.accel == "auto":
            self.accel = await self._remembered_accel(report)
        report.info(f"Starting the VM ({self.accel})...")
        for attempt in range(3):
            try:
                await self._make_engine_seed()  # it names the engine's port: made again if the ports change
                await self.start()
                return
            except PortTaken as err:
                if not chosen_ports or attempt == 2:  # ports the user chose are theirs to free
                    raise MachineError(f"starting the VM: {err}") from None
                self.ssh_port_setting, self.engine_port = free_port(), free_port()
            except MachineError as err:
                raise MachineError(f"starting the VM: {err}") from None

    async def _make_engine_seed(self) -> None:
        """machine-tui's own image configures and starts Docker at its first boot from a seed handed in through
        fw_cfg (an image built before it knew how has no engine-seed file and is provisioned as any host); a cloud
        image gets it in its cloud-init seed, which the guest applies only if it has Docker preinstalled."""
        if not self._fw_cfg:
            bootcmd = ""
            if self.seed_engine is not None:
                # no dockerd named: the guest puts its own in the drop-in
                self.engine_seed = await self.seed_engine(f"tcp://127.0.0.1:{self.engine_port}", "", "")
                bootcmd = self.engine_seed.first_boot_script()
            self._write_seed(bootcmd)
            return
        if self.seed_engine is None:
            return
        try:
            with open(os.path.join(self.image_dir, "engine-seed")) as fh:
                known = dict(line.split("=", 1) for line in fh.read().splitlines() if "=" in line)
        except OSError:
            return
        if known.get("dockerd"):
            self.engine_seed = await self.seed_engine(f"tcp://127.0.0.1:{self.engine_port}", known["dockerd"],
                                                      known.get("execstart", ""))

    async def _make_disk(self, report: Reporter) -> None:
        try:
            info = json.loads(await _run("qemu-img", "info", "--output=json", self.base_image))
        except (MachineError, ValueError) as err:
            raise MachineError(f"{self.base_image} is not a disk image QEMU can read: {err}") from None
        fmt, vsize = info.get("format", "raw"), int(info.get("virtual-size") or 0)
        if fmt == "raw" and not self._kernel:
            with open(self.base_image, "rb") as fh:
                if fh.read(512)[510:] != b"\x55\xaa":
                    raise MachineError(f"{self.base_image} is not a bootable disk image (no qcow2 header, no boot "
                                       "sector)")
        size = self.disk_size * 1024 * 1024
        if size < vsize:
            report.warn(f"--qemu-disk-size {self.disk_size} MB is smaller than the image ({vsize // 2**20} MB): "
                        "the disk keeps the image's size")
            size = vsize
        try:
            await _run("qemu-img", "create", "-q", "-f", "qcow2", "-b", self.base_image, "-F", fmt,
                       self._path("disk.qcow2"), str(size))
            os.chmod(self._path("disk.qcow2"), 0o600)
        except MachineError as err:
            raise MachineError(f"making the disk: {err}") from None

    def _write_seed(self, bootcmd: str = "") -> None:
        from ..seediso import write_machine_seed

        name = self.machine_name
        write_machine_seed(self._path("seed.iso"), name, self.ssh_user_setting,
                           _read_text(self.ssh_key_setting + ".pub"),
                           f"machine-tui-{name}-{uuid.uuid4().hex[:8]}", bootcmd=bootcmd)

    async def _remembered_accel(self, report: Reporter) -> str:
        """The probe's verdict, kept per boot of this computer and per QEMU binary (a batch probes once: the others
        wait for the first one's answer)."""
        from ..store import makedirs_private, write_atomic

        binary = shutil.which(self.binary) or self.binary
        try:
            with open("/proc/sys/kernel/random/boot_id") as fh:
                boot = fh.read().strip()
            key = f"{boot}|{binary}|{os.stat(binary).st_mtime_ns}"
        except OSError:
            return await self._probe_accel(report)  # no boot id (not Linux): probe each time
        cache_dir = os.path.join(self.store_path, "cache")
        makedirs_private(cache_dir)
        path = os.path.join(cache_dir, "qemu-accel.json")
        with open(os.path.join(cache_dir, ".qemu-accel.lock"), "a") as lock:
            await asyncio.to_thread(hostos.lock, lock)
            try:
                try:
                    with open(path) as fh:
                        known = json.load(fh)
                except (OSError, ValueError):
                    known = {}
                if key in known and known[key] in ACCELS:
                    report.info(f"Using {known[key]} (checked earlier since this computer booted)")
                    return str(known[key])
                verdict = await self._probe_accel(report)
                write_atomic(path, json.dumps({key: verdict}).encode(), 0o600)  # older boots' verdicts go
                return verdict
            finally:
                hostos.unlock(lock)

    async def _probe_accel(self, report: Reporter) -> str:
        """Acceleration only when a guest really runs on it: /dev/kvm can exist and still hang guests."""
        if sys.platform == "darwin":
            return "hvf"
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            report.info("No usable /dev/kvm: using software emulation (tcg)")
            return "tcg"
        report.info("Checking that KVM really runs a guest here...")
        log = self._path("kvm-probe.log")
        if self._kernel:
            boot = ["-kernel", self._kernel, "-append", "console=ttyS0 panic=-1"]
        else:  # the image's own boot loader, on a throw-away snapshot; a working guest prints on the serial port
            boot = ["-drive", f"file={self._path('disk.qcow2')},if=virtio,format=qcow2,snapshot=on"]
        proc = await asyncio.create_subprocess_exec(
            self.binary, "-accel", "kvm", "-m", "256", "-display", "none", "-monitor", "none",
            "-serial", f"file:{log}", *boot, "-no-reboot",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            for _ in range(40):
                await asyncio.sleep(0.25)
                if os.path.exists(log) and os.path.getsize(log) > 0:
                    report.info("KVM runs a guest here: using kvm")
                    return "kvm"
                if proc.returncode is not None:
                    break
        finally:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            if os.path.exists(log):
                os.unlink(log)
        report.info("/dev/kvm exists but a guest does not run on it (no output in 10 s): using tcg")
        return "tcg"

    def _command(self) -> list[str]:
        fwd = (f"hostfwd=tcp:127.0.0.1:{self.ssh_port_setting}-:22,"
               f"hostfwd=tcp:127.0.0.1:{self.engine_port}-:{self.engine_port}")
        restrict = "restrict=on," if self.no_internet else ""
        argv = [
            self.binary, "-accel", self.accel, "-m", str(self.memory), "-smp", str(self.cpus),
            "-display", "none", "-monitor", "none", "-daemonize",
            "-serial", f"file:{self._path('console.log')}",
            "-qmp", f"unix:{self._path('qmp.sock')},server=on,wait=off", "-pidfile", self._path("qemu.pid"),
            "-netdev", f"user,id=n0,{restrict}{fwd}", "-device", "virtio-net-pci,netdev=n0",
            "-device", "virtio-rng-pci",
        ]
        if self.network:
            from .qemunet import switch_socket

            argv += ["-netdev", f"vde,id=p0,sock={switch_socket(self.store_path, self.network)}",
                     "-device", f"virtio-net-pci,netdev=p0,mac={self.network_mac}"]
        disk = f"file={self._path('disk.qcow2')},format=qcow2,discard=unmap"
        if self._kernel:
            # NVMe is built into Debian's cloud kernel, so the root disk needs no initrd. With a second NIC,
            # networkd's wait-online would wait 2 minutes for a DHCP lease that never comes (Docker starts after it)
            append = "root=/dev/nvme0n1 rw console=ttyS0 quiet apparmor=0"
            if self.network:
                append += " systemd.mask=systemd-networkd-wait-online.service"
            argv += ["-drive", f"{disk},if=none,id=d0", "-device", "nvme,drive=d0,serial=machine0",
                     "-kernel", self._kernel, "-append", append]
        else:
            argv += ["-drive", f"{disk},if=virtio"]
        if self._fw_cfg:
            argv += ["-fw_cfg", f"name={KEY_NAME},file={_option_path(self.ssh_key_setting + '.pub')}"]
            seed = self.engine_seed
            if seed is not None:  # only at the first boot: later boots keep what provisioning left
                argv += ["-fw_cfg", f"name={SEED_DIR}/hostname,string={seed.hostname}"]
                for name, path in (("ca.pem", seed.ca), ("server.pem", seed.cert), ("server-key.pem", seed.key),
                                   ("engine.conf", seed.conf)):
                    argv += ["-fw_cfg", f"name={SEED_DIR}/{name},file={_option_path(path)}"]
        else:
            argv += ["-drive", f"file={self._path('seed.iso')},format=raw,if=virtio,readonly=on"]
        return argv + shlex.split(self.extra_args or "")

    # ----- state
    def _pid(self) -> int | None:
        try:
            pid = int(_read_text(self._path("qemu.pid")).strip())
        except (OSError, ValueError):
            return None
        cmdline = hostos.command_line(pid)
        # guard against a reused pid: it must be our QEMU, on this machine's disk
        return pid if cmdline and self._path("disk.qcow2").encode() in cmdline else None

    async def _qmp(self, command: str, timeout: float = 5.0) -> dict[str, Any]:
        return await qmp_command(self._path("qmp.sock"), command, timeout)

    async def state(self) -> State:
        if self._pid() is None:
            return State.STOPPED
        try:
            reply = await self._qmp("query-status")
        except (OSError, asyncio.TimeoutError, ValueError):
            return State.ERROR
        status = (reply.get("return") or {}).get("status", "")
        return QMP_STATES.get(status, State.ERROR)

    async def get_url(self) -> str:
        if await self.state() != State.RUNNING:
            raise HostNotRunning()
        return f"tcp://127.0.0.1:{self.engine_port}"

    async def why_down(self) -> str:
        if not self._started or self._pid() is not None:
            return ""  # only a VM this process started can have died under it
        try:
            with open(self._path("console.log"), errors="replace") as fh:
                tail = [line.strip() for line in fh.read().splitlines()[-200:] if line.strip()]
        except OSError:
            tail = []
        last = f"; last console line: {tail[-1][:200]}" if tail else ""
        return f"the VM is no longer running: its QEMU process exited{last}"

    # ----- lifecycle
    async def start(self) -> None:
        if self._pid() is not None:
            if await self.state() == State.PAUSED:
                await self._qmp("cont")  # a paused VM (QMP stop, a host suspend) is resumed, as VirtualBox's is
            return
        for port in (self.ssh_port_setting, self.engine_port):
            if not port_free(port):
                raise MachineError(f"port {port} on 127.0.0.1 is taken by another program: "
                                   "free it, then start the machine again")
        if self.network:
            from .qemunet import ensure_switch

            ensure_switch(self.store_path, self.network)
        out = await _run(*self._command(), check=False)
        self._started = True
        if self._pid() is None:
            if "forwarding" in out:  # another program took a port between our check and QEMU's bind
                raise PortTaken(f"QEMU did not start: {out.strip()}")
            raise MachineError(f"QEMU did not start: {out.strip() or 'no output'}")

    async def _ask_to_exit(self, command: str, seconds: float) -> bool:
        """Send a QMP command that makes QEMU exit and wait for the process itself (QEMU drops its pidfile
        before it has let go of its ports). False if it is still alive after `seconds`."""
        pid = self._pid()
        if pid is None:
            return True
        try:
            await self._qmp(command)
        except (OSError, asyncio.TimeoutError, ValueError):
            if command == "quit":
                hostos.end_process(pid)
        for _ in range(int(seconds * 4)):
            if not _alive(pid):
                return True
            await asyncio.sleep(0.25)
        return False

    async def stop(self) -> None:
        """ACPI power button (the guest shuts down cleanly), then quit after 60 s."""
        if not await self._ask_to_exit("system_powerdown", 60):
            await self.kill()

    async def kill(self) -> None:
        pid = self._pid()
        if not await self._ask_to_exit("quit", 10) and pid is not None and _alive(pid):
            hostos.end_process(pid)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def remove(self) -> None:
        await self.kill()
        if self.network:
            from .qemunet import leave

            leave(self.store_path, self.network, self.machine_name)

    async def private_address(self) -> str:
        return self.network_address

    async def prepare_host(self, conn: Any, report: Reporter) -> None:
        if self.network:
            from .qemunet import Member, guest_config

            member = Member(self.network, 0, "0.0.0.0")
            member.address, member.mac = self.network_address, self.network_mac
            report.info(f"Configuring the private network {self.network} ({self.network_address})...")
            await conn.sudo("sh -c 'cat > /etc/systemd/network/05-machine-tui-private.network && "
                            "systemctl restart systemd-networkd'", input=guest_config(member), timeout=120)
        if self._fw_cfg:
            # the overlay is as large as --qemu-disk-size; the root file system grows into it online
            await conn.sudo("resize2fs /dev/nvme0n1 >/dev/null 2>&1 || true", timeout=300, check=False)
        else:
            # cloud-init grows the disk and may still be installing packages: provisioning waits for it
            report.info("Waiting for cloud-init to finish...")
            await conn.sudo("cloud-init status --wait >/dev/null 2>&1 || true", timeout=600, check=False)


def _alive(pid: int) -> bool:
    return hostos.running(pid)


async def _run(*argv: str, check: bool = True) -> str:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    if check and proc.returncode != 0:
        raise MachineError(f"{os.path.basename(argv[0])} failed: {text.strip()}")
    return text


def _option_path(path: str) -> str:
    """A path inside a QEMU option, where a comma separates options unless doubled."""
    return path.replace(",", ",,")


def _read_text(path: str) -> str:
    with open(path) as fh:
        return fh.read()
