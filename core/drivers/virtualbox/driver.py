"""The VirtualBox driver, as docker-machine's: a boot2docker VM with a NAT adapter (SSH forwarded on 127.0.0.1)
and a host-only adapter (the engine's address), driven through VBoxManage with docker-machine's sequence of calls.

Beyond docker-machine: VirtualBox 6.1.28 and later only accept host-only addresses in 192.168.56.0/21 (unless
/etc/vbox/networks.conf says otherwise), so the default 192.168.99.1/24 becomes 192.168.56.1/24 there, and a range
VirtualBox refuses is explained with its fix; a VM name VirtualBox already has is refused before anything is made."""

from __future__ import annotations

import asyncio
import os
import re
import sys

from ...errors import MachineError, PreCreateError, VMMissing
from ...ports import free_port, port_free
from .. import MEGABYTES, MEMORY_MB, Driver, Flag, State
from .backend import VBoxError, VirtualBoxBackend, VMNotRegistered, VMSpec
from .disks import disk_image_format, userdata_tar
from .network import DEFAULT_CIDR, macs_for, parse_cidr, setup_hostonly
from .vboxmanage import VBoxManage

STATES = {"running": State.RUNNING, "paused": State.PAUSED, "saved": State.SAVED, "poweroff": State.STOPPED,
          "aborted": State.STOPPED, "stopping": State.STOPPING, "starting": State.STARTING}
VTX_LOG_SIGNS = ("VT-x is disabled", "the host CPU does NOT support HW virtualization", "VERR_VMX_UNABLE_TO_START_VM",
                 "VERR_VMX_NO_VMX", "VERR_SVM_NO_SVM")
VTX_ERROR = "This computer doesn't have VT-X/AMD-v enabled. Enabling it in the BIOS is mandatory"

