"""The virtualbox driver against tests/helpers/vbox/VBoxManage, an emulator of the VBoxManage calls it makes (VirtualBox
cannot run here): docker-machine's call sequences for create/start/stop/kill/rm in each state, the config.json it
writes, the host-only network rules of VirtualBox 6.1.28+, the boot2docker ISO lookup and download (GitHub stand-in
on 127.0.0.1) and the faults."""

from __future__ import annotations

import json
import os
import re
import tarfile

import pytest
from conftest import clean_env, run_cli
from imageserver import ImageServer
from machine_tui.core.drivers import State
from machine_tui.core.events import Reporter
from machine_tui.core.seediso import make_seed_iso
from vboxrig import EMULATOR, VBox, new_machine, vbox  # noqa: F401 (vbox: a fixture)

DM_DRIVER_KEYS = ["IPAddress", "MachineName", "SSHUser", "SSHPort", "SSHKeyPath", "StorePath", "SwarmMaster",
                  "SwarmHost", "SwarmDiscovery", "VBoxManager", "HostInterfaces", "CPU", "Memory", "DiskSize",
                  "NatNicType", "Boot2DockerURL", "Boot2DockerImportVM", "HostDNSResolver", "HostOnlyCIDR",
                  "HostOnlyNicType", "HostOnlyPromiscMode", "UIType", "HostOnlyNoDHCP", "NoShare", "DNSProxy",
                  "NoVTXCheck", "ShareFolder"]


@pytest.fixture
def github(tmp_path, monkeypatch):
    """A GitHub API stand-in publishing boot2docker v19.03.12 and its ISO."""
    site = tmp_path / "github"
    (site / "repos/boot2docker/boot2docker/releases").mkdir(parents=True)
    with ImageServer(str(site)) as srv:
        srv.publish = lambda tag: publish(site, srv, tag)
        srv.publish("v19.03.12")
        monkeypatch.setenv("MACHINE_TUI_GITHUB_API", f"http://127.0.0.1:{srv.port}")
        yield srv


def publish(site, srv, tag):
    (site / "boot2docker.iso").write_bytes(make_seed_iso({"version": tag.encode()}, label=f"Boot2Docker-{tag}"))
    (site / "repos/boot2docker/boot2docker/releases/latest").write_text(json.dumps(
        {"tag_name": tag, "assets": [{"name": "boot2docker.iso", "browser_download_url": srv.url("boot2docker.iso")}]}))


def normalise(calls, store):
    out = []
    for c in calls:
        line = " ".join(c).replace(store, "S")
        line = re.sub(r"127\.0\.0\.1,\d+,,22", "127.0.0.1,PORT,,22", line)
        line = re.sub(r"--ip 192\.168\.56\.\d+ --netmask 255.255.255.0 --lowerip", "--ip DHCP --netmask "
                      "255.255.255.0 --lowerip", line)
        out.append(line)
    return out


