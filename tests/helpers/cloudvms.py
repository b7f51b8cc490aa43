"""The end-to-end harness of the emulated clouds: each instance a cloud launches is a real QEMU VM booted from the
project's cloud-init test image, reachable at a loopback address of its own (127.0.0.N, with the guest's ports 22
and 2376 forwarded there, so a driver's default ports work). The SSH key reaches the guest the way a cloud hands it
over: as the instance's public key in the NoCloud metadata, with cloud-config user data making the image's login
user. Nothing outside loopback is ever dialled: the clouds report the loopback address as the instance's address.

Power actions map to the VM: stop is an ACPI power-down (QEMU then exits), start boots the same disk again, reboot
is both, delete kills QEMU and removes the disk."""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import vmrig
from machine_tui.core import seediso

PORTS = (22, 2376)


def loopback_address_free(address: str) -> bool:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind((address, port))
            except OSError:
                return False
    return True


class InstanceVM:
    def __init__(self, image_dir: str, folder: str, address: str, hostname: str, user: str, public_key: str):
        self.image_dir, self.dir, self.address = image_dir, folder, address
        self.proc: subprocess.Popen | None = None
        os.makedirs(folder, exist_ok=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", os.path.join(image_dir, "cloud.qcow2"),
                        "-F", "qcow2", os.path.join(folder, "disk.qcow2")], check=True)
        # the cloud's metadata carries the key pair; the user data makes the image's login user, as cloud images
        # ship one (root logins are allowed the way DigitalOcean's images allow them)
        meta = seediso.meta_data(os.path.basename(folder), hostname).decode()
        meta += f"public-keys:\n  - {public_key.strip()}\n"
        if user == "root":
            user_data = "#cloud-config\ndisable_root: false\nssh_pwauth: false\nssh_genkeytypes: [ed25519]\n"
        else:
            user_data = seediso.cloud_config(hostname, user, public_key).decode()
        with open(os.path.join(folder, "seed.iso"), "wb") as fh:
            fh.write(seediso.make_seed_iso({"user-data": user_data.encode(), "meta-data": meta.encode()}))

    @property
    def console(self) -> str:
        path = os.path.join(self.dir, "console.log")
        return open(path, errors="replace").read() if os.path.exists(path) else ""

    def boot(self) -> None:
        fwd = ",".join(f"hostfwd=tcp:{self.address}:{p}-:{p}" for p in PORTS)
        cmd = ["qemu-system-x86_64", "-accel", "tcg", "-m", "1024", "-smp", "2", "-display", "none",
               "-serial", f"file:{self.dir}/console.log", "-monitor", "none",
               "-qmp", f"unix:{self.dir}/qmp.sock,server=on,wait=off",
               "-netdev", f"user,id=n0,restrict=on,{fwd}", "-device", "virtio-net-pci,netdev=n0",
               "-device", "virtio-rng-pci",
               "-drive", f"file={self.dir}/disk.qcow2,if=none,id=d0,format=qcow2,discard=unmap",
               "-device", "nvme,drive=d0,serial=cloud0",
               "-drive", f"file={self.dir}/seed.iso,format=raw,if=virtio,readonly=on",
               "-kernel", os.path.join(self.image_dir, "vmlinuz"),
               "-append", "root=/dev/nvme0n1 rw console=ttyS0 quiet apparmor=0"]
        with open(os.path.join(self.dir, "qemu.out"), "a") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)

    def qmp(self, command: str) -> None:
        vmrig.qmp(self.dir, command)

    def power_off(self, grace: float = 60) -> None:
        """ACPI power button, as a cloud's stop does; QEMU is killed if the guest has not gone within grace."""
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            self.qmp("system_powerdown")
            self.proc.wait(grace)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class CloudVMs:
    """The VMs behind one emulated cloud, by instance id; `events` keeps when each was launched, stopped and so on
    (the bench's timeline)."""

    def __init__(self, image_dir: str):
        import tempfile

        self.image_dir = image_dir
        self.workdir = tempfile.mkdtemp(prefix="mt-cloud-")  # short: QMP's socket path must stay under 108 bytes
        self.vms: dict[str, InstanceVM] = {}
        self.events: list[tuple[float, str, str]] = []
        self._next = 20
        self._lock = threading.Lock()

    def _address(self) -> str:
        while self._next < 250:
            address = f"127.0.0.{self._next}"
            self._next += 1
            if loopback_address_free(address):
                return address
        raise RuntimeError("no free loopback address for another instance")

    def launch(self, instance: str, hostname: str, user: str, public_key: str) -> str:
        with self._lock:
            address = self._address()
            vm = InstanceVM(self.image_dir, os.path.join(self.workdir, "vm" + address.rsplit(".", 1)[1]),
                            address, hostname, user, public_key)
            self.vms[instance] = vm
        vm.boot()
        self.events.append((time.monotonic(), instance, "launched"))
        return address

    def address(self, instance: str) -> str | None:
        vm = self.vms.get(instance)
        return vm.address if vm else None

    def act(self, instance: str, action: str) -> None:
        vm = self.vms.get(instance)
        if vm is None:
            return
        if action in ("stop", "reboot"):
            vm.power_off()
        if action in ("start", "reboot"):
            vm.boot()
        self.events.append((time.monotonic(), instance, action))

    def destroy(self, instance: str) -> None:
        vm = self.vms.pop(instance, None)
        if vm is not None:
            vm.kill()
            shutil.rmtree(vm.dir, ignore_errors=True)
            self.events.append((time.monotonic(), instance, "destroyed"))

    def consoles(self) -> str:
        def qemu_out(vm: InstanceVM) -> str:
            path = os.path.join(vm.dir, "qemu.out")
            return open(path, errors="replace").read()[-1000:] if os.path.exists(path) else ""

        return "\n".join(f"--- {i}\n{qemu_out(vm)}{vm.console[-2500:]}" for i, vm in self.vms.items())

    def close(self) -> None:
        for instance in list(self.vms):
            self.destroy(instance)
        shutil.rmtree(self.workdir, ignore_errors=True)