_B = "bool"
FLAGS = [
    Flag("virtualbox-boot2docker-url", "The URL of the boot2docker image. Defaults to the latest available version",
         env="VIRTUALBOX_BOOT2DOCKER_URL"),
    Flag("virtualbox-cpu-count", "number of CPUs for the machine (-1 to use the number of CPUs available)", "int", 1,
         "VIRTUALBOX_CPU_COUNT", bounds=(-1, 1024)),
    Flag("virtualbox-disk-size", "Size of disk for host in MB", "int", 20000, "VIRTUALBOX_DISK_SIZE", bounds=MEGABYTES),
    Flag("virtualbox-host-dns-resolver", "Use the host DNS resolver", _B, False, "VIRTUALBOX_HOST_DNS_RESOLVER"),
    Flag("virtualbox-hostonly-cidr", "Specify the Host Only CIDR", default="192.168.99.1/24",
         env="VIRTUALBOX_HOSTONLY_CIDR"),
    Flag("virtualbox-hostonly-nicpromisc", "Specify the Host Only Network Adapter Promiscuous Mode", default="deny",
         env="VIRTUALBOX_HOSTONLY_NIC_PROMISC"),
    Flag("virtualbox-hostonly-nictype", "Specify the Host Only Network Adapter Type", default="82540EM",
         env="VIRTUALBOX_HOSTONLY_NIC_TYPE"),
    Flag("virtualbox-hostonly-no-dhcp", "Disable the Host Only DHCP Server", _B, False, "VIRTUALBOX_HOSTONLY_NO_DHCP"),
    # beyond docker-machine: "(machine-tui)" marks them in the help, as our other additions
    Flag("virtualbox-image-checksum", "Checksum of --virtualbox-image-url as ALGO:HEX (default: the SHA512SUMS or "
         "SHA256SUMS published beside it) (machine-tui)", env="VIRTUALBOX_IMAGE_CHECKSUM", advanced=True),
    Flag("virtualbox-image-url", "A cloud image (qcow2, raw, VMDK or VDI; URL or path) booted with a cloud-init seed "
         "instead of boot2docker (machine-tui)", env="VIRTUALBOX_IMAGE_URL"),
    Flag("virtualbox-import-boot2docker-vm", "The name of a Boot2Docker VM to import",
         env="VIRTUALBOX_BOOT2DOCKER_IMPORT_VM"),
    Flag("virtualbox-memory", "Size of memory for host in MB", "int", 1024, "VIRTUALBOX_MEMORY_SIZE", bounds=MEMORY_MB),
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

    @classmethod
    def new_config(cls, machine_name: str, store_path: str) -> dict:
        cfg = super().new_config(machine_name, store_path)
        cfg.update({"SSHUser": "docker", "SSHPort": 0, "SwarmHost": "tcp://0.0.0.0:3376", "VBoxManager": {},
                    "HostInterfaces": {}, "CPU": 1, "Memory": 1024, "DiskSize": 20000, "NatNicType": "82540EM",
                    "Boot2DockerURL": "", "Boot2DockerImportVM": "", "HostDNSResolver": False,
                    "HostOnlyCIDR": DEFAULT_CIDR, "HostOnlyNicType": "82540EM", "HostOnlyPromiscMode": "deny",
                    "UIType": "headless", "HostOnlyNoDHCP": False, "NoShare": False, "DNSProxy": True,
                    "NoVTXCheck": False, "ShareFolder": ""})
        return cfg

    def set_config_from_flags(self, opts: dict) -> None:
        super().set_config_from_flags(opts)
        c = self.config
        # docker-machine's virtualbox driver reads --swarm-host with its default even when it is not given
        c["SwarmHost"] = opts.get("swarm-host") or "tcp://0.0.0.0:3376"
        cpus = int(opts.get("virtualbox-cpu-count", 1))
        c["CPU"] = min(os.cpu_count() or 1, 32) if cpus < 1 else min(cpus, 32)
        c["Memory"] = int(opts.get("virtualbox-memory", 1024))
        c["DiskSize"] = int(opts.get("virtualbox-disk-size", 20000))
        c["NatNicType"] = opts.get("virtualbox-nat-nictype") or "82540EM"
        c["Boot2DockerURL"] = opts.get("virtualbox-boot2docker-url") or ""
        c["Boot2DockerImportVM"] = opts.get("virtualbox-import-boot2docker-vm") or ""
        c["HostDNSResolver"] = bool(opts.get("virtualbox-host-dns-resolver", False))
        c["HostOnlyCIDR"] = opts.get("virtualbox-hostonly-cidr") or DEFAULT_CIDR
        c["HostOnlyNicType"] = opts.get("virtualbox-hostonly-nictype") or "82540EM"
        c["HostOnlyPromiscMode"] = opts.get("virtualbox-hostonly-nicpromisc") or "deny"
        c["UIType"] = opts.get("virtualbox-ui-type") or "headless"
        c["HostOnlyNoDHCP"] = bool(opts.get("virtualbox-hostonly-no-dhcp", False))
        c["NoShare"] = bool(opts.get("virtualbox-no-share", False))
        c["DNSProxy"] = not bool(opts.get("virtualbox-no-dns-proxy", False))
        c["NoVTXCheck"] = bool(opts.get("virtualbox-no-vtx-check", False))
        c["ShareFolder"] = opts.get("virtualbox-share-folder") or ""
        image = opts.get("virtualbox-image-url") or ""
        if image:  # beyond docker-machine: only then in config.json, whose Driver keys otherwise stay its own
            from ...imagecache import parse_checksum

            if c["Boot2DockerURL"] or c["Boot2DockerImportVM"]:
                raise MachineError("--virtualbox-image-url replaces boot2docker: it cannot be used with "
                                   "--virtualbox-boot2docker-url or --virtualbox-import-boot2docker-vm")
            if "://" not in image:  # a plain path means a local file
                image = "file://" + os.path.abspath(os.path.expanduser(image))
            c["ImageURL"] = image
            c["ImageChecksum"] = opts.get("virtualbox-image-checksum") or ""
            if c["ImageChecksum"]:
                parse_checksum(c["ImageChecksum"])
        if c["UIType"] not in ("gui", "sdl", "headless", "separate"):
            raise MachineError(f"--virtualbox-ui-type must be gui, sdl, headless or separate, not {c['UIType']!r}")
        parse_cidr(c["HostOnlyCIDR"])

    # ----- helpers
    def _vbox(self) -> VirtualBoxBackend:
        """The Main API where the VirtualBox SDK's vboxapi imports, else VBoxManage (MACHINE_TUI_VIRTUALBOX_PATH=
        api|vboxmanage forces one); both answer the driver's operations alike."""
        if getattr(self, "_vbm", None) is None:
            import logging

            log = logging.getLogger("machine-tui.virtualbox").debug  # a child logger: --debug shows it
            from ...settings import virtualbox_path

            wanted = virtualbox_path()
            if wanted not in ("", "api", "vboxmanage"):
                raise MachineError(f"MACHINE_TUI_VIRTUALBOX_PATH must be api or vboxmanage, not {wanted!r}")
            from .vboxmain import VBoxMain, api_available

            if wanted == "api" or (not wanted and api_available()):
                try:
                    self._vbm = VBoxMain(log=log)
                except ImportError:
                    raise MachineError("the VirtualBox API path needs the VirtualBox SDK's vboxapi module "
                                       "(install the SDK, or unset MACHINE_TUI_VIRTUALBOX_PATH)") from None
                except Exception as err:  # VBoxSVC not reachable, SDK of another version...
                    if wanted == "api":
                        raise MachineError(f"cannot reach VirtualBox through its API: {err}") from None
                    log("virtualbox: the API is there but does not answer (%s): falling back to VBoxManage", err)
            if getattr(self, "_vbm", None) is None:
                self._vbm = VBoxManage(log=log)
            log("virtualbox: using %s", self._vbm.describe())
        return self._vbm

    def _path(self, *parts: str) -> str:
        return self.resolve_store_path(*parts)

    def log_path(self) -> str:
        return self._path(self.machine_name, "Logs", "VBox.log")

    # ----- create
    async def pre_create_check(self) -> None:
        try:
            vbm = self._vbox()
            raw, version = await vbm.version()
        except MachineError as err:
            raise PreCreateError(f'Error with pre-create check: "{err}"') from None
        if version < (5,):
            raise PreCreateError('Error with pre-create check: "We support Virtualbox starting with version 5. Your '
                                 f'VirtualBox install is \"{raw}\". Please upgrade at https://www.virtualbox.org"')
        if not self.config["NoVTXCheck"] and not _cpu_has_vtx():
            raise PreCreateError(f'Error with pre-create check: "{VTX_ERROR}"')
        try:
            await vbm.vm_info(self.machine_name)
        except VBoxError:
            pass
        else:
            raise PreCreateError(f'Error with pre-create check: "VirtualBox already has a VM named '
                                 f'{self.machine_name}: remove it (VBoxManage unregistervm --delete '
                                 f'{self.machine_name}) or choose another name"')
        seen_names, seen_ips = set(), set()
        for nic in await vbm.hostonly_ifs():
            name, ip = nic.get("Name", ""), nic.get("IPAddress", "")
            if name in seen_names:
                raise PreCreateError('Error with pre-create check: "VirtualBox is configured with multiple host-only '
                                     f'adapters with the same name \"{name}\". Please remove one."')
            if ip and ip in seen_ips:
                raise PreCreateError('Error with pre-create check: "VirtualBox is configured with multiple host-only '
                                     f'adapters with the same IP \"{ip}\". Please remove one."')
            seen_names.add(name)
            seen_ips.add(ip)
        self._version = version

    async def create(self, report) -> None:
        from .boot2docker import iso_for_machine
        from ...sshkeys import make_key_pair

        c = self.config
        if c.get("ImageURL"):
            return await self._create_from_cloud_image(report)
        iso = self._path("boot2docker.iso")
        await iso_for_machine(c["Boot2DockerURL"], os.path.join(self.store_path, "cache"), iso, report,
                              os.environ.get("MACHINE_GITHUB_API_TOKEN", ""))
        report.info("Creating VirtualBox VM...")
        vbox = self._vbox()
        if c["Boot2DockerImportVM"]:
            await self._import_boot2docker_vm(c["Boot2DockerImportVM"], report)
        else:
            report.info("Creating SSH key...")
            c["SSHKeyPath"] = make_key_pair(self._path("id_rsa"))
            report.info("Creating disk image...")
            await vbox.make_disk(self._path("disk.vmdk"), c["DiskSize"] * 1024 * 1024,
                                 userdata_tar(open(c["SSHKeyPath"] + ".pub", "rb").read()))
        await vbox.create_vm(self._vm_spec(iso, self._path("disk.vmdk"), share=_share(c)))
        report.info("Starting the VM...")
        await self.start(report)

    def _vm_spec(self, iso: str, disk: str, **extra) -> VMSpec:
        c = self.config
        return VMSpec(name=self.machine_name, basefolder=self._path(), cpus=c["CPU"], memory=c["Memory"],
                      host_dns_resolver=c["HostDNSResolver"], dns_proxy=c["DNSProxy"], nat_nictype=c["NatNicType"],
                      iso=iso, disk=disk, **extra)

    async def _create_from_cloud_image(self, report) -> None:
        """A cloud image instead of boot2docker: the image converted to a VDI (VMDKs cannot grow in VirtualBox),
        grown to --virtualbox-disk-size, and a cloud-init seed on the DVD drive naming the user, its key, the
        hostname and DHCP on both NICs (cloud-init would only bring up the first)."""
        import uuid

        from ...imagecache import fetch_image
        from ...seediso import write_machine_seed
        from ...sshkeys import make_key_pair

        c, vbox = self.config, self._vbox()
        try:
            image = await fetch_image(c["ImageURL"], os.path.join(self.store_path, "cache"), report,
                                      c["ImageChecksum"], "--virtualbox-image-checksum")
        except MachineError as err:
            raise MachineError(f"downloading the image: {err}") from None
        fmt, size = disk_image_format(image)
        report.info("Creating VirtualBox VM...")
        report.info("Creating SSH key...")
        c["SSHKeyPath"] = make_key_pair(self._path("id_rsa"))
        report.info(f"Creating the disk from the {fmt} image...")
        disk = self._path("disk.vdi")
        await vbox.import_disk(image, fmt, disk)
        wanted = c["DiskSize"] * 1024 * 1024
        if size and wanted > size:
            await vbox.resize_disk(disk, c["DiskSize"])
        elif size and wanted < size:
            report.warn(f"--virtualbox-disk-size {c['DiskSize']} MB is smaller than the image "
                        f"({size // 2**20} MB): the disk keeps the image's size")
        macs = macs_for(self.machine_name)
        name = self.machine_name
        write_machine_seed(self._path("seed.iso"), name, c["SSHUser"], open(c["SSHKeyPath"] + ".pub").read(),
                           f"machine-tui-{name}-{uuid.uuid4().hex[:8]}", macs)
        if _share(c):
            report.info("No shared folder: cloud images have no VirtualBox guest additions to mount it "
                        "(machine-tui mount works over SSH)")
        await vbox.create_vm(self._vm_spec(self._path("seed.iso"), disk, boot="disk", mac=macs[0]))
        report.info("Starting the VM...")
        await self.start(report)

    async def _import_boot2docker_vm(self, source: str, report) -> None:
        """docker-machine's import of a boot2docker-cli VM: its disk cloned, its CPUs and memory, its SSH key."""
        import shutil

        c, vbox = self.config, self._vbox()
        try:
            await vbox.power_off(source)
        except VBoxError:
            pass  # already off
        try:
            info = await vbox.vm_info(source)
        except VBoxError:
            raise MachineError(f"cannot import the VM {source}: VirtualBox has no VM of that name") from None
        disk = info.get("SATA-1-0", "")
        if not disk or disk == "none" or not os.path.exists(disk):
            raise MachineError(f"cannot import the VM {source}: its disk (SATA port 1) {disk or 'is not set'}"
                               f"{' does not exist' if disk else ''}")
        report.info(f"Importing the disk of {source}...")
        await vbox.clone_disk(disk, self._path("disk.vmdk"))
        c["CPU"], c["Memory"] = int(info.get("cpus", c["CPU"])), int(info.get("memory", c["Memory"]))
        key = os.path.join(os.path.expanduser("~"), ".ssh", "id_boot2docker")
        if not os.path.exists(key):
            raise MachineError(f"cannot import the VM {source}: its SSH key {key} does not exist")
        c["SSHKeyPath"] = self._path("id_rsa")
        shutil.copyfile(key, c["SSHKeyPath"])
        os.chmod(c["SSHKeyPath"], 0o600)

    # ----- state
    async def state(self) -> State:
        try:
            info = await self._vbox().vm_info(self.machine_name)
        except VMNotRegistered:
            raise VMMissing() from None
        return STATES.get(info.get("VMState", ""), State.NONE)

    async def get_ip(self) -> str:
        if await self.state() != State.RUNNING:
            raise MachineError("Host is not running")
        if not self.config.get("IPAddress"):
            await self._discover_ip()
        return self.config["IPAddress"]

    async def get_url(self) -> str:
        ip = await self.get_ip()
        return f"tcp://{ip}:2376" if ip else ""

    async def ssh_hostname(self) -> str:
        return "127.0.0.1"

    async def _discover_ip(self, conn=None) -> None:
        """The host-only adapter's address, read in the guest by the adapter's MAC (docker-machine's way)."""
        from .. import ssh

        info = await self._vbox().vm_info(self.machine_name)
        nic = next((k[len("hostonlyadapter"):] for k in info if re.fullmatch(r"hostonlyadapter\d+", k)), "2")
        mac = info.get(f"macaddress{nic}", "").lower()
        if conn is None:
            conn = await ssh.connect_driver(self)
        out = (await conn.run("ip addr show", timeout=30)).stdout
        for block in re.split(r"\n(?=\d+:)", out):
            ether = re.search(r"link/ether ([0-9a-f:]+)", block)
            if ether and ether.group(1).replace(":", "") == mac:
                inet = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", block)
                if inet:
                    self.config["IPAddress"] = inet.group(1)
                    return
        raise MachineError(f"Could not find matching IP for MAC address {mac}")

    async def prepare_host(self, conn, report) -> None:
        report.info("Waiting for an IP...")
        await self._discover_ip(conn)

    # ----- lifecycle
    async def start(self, report=None) -> None:
        name, c = self.machine_name, self.config
        st = await self.state()
        if st in (State.STOPPED, State.NONE):
            await setup_hostonly(self._vbox(), self.config, self.machine_name, report, getattr(self, "_version", None))
        if st in (State.STOPPED, State.SAVED, State.NONE):
            port = c.get("SSHPort") or 0
            if not port:
                port = free_port()
            elif not port_free(port):
                raise MachineError(f"listen tcp 127.0.0.1:{port}: bind: address already in use")
            c["SSHPort"] = port
            await self._vbox().forward_ssh(name, port)
            try:
                await self._vbox().start_vm(name, c["UIType"])
            except VBoxError as err:
                self._check_vtx()
                raise MachineError(f"Unable to start the VM: {err}\nDetails: {_last_log_line(self.log_path())}") \
                    from None
        elif st == State.PAUSED:
            await self._vbox().resume_vm(name, c["UIType"])
        else:
            raise MachineError("VM not in restartable state")
        self._check_vtx()
        c["IPAddress"] = ""  # a restarted VM may get another address from DHCP

    def _check_vtx(self) -> None:
        if self.config.get("NoVTXCheck"):
            return
        try:
            with open(self.log_path(), errors="replace") as fh:
                log = fh.read()
        except OSError:
            return
        if any(sign in log for sign in VTX_LOG_SIGNS):
            raise MachineError(VTX_ERROR)

    async def stop(self) -> None:
        name = self.machine_name
        if await self.state() == State.PAUSED:
            await self._vbox().resume_vm(name, self.config["UIType"])
        await self._vbox().press_power_button(name)
        for _ in range(120):
            if await self.state() != State.RUNNING:
                break
            await asyncio.sleep(1)
        self.config["IPAddress"] = ""

    async def kill(self) -> None:
        await self._vbox().power_off(self.machine_name)
        self.config["IPAddress"] = ""

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def remove(self) -> None:
        try:
            st = await self.state()
        except VMMissing:  # deleted behind our back: nothing left in VirtualBox
            return
        if st not in (State.STOPPED, State.SAVED):
            await self._vbox().power_off(self.machine_name)
        await self._vbox().delete_vm(self.machine_name)

def _cpu_has_vtx() -> bool:
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return True  # not Linux: VirtualBox itself will say
    return bool(re.search(r"\b(vmx|svm)\b", flags))


def _share(c: dict):
    if c["NoShare"]:
        return None
    if c["ShareFolder"]:
        folder, _, name = c["ShareFolder"].rpartition(":")
        return (folder, name) if folder and name else None
    folder, name = {"darwin": ("/Users", "Users"), "win32": ("C:\\Users", "c/Users")}.get(sys.platform,
                                                                                        ("/home", "hosthome"))
    return (folder, name) if os.path.isdir(folder) else None


def _last_log_line(path: str) -> str:
    try:
        lines = [line for line in open(path, errors="replace").read().splitlines() if line.strip()]
    except OSError:
        return "(no VBox.log)"
    return lines[-1] if lines else "(empty VBox.log)"