async def test_create_makes_docker_machines_calls_in_order_and_its_config(vbox, github, store):
    st, host, driver = new_machine(store)
    rep = Reporter()
    await driver.pre_create_check()
    await driver.create(rep)
    st.save(host)
    calls = normalise(vbox.calls(), store)
    share = ["sharedfolder add default --name hosthome --hostpath /home --automount",
             "setextradata default VBoxInternal2/SharedFoldersEnableSymlinksCreate/hosthome 1"] \
        if os.path.isdir("/home") else []
    assert calls == [
        "--version", "showvminfo default --machinereadable", "list hostonlyifs",
        "convertfromraw stdin S/machines/default/disk.vmdk 8388608 --format VMDK",
        "createvm --basefolder S/machines/default --name default --register",
        "modifyvm default --firmware bios --bioslogofadein off --bioslogofadeout off --bioslogodisplaytime 0 "
        "--biosbootmenu disabled --ostype Linux26_64 --cpus 1 --memory 1024 --acpi on --ioapic on --rtcuseutc on "
        "--natdnshostresolver1 off --natdnsproxy1 on --cpuhotplug off --pae on --hpet on --hwvirtex on "
        "--nestedpaging on --largepages on --vtxvpid on --accelerate3d off --boot1 dvd",
        "modifyvm default --nic1 nat --nictype1 82540EM --cableconnected1 on",
        "storagectl default --name SATA --add sata --hostiocache on",
        "storageattach default --storagectl SATA --port 0 --device 0 --type dvddrive --medium "
        "S/machines/default/boot2docker.iso",
        "storageattach default --storagectl SATA --port 1 --device 0 --type hdd --medium S/machines/default/disk.vmdk",
        "guestproperty set default /VirtualBox/GuestAdd/SharedFolders/MountPrefix /",
        "guestproperty set default /VirtualBox/GuestAdd/SharedFolders/MountDir /",
        *share,
        "showvminfo default --machinereadable",
        # VirtualBox 7: the default 192.168.99.1/24 is outside what it allows, so 192.168.56.1/24 is used
        "list hostonlyifs", "hostonlyif create",
        "hostonlyif ipconfig vboxnet0 --ip 192.168.56.1 --netmask 255.255.255.0",
        "list hostonlyifs", "list dhcpservers",
        "dhcpserver add --netname HostInterfaceNetworking-vboxnet0 --ip DHCP --netmask 255.255.255.0 "
        "--lowerip 192.168.56.100 --upperip 192.168.56.254 --enable",
        "modifyvm default --nic2 hostonly --nictype2 82540EM --nicpromisc2 deny --hostonlyadapter2 vboxnet0 "
        "--cableconnected2 on",
        "modifyvm default --natpf1 delete ssh", "modifyvm default --natpf1 ssh,tcp,127.0.0.1,PORT,,22",
        "startvm default --type headless",
    ]
    assert any("using 192.168.56.1/24" in e.message for e in rep.events)
    # the config.json a docker-machine user would recognise, field by field
    doc = json.load(open(os.path.join(store, "machines", "default", "config.json")))
    assert doc["DriverName"] == "virtualbox"
    assert list(doc["Driver"]) == DM_DRIVER_KEYS
    d = doc["Driver"]
    assert (d["SSHUser"], d["SwarmHost"], d["CPU"], d["Memory"], d["DiskSize"], d["UIType"], d["DNSProxy"]) == \
        ("docker", "tcp://0.0.0.0:3376", 1, 1024, 8, "headless", True)
    assert d["HostOnlyCIDR"] == "192.168.56.1/24" and d["SSHPort"] > 0
    assert d["SSHKeyPath"] == os.path.join(store, "machines", "default", "id_rsa")
    # the disk starts with the tar boot2docker's automount looks for
    with tarfile.open(os.path.join(store, "machines", "default", "disk.vmdk")) as tar:
        assert tar.getnames()[:4] == ["boot2docker, please format-me", ".ssh", ".ssh/authorized_keys",
                                      ".ssh/authorized_keys2"]
        key = tar.extractfile(".ssh/authorized_keys").read()
    assert key == open(d["SSHKeyPath"] + ".pub", "rb").read()
    # the ISO came through the release lookup and is cached for the next machine
    assert any(e.message == "Latest release for github.com/boot2docker/boot2docker is v19.03.12" for e in rep.events)
    assert os.path.exists(os.path.join(store, "cache", "boot2docker.iso"))
    assert vbox.state()["vms"]["default"]["state"] == "running"


async def test_lifecycle_in_each_state(vbox, github, store):
    st, host, driver = new_machine(store)
    await driver.pre_create_check()
    await driver.create(Reporter())
    assert await driver.state() == State.RUNNING
    vbox.reset_calls()
    await driver.stop()
    assert [c[:3] for c in vbox.calls()][1] == ["controlvm", "default", "acpipowerbutton"]
    assert await driver.state() == State.STOPPED
    vbox.reset_calls()
    await driver.start()  # the adapter and its DHCP server exist now: reused, nothing re-created
    names = [" ".join(c[:2]) for c in vbox.calls()]
    assert "hostonlyif create" not in names and "dhcpserver add" not in names and "startvm default" in names
    os.system("VBoxManage controlvm default pause")
    assert await driver.state() == State.PAUSED
    vbox.reset_calls()
    await driver.start()
    assert ["controlvm", "default", "resume", "--type", "headless"] in vbox.calls()
    os.system("VBoxManage controlvm default savestate")
    assert await driver.state() == State.SAVED
    vbox.reset_calls()
    await driver.start()
    calls = [" ".join(c[:2]) for c in vbox.calls()]
    assert "startvm default" in calls and "list hostonlyifs" not in calls  # a saved VM keeps its network
    vbox.reset_calls()
    await driver.kill()
    assert vbox.calls() == [["controlvm", "default", "poweroff"]]
    await driver.start()
    vbox.reset_calls()
    await driver.remove()  # running: powered off first
    assert [c[:2] for c in vbox.calls()] == [["showvminfo", "default"], ["controlvm", "default"],
                                             ["unregistervm", "--delete"]]
    assert vbox.state()["vms"] == {}
    await driver.remove()  # already gone behind our back: nothing to do, no error
    with pytest.raises(Exception, match="machine does not exist"):
        await driver.state()


