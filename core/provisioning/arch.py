"""Arch and its derivatives: pacman, Docker from the distribution."""

from __future__ import annotations

import shlex

from .base import Provisioner


class Arch(Provisioner):
    name, ids = "arch", ("arch", "archarm", "manjaro")
    install_from_packages = "docker"

    def package_install(self, pkg: str) -> str:
        return f"pacman -Sy --noconfirm --noprogressbar {shlex.quote(pkg)}"
