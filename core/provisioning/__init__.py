"""Provisioning: install Docker Engine on a host over SSH, secure it with TLS, start it, check it.

The steps follow docker-machine (hostname, packages, install, certificates, systemd drop-in, restart, wait
for the port, TLS check) and do better where it breaks on real hosts: the dockerd path and the unit's own
flags are read from the host (Debian's docker.io has /usr/sbin/dockerd), nothing is installed when Docker
is already there (an offline host provisions), and Docker is not assumed running after the install.
Independent steps run concurrently over the one pooled connection.

One module per concern, as libmachine/provision has it: a module per distro family, the engine's configuration, the
detection, the procedure."""

from .apt import Debian, Raspbian, Ubuntu
from .arch import Arch
from .base import SBIN, Provisioner
from .boot2docker import Boot2Docker
from .detect import PROVISIONERS, choose_provisioner, detect, parse_os_release
from .engineconfig import DOCKER_DIR, DROP_IN, daemon_flags, drop_in, engine_port, unit_extras_from
from .procedure import STEP_NAMES, provision, provision_new_machine, upgrade, wait_for_docker, wait_for_port
from .redhat import Amazon, Fedora, RedHat
from .suse import Suse

__all__ = [
    "SBIN", "Provisioner", "PROVISIONERS", "choose_provisioner", "detect", "parse_os_release",
    "DOCKER_DIR", "DROP_IN", "daemon_flags", "drop_in", "engine_port", "unit_extras_from",
    "STEP_NAMES", "provision", "provision_new_machine", "upgrade", "wait_for_docker", "wait_for_port",
    "Debian", "Ubuntu", "Raspbian", "RedHat", "Fedora", "Amazon", "Suse", "Arch", "Boot2Docker",
]