async def test_host_only_ranges(vbox, github, store, monkeypatch):
    st, host, driver = new_machine(store, "vb61")
    monkeypatch.setenv("VBOX_EMULATOR_VERSION", "6.1.26r145957")  # before the 192.168.56.0/21 rule
    await driver.pre_create_check()
    await driver.create(Reporter())
    assert driver.config["HostOnlyCIDR"] == "192.168.99.1/24"
    assert ["hostonlyif", "ipconfig", "vboxnet0", "--ip", "192.168.99.1", "--netmask", "255.255.255.0"] in vbox.calls()

    monkeypatch.setenv("VBOX_EMULATOR_VERSION", "7.0.20r163906")
    st, host, driver = new_machine(store, "vb7", **{"virtualbox-hostonly-cidr": "10.10.10.1/24"})
    await driver.pre_create_check()
    with pytest.raises(Exception) as err:
        await driver.create(Reporter())
    assert str(err.value) == (
        "VirtualBox refused the host-only network 10.10.10.1/24: since 6.1.28 it only allows 192.168.56.0/21 "
        "unless /etc/vbox/networks.conf lists the range. Add the line '* 10.10.10.0/24' to /etc/vbox/networks.conf, "
        "or use --virtualbox-hostonly-cidr 192.168.56.1/24")
    with pytest.raises(Exception, match="host-only cidr must be specified with a host address"):
        new_machine(store, "vbnet", **{"virtualbox-hostonly-cidr": "192.168.56.0/24"})


def test_cli_create_downloads_boot2docker_and_fails_cleanly_without_a_guest(vbox, github, store):
    """Everything up to a running VM is real VBoxManage traffic; no guest answers SSH in the emulator, so the create
    stops there, names the step and leaves a machine `rm -f` removes from VirtualBox too."""
    env = clean_env(store, MACHINE_WAIT_RETRIES="1", **vbox.env,
                    MACHINE_TUI_GITHUB_API=os.environ["MACHINE_TUI_GITHUB_API"])
    r = run_cli(["create", "-d", "virtualbox", "--virtualbox-no-vtx-check", "--virtualbox-disk-size", "8", "vb1"],
                env, timeout=120)
    assert r.returncode == 1
    out = r.stdout
    for line in ("Running pre-create checks...", "Creating machine...",
                 "Latest release for github.com/boot2docker/boot2docker is v19.03.12",
                 "No default Boot2Docker ISO found locally, downloading the latest release...",
                 f"Copying {store}/cache/boot2docker.iso to {store}/machines/vb1/boot2docker.iso...",
                 "Creating VirtualBox VM...", "Creating SSH key...", "Starting the VM...",
                 "Waiting for machine to be running, this may take a few minutes..."):
        assert line in out, out
    assert re.fullmatch(r"Error creating machine: Too many retries waiting for SSH to be available\.  Last error: no SSH "
                        r"server answers on 127\.0\.0\.1:\d+ yet\n", r.stderr), r.stderr
    assert run_cli(["ls", "--format", "{{.Name}} {{.DriverName}} {{.State}}"], env).stdout == "vb1 virtualbox Error\n"
    # a second machine uses the cached ISO; a newer release replaces it
    github.publish("v19.03.13")
    r = run_cli(["create", "-d", "virtualbox", "--virtualbox-no-vtx-check", "--virtualbox-disk-size", "8", "vb2"],
                env, timeout=120)
    assert "Default Boot2Docker ISO is out-of-date, downloading the latest release..." in r.stdout
    assert run_cli(["rm", "-f", "-y", "vb1", "vb2"], env, timeout=60).returncode == 0
    assert vbox.state()["vms"] == {}
    assert not os.path.exists(os.path.join(store, "machines", "vb1"))