class OpenStackVMs:
    """fakeopenstack's hooks: a VM per server, the login user from the image's os_distro as the driver picks it."""

    def __init__(self, vms: CloudVMs):
        self.vms = vms

    def on_create(self, server: dict, public_key: str) -> str:
        user = {"ubuntu": "ubuntu", "debian": "debian"}.get(server["image"].get("os_distro", ""), "ubuntu")
        return self.vms.launch(server["id"], server["name"], user, public_key)

    def on_action(self, server: dict, action: str) -> None:
        self.vms.act(server["id"], {"os-stop": "stop", "os-start": "start", "reboot": "reboot"}[action])

    def on_delete(self, server: dict) -> None:
        self.vms.destroy(server["id"])


class DigitalOceanVMs:
    """fakedigitalocean's hooks: a VM per droplet, logged in as root as DigitalOcean's images are."""

    def __init__(self, vms: CloudVMs):
        self.vms = vms

    def on_create(self, droplet: dict, public_keys: list[str]) -> str:
        return self.vms.launch(str(droplet["id"]), droplet["name"], "root", public_keys[0])

    def on_action(self, droplet: dict, kind: str) -> None:
        self.vms.act(str(droplet["id"]), {"power_on": "start", "shutdown": "stop", "power_off": "stop",
                                          "reboot": "reboot"}[kind])

    def on_delete(self, droplet: dict) -> None:
        self.vms.destroy(str(droplet["id"]))


class Ec2VMProxy:
    """Between the amazonec2 driver and moto's EC2 server: boots a VM for each instance RunInstances makes (the
    imported key pair's public key, the image's `ubuntu` user), maps Stop/Start/Reboot/TerminateInstances onto the
    VMs, and rewrites each of those instances' public address in moto's answers to the VM's loopback address:
    moto's own addresses look public and are never dialled."""

    def __init__(self, upstream: str, vms: CloudVMs, user: str = "ubuntu"):
        proxy = self
        self.upstream, self.vms, self.user = upstream, vms, user
        self.public_keys: dict[str, str] = {}
        self.actions: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
                status, data = proxy.forward(self.path, body, dict(self.headers.items()))
                data = proxy.observe(params, status, data)
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, path: str, body: bytes, headers: dict) -> tuple[int, bytes]:
        request = urllib.request.Request(self.upstream + path, data=body, method="POST",
                                         headers={k: v for k, v in headers.items() if k.lower() != "host"})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def observe(self, params: dict[str, str], status: int, data: bytes) -> bytes:
        action = params.get("Action", "")
        self.actions.append(action)
        if status != 200:
            return data
        text = data.decode()
        if action == "ImportKeyPair":
            self.public_keys[params["KeyName"]] = base64.b64decode(params["PublicKeyMaterial"]).decode()
        elif action == "RunInstances":
            for instance in re.findall(r"<instanceId>(i-[0-9a-f]+)</instanceId>", text):
                self.vms.launch(instance, instance, self.user, self.public_keys[params["KeyName"]])
        else:
            verbs = {"StopInstances": "stop", "StartInstances": "start", "RebootInstances": "reboot"}
            ids = [v for k, v in params.items() if k.startswith("InstanceId.")]
            for instance in ids:
                if action in verbs:
                    self.vms.act(instance, verbs[action])
                elif action == "TerminateInstances":
                    self.vms.destroy(instance)
        return self.rewrite(text).encode()

    def rewrite(self, text: str) -> str:
        """Each known instance's public address (and its association's) becomes its VM's loopback address."""
        pieces = re.split(r"(?=<instanceId>i-[0-9a-f]+</instanceId>)", text)
        for i, piece in enumerate(pieces):
            m = re.match(r"<instanceId>(i-[0-9a-f]+)</instanceId>", piece)
            address = self.vms.address(m.group(1)) if m else None
            if address:
                piece = re.sub(r"<ipAddress>[^<]*</ipAddress>", f"<ipAddress>{address}</ipAddress>", piece)
                pieces[i] = re.sub(r"<publicIp>[^<]*</publicIp>", f"<publicIp>{address}</publicIp>", piece)
        return "".join(pieces)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
