"""SUSE: zypper, Docker from the distribution."""

from __future__ import annotations

import shlex

from .base import Provisioner


class Suse(Provisioner):
    name, ids = "SUSE", ("opensuse", "opensuse-leap", "opensuse-tumbleweed", "sles", "sled", "suse")
    install_from_packages = "docker"

    def package_install(self, pkg: str) -> str:
        return f"zypper -n in {shlex.quote(pkg)}"

    def package_upgrade(self, pkg: str) -> str:
        return f"zypper -n up {shlex.quote(pkg)}"