def test_virtualbox_faults(vbox, github, store, tmp_path, monkeypatch):
    env = clean_env(store, MACHINE_WAIT_RETRIES="1", **vbox.env,
                    MACHINE_TUI_GITHUB_API=os.environ["MACHINE_TUI_GITHUB_API"])
    base = ["create", "-d", "virtualbox", "--virtualbox-disk-size", "8"]
    # VirtualBox not installed
    r = run_cli(base + ["--virtualbox-no-vtx-check", "f1"], {**env, "PATH": "/usr/bin:/bin"})
    hint = " (or use -d qemu: QEMU is installed on this host)" if os.path.exists("/usr/bin/qemu-system-x86_64") else ""
    assert (r.returncode, r.stderr) == (3, 'Error with pre-create check: "VBoxManage not found. Make sure VirtualBox '
                                           f'is installed and VBoxManage is in the path{hint}"\n')
    # this machine's CPU flags, read for real: no vmx/svm means VirtualBox could not run a 64-bit guest
    has_vtx = bool(re.search(r"\b(vmx|svm)\b", open("/proc/cpuinfo").read()))
    r = run_cli(base + ["f1"], env, timeout=60)
    if not has_vtx:
        assert (r.returncode, r.stderr) == (3, 'Error with pre-create check: "This computer doesn\'t have VT-X/AMD-v '
                                               'enabled. Enabling it in the BIOS is mandatory"\n')
    # VT-x refused when the VM starts (VBox.log says so)
    r = run_cli(base + ["--virtualbox-no-vtx-check", "f2"], {**env, "VBOX_EMULATOR_NO_VTX": "1"}, timeout=60)
    assert r.returncode == 1 and "Unable to start the VM" in r.stderr and "VERR_VMX_NO_VMX" in r.stderr
    # a name VirtualBox already has (made outside machine-tui)
    os.system(f"VBoxManage createvm --basefolder {tmp_path} --name taken --register >/dev/null")
    r = run_cli(base + ["--virtualbox-no-vtx-check", "taken"], env)
    assert r.returncode == 3 and "VirtualBox already has a VM named taken" in r.stderr
    assert not os.path.exists(os.path.join(store, "machines", "taken"))
    # a corrupt ISO and an unreachable one
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"not an iso" * 5000)
    r = run_cli(base + ["--virtualbox-no-vtx-check", "--virtualbox-boot2docker-url", str(junk), "f3"], env)
    assert r.returncode == 1 and "is not an ISO image (no ISO 9660 volume descriptor)" in r.stderr
    r = run_cli(base + ["--virtualbox-no-vtx-check", "--virtualbox-boot2docker-url", github.url("gone.iso"), "f4"],
                env)
    assert r.returncode == 1 and "HTTP 404" in r.stderr
    # the VM deleted behind our back: ls says so, rm still cleans up
    assert run_cli(["rm", "-f", "-y", "f2", "f3", "f4"], env, timeout=60).returncode == 0
    assert run_cli(["ls", "-q"], env).stdout == ""


# ----- the Main API path (the SDK's vboxapi; tests/helpers/vbox/vboxapi stands in for it, on the same state as VBoxManage)
@pytest.fixture
def sdk_importable(monkeypatch):
    """vboxapi importable, as where the VirtualBox SDK is installed (the stand-in, forgotten after the test)."""
    import sys

    monkeypatch.syspath_prepend(EMULATOR)
    yield
    for module in ("vboxapi", "vboxstate"):  # later tests must not find the SDK
        sys.modules.pop(module, None)


@pytest.fixture
def api(vbox, sdk_importable, monkeypatch):
    """The SDK importable here and in the CLI's processes: the driver then takes the API path by itself."""
    monkeypatch.setenv("PYTHONPATH", EMULATOR + os.pathsep + os.environ.get("PYTHONPATH", ""))
    vbox.env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return vbox


@pytest.fixture(params=["vboxmanage", "api"])
def path(request, vbox, monkeypatch):
    """Each test using it runs on both paths, chosen as a user would force one."""
    if request.param == "api":
        request.getfixturevalue("sdk_importable")
    monkeypatch.setenv("MACHINE_TUI_VIRTUALBOX_PATH", request.param)
    return request.param


def api_calls(vbox) -> list[str]:
    return [" ".join(c[1:]) for c in vbox.calls() if c[0] == "api"]


def comparable(vm: dict, name: str) -> dict:
    """A VM's record with what differs between two VMs of different names and times left out."""
    text = json.dumps({k: vm[k] for k in ("state", "settings", "storage", "natpf")}).replace(name, "NAME")
    return json.loads(re.sub(r"127\.0\.0\.1,\d+,,22", "127.0.0.1,PORT,,22", text))


