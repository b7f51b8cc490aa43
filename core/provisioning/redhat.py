"""Red Hat and its derivatives: yum or dnf."""

from __future__ import annotations

import shlex

from .base import Provisioner


class RedHat(Provisioner):
    name = "redhat"
    ids: tuple[str, ...] = ("rhel", "centos", "rocky", "almalinux", "ol")

    def package_install(self, pkg: str) -> str:
        return f"yum install -y {shlex.quote(pkg)}"

    def package_upgrade(self, pkg: str) -> str:
        return f"yum upgrade -y {shlex.quote(pkg)}"


class Fedora(RedHat):
    name, ids = "fedora", ("fedora",)

    def package_install(self, pkg: str) -> str:
        return f"dnf install -y {shlex.quote(pkg)}"

    def package_upgrade(self, pkg: str) -> str:
        return f"dnf upgrade -y {shlex.quote(pkg)}"


class Amazon(RedHat):
    name, ids = "amzn", ("amzn",)
    install_from_packages = "docker"
