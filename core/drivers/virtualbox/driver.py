"""The VirtualBox driver, as docker-machine's: a boot2docker VM with a NAT adapter (SSH forwarded on 127.0.0.1)
and a host-only adapter (the engine's address), driven through VBoxManage with docker-machine's sequence of calls.

Beyond docker-machine: VirtualBox 6.1.28 and later, on Linux and macOS hosts, only accept host-only addresses in
192.168.56.0/21 (unless /etc/vbox/networks.conf says otherwise), so the default 192.168.99.1/24 becomes
192.168.56.1/24 there, and a range VirtualBox refuses is explained with its fix; a VM name VirtualBox already has
is refused before anything is made."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from typing import TYPE_CHECKING, Any

from ...errors import HostNotRunning, MachineError, PreCreateError, VMMissing
from ...flags import MEGABYTES, MEMORY_MB, Flag
from ...ports import free_port, port_free
from ...states import State
from ..base import Driver, Setting
from .backend import VBoxError, VirtualBoxBackend, VMNotRegistered, VMSpec
from .disks import disk_image_format, userdata_tar
from .network import macs_for, parse_cidr, setup_hostonly
from .vboxmanage import VBoxManage

if TYPE_CHECKING:
    from ...events import Reporter

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
    summary = "a local boot2docker VM on VirtualBox, as docker-machine made them"
    flags = FLAGS

    ssh_user_setting = Setting("SSHUser", str, "docker")
    ssh_port_setting = Setting("SSHPort", int, 0)
    # docker-machine's virtualbox driver reads --swarm-host with its default even when it is not given
    swarm_host = Setting("SwarmHost", str, "tcp://0.0.0.0:3376", flag="swarm-host")
    vbox_manager = Setting("VBoxManager", dict, {})
    host_interfaces = Setting("HostInterfaces", dict, {})
    cpu = Setting("CPU", int, flag="virtualbox-cpu-count")
    memory = Setting("Memory", int, flag="virtualbox-memory")
    disk_size = Setting("DiskSize", int, flag="virtualbox-disk-size")
    nat_nic_type = Setting("NatNicType", str, flag="virtualbox-nat-nictype")
    boot2docker_url = Setting("Boot2DockerURL", str, flag="virtualbox-boot2docker-url")
    boot2docker_import_vm = Setting("Boot2DockerImportVM", str, flag="virtualbox-import-boot2docker-vm")
    host_dns_resolver = Setting("HostDNSResolver", bool, flag="virtualbox-host-dns-resolver")
    host_only_cidr = Setting("HostOnlyCIDR", str, flag="virtualbox-hostonly-cidr")
    host_only_nic_type = Setting("HostOnlyNicType", str, flag="virtualbox-hostonly-nictype")
    host_only_promisc_mode = Setting("HostOnlyPromiscMode", str, flag="virtualbox-hostonly-nicpromisc")
    ui_type = Setting("UIType", str, flag="virtualbox-ui-type")
    host_only_no_dhcp = Setting("HostOnlyNoDHCP", bool, flag="virtualbox-hostonly-no-dhcp")
    no_share = Setting("NoShare", bool, flag="virtualbox-no-share")
    dns_proxy = Setting("DNSProxy", bool, True)  # the opposite of --virtualbox-no-dns-proxy
    no_vtx_check = Setting("NoVTXCheck", bool, flag="virtualbox-no-vtx-check")
    share_folder = Setting("ShareFolder", str, flag="virtualbox-share-folder")
    # beyond docker-machine: only in config.json when a cloud image replaces boot2docker
    image_url = Setting("ImageURL", str, "", written_at_create=False)
    image_checksum = Setting("ImageChecksum", str, "", written_at_create=False)

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self._vbm: VirtualBoxBackend | None = None
        self._version: tuple[int, ...] | None = None  # read by the pre-create check, reused by the network setup

    def set_config_from_flags(self, opts: dict[str, Any]) -> None:
        super().set_config_from_flags(opts)
        self.cpu = min(os.cpu_count() or 1, 32) if self.cpu < 1 else min(self.cpu, 32)
        self.dns_proxy = not bool(opts.get("virtualbox-no-dns-proxy", False))
        image = opts.get("virtualbox-image-url") or ""
        if image:  # beyond docker-machine: only then in config.json, whose Driver keys otherwise stay its own
            from ...imagecache import parse_checksum

            if self.boot2docker_url or self.boot2docker_import_vm:
                raise MachineError("--virtualbox-image-url replaces boot2docker: it cannot be used with "
                                   "--virtualbox-boot2docker-url or --virtualbox-import-boot2docker-vm")
            if "://" not in image:  # a plain path means a local file
                image = "file://" + os.path.abspath(os.path.expanduser(image))
            self.image_url = image
            self.image_checksum = opts.get("virtualbox-image-checksum") or ""
            if self.image_checksum:
                parse_checksum(self.image_checksum)
        if self.ui_type not in ("gui", "sdl", "headless", "separate"):
            raise MachineError(f"--virtualbox-ui-type must be gui, sdl, headless or separate, not {self.ui_type!r}")
        parse_cidr(self.host_only_cidr)

    # ----- helpers
    def _vbox(self) -> VirtualBoxBackend:
        """The Main API where the VirtualBox SDK's vboxapi imports, else VBoxManage (MACHINE_TUI_VIRTUALBOX_PATH=
        api|vboxmanage forces one); both answer the driver's operations alike."""
        if self._vbm is None:
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
            if self._vbm is None:
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
        if not self.no_vtx_check and not _cpu_has_vtx():
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

    async def create(self, report: Reporter) -> None:
        from ...sshkeys import make_key_pair
        from .boot2docker import iso_for_machine

        if self.image_url:
            return await self._create_from_cloud_image(report)
        iso = self._path("boot2docker.iso")
        await iso_for_machine(self.boot2docker_url, os.path.join(self.store_path, "cache"), iso, report,
                              os.environ.get("MACHINE_GITHUB_API_TOKEN", ""))
        report.info("Creating VirtualBox VM...")
        vbox = self._vbox()
        if self.boot2docker_import_vm:
            await self._import_boot2docker_vm(self.boot2docker_import_vm, report)
        else:
            report.info("Creating SSH key...")
            self.ssh_key_setting = make_key_pair(self._path("id_rsa"))
            report.info("Creating disk image...")
            await vbox.make_disk(self._path("disk.vmdk"), self.disk_size * 1024 * 1024,
                                 userdata_tar(_read_bytes(self.ssh_key_setting + ".pub")))
        await vbox.create_vm(self._vm_spec(iso, self._path("disk.vmdk"), share=_share(self)))
        report.info("Starting the VM...")
        await self.start(report)

    def _vm_spec(self, iso: str, disk: str, **extra: Any) -> VMSpec:
        return VMSpec(name=self.machine_name, basefolder=self._path(), cpus=self.cpu, memory=self.memory,
                      host_dns_resolver=self.host_dns_resolver, dns_proxy=self.dns_proxy, nat_nictype=self.nat_nic_type,
                      iso=iso, disk=disk, **extra)

    async def _create_from_cloud_image(self, report: Reporter) -> None:
        """A cloud image instead of boot2docker: the image converted to a VDI (VMDKs cannot grow in VirtualBox),
        grown to --virtualbox-disk-size, and a cloud-init seed on the DVD drive naming the user, its key, the
        hostname and DHCP on both NICs (cloud-init would only bring up the first)."""
        import uuid

        from ...imagecache import fetch_image
        from ...seediso import write_machine_seed
        from ...sshkeys import make_key_pair

        vbox = self._vbox()
        try:
            image = await fetch_image(self.image_url, os.path.join(self.store_path, "cache"), report,
                                      self.image_checksum, "--virtualbox-image-checksum")
        except MachineError as err:
            raise MachineError(f"downloading the image: {err}") from None
        fmt, size = disk_image_format(image)
        report.info("Creating VirtualBox VM...")
        report.info("Creating SSH key...")
        self.ssh_key_setting = make_key_pair(self._path("id_rsa"))
        report.info(f"Creating the disk from the {fmt} image...")
        disk = self._path("disk.vdi")
        await vbox.import_disk(image, fmt, disk)
        wanted = self.disk_size * 1024 * 1024
        if size and wanted > size:
            await vbox.resize_disk(disk, self.disk_size)
        elif size and wanted < size:
            report.warn(f"--virtualbox-disk-size {self.disk_size} MB is smaller than the image "
                        f"({size // 2**20} MB): the disk keeps the image's size")
        macs = macs_for(self.machine_name)
        name = self.machine_name
        with open(self.ssh_key_setting + ".pub") as fh:
            public_key = fh.read()
        write_machine_seed(self._path("seed.iso"), name, self.ssh_user_setting, public_key,
                           f"machine-tui-{name}-{uuid.uuid4().hex[:8]}", macs)
        if _share(self):
            report.info("No shared folder: cloud images have no VirtualBox guest additions to mount it "
                        "(machine-tui mount works over SSH)")
        await vbox.create_vm(self._vm_spec(self._path("seed.iso"), disk, boot="disk", mac=macs[0]))
        report.info("Starting the VM...")
        await self.start(report)

    async def _import_boot2docker_vm(self, source: str, report: Reporter) -> None:
        """docker-machine's import of a boot2docker-cli VM: its disk cloned, its CPUs and memory, its SSH key."""
        import shutil

        vbox = self._vbox()
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
        self.cpu, self.memory = int(info.get("cpus", self.cpu)), int(info.get("memory", self.memory))
        key = os.path.join(os.path.expanduser("~"), ".ssh", "id_boot2docker")
        if not os.path.exists(key):
            raise MachineError(f"cannot import the VM {source}: its SSH key {key} does not exist")
        self.ssh_key_setting = self._path("id_rsa")
        shutil.copyfile(key, self.ssh_key_setting)
        os.chmod(self.ssh_key_setting, 0o600)

    # ----- state
    async def state(self) -> State:
        try:
            info = await self._vbox().vm_info(self.machine_name)
        except VMNotRegistered:
            raise VMMissing() from None
        return STATES.get(info.get("VMState", ""), State.NONE)

    async def get_ip(self) -> str:
        if await self.state() != State.RUNNING:
            raise HostNotRunning()
        if not self.ip_address:
            await self._discover_ip()
        return self.ip_address

    async def get_url(self) -> str:
        ip = await self.get_ip()
        return f"tcp://{ip}:2376" if ip else ""

    async def ssh_hostname(self) -> str:
        return "127.0.0.1"

    async def _discover_ip(self, conn: Any | None = None) -> None:
        """The host-only adapter's address, read in the guest by the adapter's MAC (docker-machine's way)."""
        from ... import ssh

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
                    self.ip_address = inet.group(1)
                    return
        raise MachineError(f"Could not find matching IP for MAC address {mac}")

    async def prepare_host(self, conn: Any, report: Reporter) -> None:
        report.info("Waiting for an IP...")
        await self._discover_ip(conn)

    # ----- lifecycle
    async def start(self, report: Reporter | None = None) -> None:
        name = self.machine_name
        st = await self.state()
        if st in (State.STOPPED, State.NONE):
            await setup_hostonly(self._vbox(), self.config, self.machine_name, report, self._version)
        if st in (State.STOPPED, State.SAVED, State.NONE):
            port = self.ssh_port_setting or 0
            if not port:
                port = free_port()
            elif not port_free(port):
                raise MachineError(f"listen tcp 127.0.0.1:{port}: bind: address already in use")
            self.ssh_port_setting = port
            await self._vbox().forward_ssh(name, port)
            try:
                await self._vbox().start_vm(name, self.ui_type)
            except VBoxError as err:
                self._check_vtx()
                raise MachineError(f"Unable to start the VM: {err}\nDetails: {_last_log_line(self.log_path())}") \
                    from None
        elif st == State.PAUSED:
            await self._vbox().resume_vm(name, self.ui_type)
        else:
            raise MachineError("VM not in restartable state")
        self._check_vtx()
        self.ip_address = ""  # a restarted VM may get another address from DHCP

    def _check_vtx(self) -> None:
        if self.no_vtx_check:
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
            await self._vbox().resume_vm(name, self.ui_type)
        await self._vbox().press_power_button(name)
        for _ in range(120):
            if await self.state() != State.RUNNING:
                break
            await asyncio.sleep(1)
        self.ip_address = ""

    async def kill(self) -> None:
        await self._vbox().power_off(self.machine_name)
        self.ip_address = ""

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
        with open("/proc/cpuinfo") as fh:
            flags = fh.read()
    except OSError:
        return True  # not Linux: VirtualBox itself will say
    return bool(re.search(r"\b(vmx|svm)\b", flags))


def _share(self: VirtualBoxDriver) -> tuple[str, str] | None:
    if self.no_share:
        return None
    if self.share_folder:
        folder, _, name = self.share_folder.rpartition(":")
        return (folder, name) if folder and name else None
    folder, name = {"darwin": ("/Users", "Users"), "win32": ("C:\\Users", "c/Users")}.get(sys.platform,
                                                                                        ("/home", "hosthome"))
    return (folder, name) if os.path.isdir(folder) else None


def _last_log_line(path: str) -> str:
    try:
        with open(path, errors="replace") as fh:
            lines = [line for line in fh.read().splitlines() if line.strip()]
    except OSError:
        return "(no VBox.log)"
    return lines[-1] if lines else "(empty VBox.log)"


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()