async def test_api_path_makes_the_vm_the_vboxmanage_path_makes(api, github, store, monkeypatch):
    from machine_tui.core.drivers.virtualbox.vboxmain import VBoxMain

    st, host, driver = new_machine(store, "viaapi")
    rep = Reporter()
    await driver.pre_create_check()
    assert isinstance(driver._vbox(), VBoxMain)
    await driver.create(rep)
    st.save(host)
    assert [c[0] for c in api.calls() if c[0] != "api"] == []  # no VBoxManage process at all
    assert api_calls(api) == [
        "IVirtualBox.findMachine viaapi",  # the pre-create check: the name is free
        "IMedium.createBaseStorage disk.vmdk 8388608",
        "IVirtualBox.createMachine viaapi Linux26_64", "IMachine.saveSettings viaapi",
        "IVirtualBox.registerMachine viaapi",
        "IVirtualBox.findMachine viaapi", "IMachine.lockMachine viaapi Write", "IMachine.saveSettings viaapi",
        "IVirtualBox.findMachine viaapi",  # start: its state
        "IHost.createHostOnlyNetworkInterface",
        "IHostNetworkInterface.enableStaticIPConfig vboxnet0 192.168.56.1 255.255.255.0",
        "IVirtualBox.createDHCPServer HostInterfaceNetworking-vboxnet0",
        *[c for c in api_calls(api) if c.startswith("IDHCPServer.setConfiguration")],
        "IVirtualBox.findMachine viaapi", "IMachine.lockMachine viaapi Write", "IMachine.saveSettings viaapi",
        "IVirtualBox.findMachine viaapi", "IMachine.lockMachine viaapi Write", "IMachine.saveSettings viaapi",
        "IVirtualBox.findMachine viaapi", "IMachine.launchVMProcess viaapi headless",
    ]
    assert any("using 192.168.56.1/24" in e.message for e in rep.events)
    # the same machine made through VBoxManage: VirtualBox ends up holding the same VM
    monkeypatch.setenv("MACHINE_TUI_VIRTUALBOX_PATH", "vboxmanage")
    st2, host2, driver2 = new_machine(store, "viacli")
    await driver2.pre_create_check()
    await driver2.create(Reporter())
    vms = api.state()["vms"]
    assert comparable(vms["viaapi"], "viaapi") == comparable(vms["viacli"], "viacli")
    assert vms["viaapi"]["settings"]["hostonlyadapter2"] == "vboxnet0" and vms["viaapi"]["state"] == "running"
    # config.json as docker-machine writes it, whichever path made the VM
    doc = json.load(open(os.path.join(store, "machines", "viaapi", "config.json")))
    assert list(doc["Driver"]) == DM_DRIVER_KEYS and doc["Driver"]["HostOnlyCIDR"] == "192.168.56.1/24"
    with tarfile.open(os.path.join(store, "machines", "viaapi", "disk.vmdk")) as tar:
        assert tar.getnames()[0] == "boot2docker, please format-me"


async def test_api_path_lifecycle_in_each_state(api, github, store):
    st, host, driver = new_machine(store)
    await driver.pre_create_check()
    await driver.create(Reporter())
    assert await driver.state() == State.RUNNING
    api.reset_calls()
    await driver.stop()
    assert "IConsole.powerButton default" in api_calls(api)
    assert await driver.state() == State.STOPPED
    api.reset_calls()
    await driver.start()  # the adapter and its DHCP server exist: reused
    calls = api_calls(api)
    assert "IHost.createHostOnlyNetworkInterface" not in calls and "IMachine.launchVMProcess default headless" in calls
    os.system("VBoxManage controlvm default pause")  # paused from outside, through the other path
    assert await driver.state() == State.PAUSED
    api.reset_calls()
    await driver.start()
    assert "IConsole.resume default" in api_calls(api)
    os.system("VBoxManage controlvm default savestate")
    assert await driver.state() == State.SAVED
    api.reset_calls()
    await driver.start()
    calls = api_calls(api)
    assert "IMachine.launchVMProcess default headless" in calls and "IHost.createHostOnlyNetworkInterface" not in calls
    api.reset_calls()
    await driver.kill()
    assert "IConsole.powerDown default" in api_calls(api)
    await driver.start()
    api.reset_calls()
    await driver.remove()  # running: powered off first, then unregistered with its disk and folder
    assert [c for c in api_calls(api) if not c.startswith(("IVirtualBox.findMachine", "IMachine.lockMachine"))] == [
        "IConsole.powerDown default", "IMachine.unregister default DetachAllReturnHardDisksOnly",
        "IMachine.deleteConfig default 1"]
    assert api.state()["vms"] == {}
    assert not os.path.exists(os.path.join(store, "machines", "default", "disk.vmdk"))
    await driver.remove()  # already gone: nothing to do
    with pytest.raises(Exception, match="machine does not exist"):
        await driver.state()


