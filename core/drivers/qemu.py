"""The QEMU driver: local VMs on Linux without VirtualBox.

This first version boots images made by machine-tui's own builder (`scripts/build-test-image.sh`: a Debian 12 root
disk plus the kernel to boot it directly, the SSH key handed in through QEMU's fw_cfg). Each machine is a qcow2
overlay on the shared base in its own folder, with its SSH and engine ports forwarded on 127.0.0.1 only; a QMP socket
gives the state and clean stops; the pidfile and the serial console log live in the machine folder."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import signal
import socket

from ..errors import MachineError, PreCreateError
from . import Driver, Flag, State

KEY_NAME = "opt/machine-tui/ssh_key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QemuDriver(Driver):
    name = "qemu"
    flags = [
        Flag("qemu-accel", "Accelerator: auto, kvm or tcg (auto proves that KVM runs a guest before using it)",
             default="auto", env="QEMU_ACCEL", choices=("auto", "kvm", "tcg")),
        Flag("qemu-binary", "QEMU system emulator to run", default="qemu-system-x86_64", env="QEMU_BINARY",
             advanced=True),
        Flag("qemu-cpus", "Number of virtual CPUs", "int", 1, "QEMU_CPUS"),
        Flag("qemu-disk-size", "Size of the machine's disk in MB", "int", 20000, "QEMU_DISK_SIZE"),
        Flag("qemu-engine-port", "Port on 127.0.0.1 for the Docker engine (0: a free one)", "int", 0,
             "QEMU_ENGINE_PORT", advanced=True),
        Flag("qemu-extra-args", "Extra arguments for QEMU (shell words)", env="QEMU_EXTRA_ARGS", advanced=True),
        Flag("qemu-local-image", "Folder holding docker.qcow2 and vmlinuz made by machine-tui's image builder",
             env="QEMU_LOCAL_IMAGE", required=True),
        Flag("qemu-memory", "Memory of the machine in MB", "int", 1024, "QEMU_MEMORY"),
        Flag("qemu-ssh-port", "Port on 127.0.0.1 for SSH (0: a free one)", "int", 0, "QEMU_SSH_PORT", advanced=True),
    ]

    @classmethod
    def new_config(cls, machine_name: str, store_path: str) -> dict:
        cfg = super().new_config(machine_name, store_path)
        cfg.update({"IPAddress": "127.0.0.1", "SSHPort": 0, "EnginePort": 0, "ImageDir": "", "Memory": 1024,
                    "CPUs": 1, "DiskSize": 20000, "Accel": "auto", "Binary": "qemu-system-x86_64",
                    "ExtraArgs": ""})
        return cfg

    def set_config_from_flags(self, opts: dict) -> None:
        super().set_config_from_flags(opts)
        c = self.config
        image = opts.get("qemu-local-image") or ""
        if not image:
            raise MachineError("qemu driver requires the --qemu-local-image option")
        c["ImageDir"] = os.path.abspath(os.path.expanduser(image))
        c["Memory"], c["CPUs"], c["DiskSize"] = (int(opts.get("qemu-memory", 1024)), int(opts.get("qemu-cpus", 1)),
                                                 int(opts.get("qemu-disk-size", 20000)))
        c["Accel"] = opts.get("qemu-accel") or "auto"
        if c["Accel"] not in ("auto", "kvm", "tcg"):
            raise MachineError(f"--qemu-accel must be auto, kvm or tcg, not {c['Accel']!r}")
        c["Binary"] = opts.get("qemu-binary") or "qemu-system-x86_64"
        c["ExtraArgs"] = opts.get("qemu-extra-args") or ""
        c["SSHPort"] = int(opts.get("qemu-ssh-port") or 0)
        c["EnginePort"] = int(opts.get("qemu-engine-port") or 0)

    # ----- files
    def _path(self, name: str) -> str:
        return self.resolve_store_path(name)

    def log_path(self) -> str:
        return self._path("console.log")

    async def pre_create_check(self) -> None:
        c = self.config
        if not shutil.which(c["Binary"]):
            raise PreCreateError(f'Error with pre-create check: "{c["Binary"]} not found: install QEMU '
                                 '(apt-get install qemu-system-x86 qemu-utils)"')
        if not shutil.which("qemu-img"):
            raise PreCreateError('Error with pre-create check: "qemu-img not found: apt-get install qemu-utils"')
        for f in ("docker.qcow2", "vmlinuz"):
            if not os.path.exists(os.path.join(c["ImageDir"], f)):
                raise PreCreateError(f'Error with pre-create check: "{os.path.join(c["ImageDir"], f)} does not '
                                     'exist: build the image with scripts/build-test-image.sh"')
        for key in ("SSHPort", "EnginePort"):
            port = c[key]
            if port and not _port_free(port):
                raise PreCreateError(f'Error with pre-create check: "port {port} on 127.0.0.1 is already taken"')

    async def create(self, report) -> None:
        from ..sshkeys import make_key_pair

        c = self.config
        c["SSHKeyPath"] = make_key_pair(self._path("id_rsa"))
        c["SSHPort"] = c["SSHPort"] or free_port()
        c["EnginePort"] = c["EnginePort"] or free_port()
        report.info("Creating the disk (a qcow2 overlay on the base image)...")
        await _run("qemu-img", "create", "-q", "-f", "qcow2", "-b", os.path.join(c["ImageDir"], "docker.qcow2"),
                   "-F", "qcow2", self._path("disk.qcow2"), f"{c['DiskSize']}M")
        if c["Accel"] == "auto":
            c["Accel"] = await self._probe_accel(report)
        report.info(f"Starting the VM ({c['Accel']})...")
        await self.start()

    async def _probe_accel(self, report) -> str:
        """KVM only when a guest really runs on it: /dev/kvm can exist and still hang guests."""
        if not os.access("/dev/kvm", os.R_OK | os.W_OK):
            report.info("No usable /dev/kvm: using software emulation (tcg)")
            return "tcg"
        log = self._path("kvm-probe.log")
        proc = await asyncio.create_subprocess_exec(
            self.config["Binary"], "-accel", "kvm", "-m", "256", "-display", "none", "-monitor", "none",
            "-serial", f"file:{log}", "-kernel", os.path.join(self.config["ImageDir"], "vmlinuz"),
            "-append", "console=ttyS0 panic=-1", "-no-reboot",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            for _ in range(40):
                await asyncio.sleep(0.25)
                if os.path.exists(log) and b"Linux version" in open(log, "rb").read():
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
        c = self.config
        fwd = (f"hostfwd=tcp:127.0.0.1:{c['SSHPort']}-:22,"
               f"hostfwd=tcp:127.0.0.1:{c['EnginePort']}-:{c['EnginePort']}")
        return [
            c["Binary"], "-accel", c["Accel"], "-m", str(c["Memory"]), "-smp", str(c["CPUs"]),
            "-display", "none", "-monitor", "none", "-daemonize",
            "-serial", f"file:{self._path('console.log')}",
            "-qmp", f"unix:{self._path('qmp.sock')},server=on,wait=off", "-pidfile", self._path("qemu.pid"),
            "-netdev", f"user,id=n0,restrict=on,{fwd}", "-device", "virtio-net-pci,netdev=n0",
            "-device", "virtio-rng-pci",
            "-drive", f"file={self._path('disk.qcow2')},if=none,id=d0,format=qcow2,discard=unmap",
            "-device", "nvme,drive=d0,serial=machine0",
            "-kernel", os.path.join(c["ImageDir"], "vmlinuz"),
            "-fw_cfg", f"name=opt/rig/ssh_key,file={c['SSHKeyPath']}.pub",
            "-append", "root=/dev/nvme0n1 rw console=ttyS0 quiet apparmor=0",
            *shlex.split(c.get("ExtraArgs") or ""),
        ]

    # ----- state
    def _pid(self) -> int | None:
        try:
            pid = int(open(self._path("qemu.pid")).read().strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            return None
        # guard against a reused pid: it must be our QEMU, on this machine's disk
        return pid if self._path("disk.qcow2").encode() in cmdline else None

    async def _qmp(self, command: str, timeout: float = 5.0) -> dict:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(self._path("qmp.sock")), timeout)
        try:
            await asyncio.wait_for(reader.readline(), timeout)
            for cmd in ("qmp_capabilities", command):
                writer.write(json.dumps({"execute": cmd}).encode() + b"\n")
                await writer.drain()
                while True:
                    line = json.loads(await asyncio.wait_for(reader.readline(), timeout) or b"{}")
                    if "return" in line or "error" in line or not line:
                        break
            return line
        finally:
            writer.close()

    async def state(self) -> State:
        if self._pid() is None:
            return State.STOPPED
        try:
            reply = await self._qmp("query-status")
        except (OSError, asyncio.TimeoutError, ValueError):
            return State.ERROR
        status = (reply.get("return") or {}).get("status", "")
        return {"running": State.RUNNING, "paused": State.PAUSED}.get(status, State.ERROR)

    async def get_url(self) -> str:
        if await self.state() != State.RUNNING:
            raise MachineError("Host is not running")
        return f"tcp://127.0.0.1:{self.config['EnginePort']}"

    # ----- lifecycle
    async def start(self) -> None:
        if self._pid() is not None:
            return
        for key in ("SSHPort", "EnginePort"):
            if not _port_free(self.config[key]):
                raise MachineError(f"port {self.config[key]} on 127.0.0.1 is taken by another program: "
                                   "free it, then start the machine again")
        out = await _run(*self._command(), check=False)
        if self._pid() is None:
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
                os.kill(pid, signal.SIGKILL)
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
            os.kill(pid, signal.SIGKILL)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def remove(self) -> None:
        await self.kill()

    async def prepare_host(self, conn, report) -> None:
        # the overlay is as large as --qemu-disk-size; the root file system grows into it online
        await conn.sudo("resize2fs /dev/nvme0n1 >/dev/null 2>&1 || true", timeout=300, check=False)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # as QEMU binds its forwards: connections of the last run lingering in TIME_WAIT do not count
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def _run(*argv: str, check: bool = True) -> str:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    if check and proc.returncode != 0:
        raise MachineError(f"{os.path.basename(argv[0])} failed: {text.strip()}")
    return text
