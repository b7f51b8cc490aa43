"""Provisioner choice and the daemon configuration it writes (pure rules; the real run is test_generic_vm)."""

from __future__ import annotations

import pytest
from machine_tui.core import hostconfig, provisioning
from machine_tui.core.errors import MachineError
from machine_tui.core.hostconfig import Host

OS_RELEASES = {
    "debian": ('ID=debian\nVERSION_ID="12"\n', "debian"),
    "ubuntu": ('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n', "ubuntu(systemd)"),
    "mint": ('ID=linuxmint\nID_LIKE="ubuntu debian"\n', "ubuntu(systemd)"),
    "rocky": ('ID="rocky"\nID_LIKE="rhel centos fedora"\n', "redhat"),
    "alma": ('ID="almalinux"\n', "redhat"),
    "fedora": ("ID=fedora\n", "fedora"),
    "amzn": ('ID="amzn"\nID_LIKE="centos rhel fedora"\n', "amzn"),
    "leap": ('ID="opensuse-leap"\nID_LIKE="suse opensuse"\n', "SUSE"),
    "sles": ('ID="sles"\n', "SUSE"),
    "arch": ("ID=arch\n", "arch"),
    "endeavour": ("ID=endeavouros\nID_LIKE=arch\n", "arch"),
    "b2d": ("ID=boot2docker\n", "boot2docker"),
    "raspbian": ("ID=raspbian\nID_LIKE=debian\n", "raspbian"),
}


@pytest.mark.parametrize("case", sorted(OS_RELEASES))
def test_provisioner_from_id_then_id_like(case):
    text, want = OS_RELEASES[case]
    assert provisioning.choose_provisioner(provisioning.parse_os_release(text)).name == want


def test_unknown_os_names_its_id_and_the_supported_ones():
    with pytest.raises(MachineError) as err:
        provisioning.choose_provisioner({"ID": "plan9"})
    msg = str(err.value)
    assert msg.startswith('Error detecting OS: OS type not recognized: ID="plan9"; supported: ')
    assert "debian" in msg and "fedora" in msg and "\n" not in msg


def host_with(**engine):
    e = hostconfig.engine_options(**engine)
    doc = hostconfig.new_host("m", "generic", {}, e, hostconfig.swarm_options(), hostconfig.auth_options("/s", "m"))
    return Host("m", doc, "/s/machines/m")


def test_drop_in_uses_the_hosts_dockerd_and_every_engine_option():
    h = host_with(labels=["spam=eggs"], insecure_registry=["r:5000"], registry_mirror=["https://m"],
                  arbitrary_flags=["log-driver=none"], env=['TEST=VALUE', 'Q="x y"'], storage_driver="overlay")
    text = provisioning.drop_in(h, "generic", "/usr/sbin/dockerd", 2376,
                                provisioning.unit_extras_from("/usr/sbin/dockerd -H fd:// --containerd=/run/c.sock"))
    lines = text.splitlines()
    assert lines[:2] == ["[Service]", "ExecStart="]
    assert lines[2] == (
        "ExecStart=/usr/sbin/dockerd -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock --storage-driver overlay "
        "--tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem "
        "--label provider=generic --label spam=eggs --insecure-registry r:5000 --registry-mirror https://m "
        "--log-driver=none --containerd=/run/c.sock"
    )
    assert lines[3] == 'Environment="TEST=VALUE" "Q=\\"x y\\""'


def test_default_storage_driver_is_overlay2():
    assert "--storage-driver overlay2" in provisioning.daemon_flags(host_with(), "generic", "/usr/bin/dockerd", 2376, [])


def test_boot2docker_gets_its_profile_and_certificates_in_var_lib_boot2docker():
    h = host_with(labels=["tier=web"], insecure_registry=["r:5000"], env=["TEST=VALUE"])
    prov = provisioning.Boot2Docker(None, {"ID": "boot2docker"})
    assert prov.docker_dir == "/var/lib/boot2docker" and prov.config_path == "/var/lib/boot2docker/profile"
    assert prov.engine_config(h, "virtualbox", "/usr/local/bin/dockerd", 2376, []) == (
        "EXTRA_ARGS='\n--label provider=virtualbox\n--label tier=web\n--insecure-registry r:5000\n\n'\n"
        "CACERT=/var/lib/boot2docker/ca.pem\nDOCKER_HOST='-H tcp://0.0.0.0:2376'\nDOCKER_STORAGE=overlay2\n"
        "DOCKER_TLS=auto\nSERVERKEY=/var/lib/boot2docker/server-key.pem\nSERVERCERT=/var/lib/boot2docker/server.pem\n"
        "\nexport TEST=VALUE\n")