def test_api_path_faults_and_debug_says_which_path(api, github, store):
    env = clean_env(store, MACHINE_WAIT_RETRIES="1", **api.env,
                    MACHINE_TUI_GITHUB_API=os.environ["MACHINE_TUI_GITHUB_API"])
    base = ["create", "-d", "virtualbox", "--virtualbox-no-vtx-check", "--virtualbox-disk-size", "8"]
    r = run_cli(["--debug"] + base + ["--virtualbox-hostonly-cidr", "10.10.10.1/24", "a1"], env, timeout=60)
    assert "virtualbox: using the VirtualBox Main API (vboxapi, VirtualBox 7.0.20)" in r.stderr
    assert r.returncode == 1 and "VirtualBox refused the host-only network 10.10.10.1/24" in r.stderr
    assert "Add the line '* 10.10.10.0/24' to /etc/vbox/networks.conf" in r.stderr
    # VT-x refused at power-up: the API's progress says so, VBox.log says why
    r = run_cli(base + ["a2"], {**env, "VBOX_EMULATOR_NO_VTX": "1"}, timeout=60)
    assert r.returncode == 1 and "Unable to start the VM" in r.stderr and "VERR_VMX_NO_VMX" in r.stderr
    # a name VirtualBox already has
    os.system(f"VBoxManage createvm --basefolder {store} --name taken --register >/dev/null")
    r = run_cli(base + ["taken"], env)
    assert r.returncode == 3 and "VirtualBox already has a VM named taken" in r.stderr
    # the SDK is there but VBoxSVC does not answer: VBoxManage takes over, and --debug says so
    r = run_cli(["--debug", "rm", "-f", "-y", "a1", "a2"], {**env, "VBOX_EMULATOR_API_DOWN": "1"}, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "falling back to VBoxManage" in r.stderr and "virtualbox: using VBoxManage (" in r.stderr
    # asked for the API where there is no SDK: one clear line
    no_sdk = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    r = run_cli(base + ["a3"], {**no_sdk, "MACHINE_TUI_VIRTUALBOX_PATH": "api"})
    assert r.returncode == 3 and "needs the VirtualBox SDK's vboxapi module" in r.stderr
    assert set(api.state()["vms"]) == {"taken"}


async def test_import_of_a_boot2docker_vm(path, vbox, github, store, tmp_path, monkeypatch):
    """--virtualbox-import-boot2docker-vm: the old boot2docker-cli VM's disk cloned, its CPUs, memory and key."""
    monkeypatch.setenv("HOME", str(tmp_path))
    old_disk = tmp_path / "boot2docker-vm.vmdk"
    old_disk.write_bytes(b"the old VM's disk" * 100)
    for cmd in (f"createvm --basefolder {tmp_path} --name boot2docker-vm --register",
                "modifyvm boot2docker-vm --cpus 2 --memory 2048", "storagectl boot2docker-vm --name SATA --add sata",
                f"storageattach boot2docker-vm --storagectl SATA --port 1 --device 0 --type hdd --medium {old_disk}",
                "startvm boot2docker-vm --type headless"):
        assert os.system(f"VBoxManage {cmd} >/dev/null") == 0
    st, host, driver = new_machine(store, "imported", **{"virtualbox-import-boot2docker-vm": "boot2docker-vm"})
    await driver.pre_create_check()
    with pytest.raises(Exception, match=r"cannot import the VM boot2docker-vm: its SSH key .*/\.ssh/id_boot2docker "
                                        "does not exist"):
        await driver.create(Reporter())
    os.unlink(os.path.join(store, "machines", "imported", "disk.vmdk"))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_boot2docker").write_text("old key\n")
    await driver.create(Reporter())
    calls = [" ".join(c) for c in vbox.calls()]
    assert "controlvm boot2docker-vm poweroff" in calls or "api IConsole.powerDown boot2docker-vm" in calls
    assert vbox.state()["vms"]["boot2docker-vm"]["state"] == "poweroff"
    d = driver.config
    assert (d["CPU"], d["Memory"]) == (2, 2048)
    assert open(os.path.join(store, "machines", "imported", "disk.vmdk"), "rb").read() == old_disk.read_bytes()
    assert open(d["SSHKeyPath"]).read() == "old key\n" and os.stat(d["SSHKeyPath"]).st_mode & 0o777 == 0o600
    assert vbox.state()["vms"]["imported"]["settings"]["cpus"] == "2"


@pytest.fixture
def cloud_site(tmp_path):
    """A loopback web server publishing a (small, real) qcow2 cloud image with its SHA256SUMS, as Debian does."""
    import hashlib
    import subprocess

    site = tmp_path / "cloud"
    site.mkdir()
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(site / "cloud.qcow2"), "64M"], check=True)
    digest = hashlib.sha256((site / "cloud.qcow2").read_bytes()).hexdigest()
    (site / "SHA256SUMS").write_text(f"{digest}  cloud.qcow2\n")
    with ImageServer(str(site)) as srv:
        yield srv


async def test_cloud_image_instead_of_boot2docker(path, vbox, cloud_site, store):
    """--virtualbox-image-url: the image fetched and verified into cache/, turned into a VDI grown to the disk size,
    booted from its disk with a cloud-init seed on the DVD drive that names the user, key and both NICs' MACs."""
    st, host, driver = new_machine(store, "cloudy", **{"virtualbox-image-url": cloud_site.url("cloud.qcow2"),
                                                       "virtualbox-disk-size": 128})
    rep = Reporter()
    await driver.pre_create_check()
    await driver.create(rep)
    st.save(host)
    machine = os.path.join(store, "machines", "cloudy")
    if path == "vboxmanage":
        calls = normalise(vbox.calls(), store)
        cached = [f for f in os.listdir(os.path.join(store, "cache")) if f.endswith("cloud.qcow2")]
        assert calls[3:6] == [f"clonemedium disk S/cache/{cached[0]} S/machines/cloudy/disk.vdi --format VDI",
                              "modifymedium disk S/machines/cloudy/disk.vdi --resize 128",
                              "createvm --basefolder S/machines/cloudy --name cloudy --register"]
        assert calls[6].endswith("--boot1 disk")
        assert calls[7].startswith("modifyvm cloudy --nic1 nat --nictype1 82540EM --cableconnected1 on "
                                   "--macaddress1 080027")
        assert "storageattach cloudy --storagectl SATA --port 0 --device 0 --type dvddrive --medium " \
               "S/machines/cloudy/seed.iso" in calls
        assert not any(c.startswith("sharedfolder") for c in calls)  # no guest additions to mount it
    else:
        assert "IMedium.cloneTo" in " ".join(api_calls(vbox)) and "IMedium.resize disk.vdi 134217728" in \
            api_calls(vbox)
    assert [p for p, _ in cloud_site.requests][-1] == "/cloud.qcow2"
    assert any("Verifying" in e.message for e in rep.events)
    vm = vbox.state()["vms"]["cloudy"]
    assert vm["settings"]["boot1"] == "disk" and vm["state"] == "running"
    mac1, mac2 = vm["settings"]["macaddress1"], vm["settings"]["macaddress2"]
    assert vm["settings"]["hostonlyadapter2"] == "vboxnet0" and mac1 != mac2
    # the seed names the user, the machine's key and both MACs (cloud-init would only bring up the first NIC)
    seed = open(os.path.join(machine, "seed.iso"), "rb").read()
    key = open(os.path.join(machine, "id_rsa.pub")).read().strip()
    assert b"hostname: cloudy" in seed and key.encode() in seed and b"name: docker" in seed
    for mac in (mac1, mac2):
        assert f'mac_address: "{":".join(mac[i:i + 2] for i in range(0, 12, 2)).lower()}"'.encode() in seed
    assert os.stat(os.path.join(machine, "seed.iso")).st_mode & 0o777 == 0o600
    doc = json.load(open(os.path.join(machine, "config.json")))
    assert list(doc["Driver"]) == DM_DRIVER_KEYS + ["ImageURL", "ImageChecksum"]


def test_cloud_image_flag_faults(vbox, cloud_site, store, tmp_path):
    env = clean_env(store, **vbox.env)
    base = ["create", "-d", "virtualbox", "--virtualbox-no-vtx-check"]
    r = run_cli(base + ["--virtualbox-image-url", "x.qcow2", "--virtualbox-boot2docker-url", "b.iso", "c1"], env)
    assert r.returncode == 1 and "--virtualbox-image-url replaces boot2docker" in r.stderr
    junk = tmp_path / "junk.img"
    junk.write_bytes(b"no disk here" * 1000)
    r = run_cli(base + ["--virtualbox-image-url", str(junk), "c2"], env, timeout=60)
    assert r.returncode == 1 and "give one with --virtualbox-image-checksum ALGO:HEX" in r.stderr
    import hashlib

    r = run_cli(base + ["--virtualbox-image-url", str(junk), "--virtualbox-image-checksum",
                        "sha256:" + hashlib.sha256(junk.read_bytes()).hexdigest(), "c4"], env, timeout=60)
    assert r.returncode == 1 and "is not a disk image VirtualBox can boot" in r.stderr
    r = run_cli(base + ["--virtualbox-image-url", cloud_site.url("cloud.qcow2"), "--virtualbox-image-checksum",
                        "sha256:" + "0" * 64, "c3"], env, timeout=60)
    assert r.returncode == 1 and "cloud.qcow2 is damaged: its sha256 is" in r.stderr
    assert "the one given is 0000" in r.stderr
    assert run_cli(["rm", "-f", "-y", "c2", "c3", "c4"], env, timeout=60).returncode == 0
    assert vbox.state()["vms"] == {} if os.path.exists(vbox.state_file) else True


async def test_config_json_is_the_one_docker_machine_writes(vbox, github, store, monkeypatch):
    """Field by field against the config.json docker-machine 0.16.2 wrote for `create -d virtualbox default`
    (tests/fixtures/virtualbox-default-config.json), on VirtualBox 6.1.26 where the default host-only range still applies."""
    from conftest import FIXTURES

    with open(os.path.join(os.path.dirname(FIXTURES), "virtualbox-default-config.json")) as fh:
        theirs = json.load(fh)
    monkeypatch.setenv("VBOX_EMULATOR_VERSION", "6.1.26r145957")
    st, host, driver = new_machine(store, "default", **{"virtualbox-no-vtx-check": False})
    monkeypatch.setattr("machine_tui.core.drivers.virtualbox.driver._cpu_has_vtx", lambda: True)
    await driver.pre_create_check()
    await driver.create(Reporter())
    driver.config["IPAddress"] = "192.168.99.100"  # what the guest's host-only adapter would have answered
    st.save(host)
    ours = json.load(open(os.path.join(store, "machines", "default", "config.json")))
    ours = json.loads(json.dumps(ours).replace(store, "/home/u/.docker/machine"))
    assert ours["Driver"].pop("SSHPort") > 0 and theirs["Driver"].pop("SSHPort") > 0  # a free port, each time
    # the disk is 8 MB here (streaming 20 GB of zeros into the emulator takes minutes); the flag's default is 20000
    assert ours["Driver"]["DiskSize"] == 8
    ours["Driver"]["DiskSize"] = 20000
    assert ours == theirs


async def test_host_only_networking_as_virtualbox_on_windows_names_it(vbox, github, store, monkeypatch):
    """On Windows, VirtualBox names its adapters "VirtualBox Host-Only Ethernet Adapter #N", writes CRLF and
    allows any range (no networks.conf): docker-machine's default 192.168.99.1/24 stays, the adapter is found by
    the name VBoxManage gives it, and a second machine shares it."""
    from machine_tui.core.drivers.virtualbox import network

    monkeypatch.setenv("VBOX_EMULATOR_HOST", "windows")
    monkeypatch.setattr(network, "RANGE_RULE", False)
    for name in ("w1", "w2"):
        _, _, driver = new_machine(store, name)
        await driver.pre_create_check()
        await driver.create(Reporter())
        assert driver.config["HostOnlyCIDR"] == "192.168.99.1/24"
    adapter = "VirtualBox Host-Only Ethernet Adapter"
    calls = vbox.calls()
    assert [c for c in calls if c[:2] == ["hostonlyif", "create"]] == [["hostonlyif", "create"]]  # made once
    assert ["hostonlyif", "ipconfig", adapter, "--ip", "192.168.99.1", "--netmask", "255.255.255.0"] in calls
    attached = [c for c in calls if "--hostonlyadapter2" in c]
    assert len(attached) == 2 and all(c[c.index("--hostonlyadapter2") + 1] == adapter for c in attached)
    assert [c for c in calls if c[:2] == ["dhcpserver", "add"]][0][2:4] == ["--netname",
                                                                           f"HostInterfaceNetworking-{adapter}"]
