"""Debian and its derivatives: apt."""

from __future__ import annotations

import shlex

from .base import Provisioner


class Apt(Provisioner):
    def package_install(self, pkg: str) -> str:
        return ("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                f"{shlex.quote(pkg)}")

    def package_upgrade(self, pkg: str) -> str:
        return ("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --only-upgrade "
                f"{shlex.quote(pkg)}")


class Debian(Apt):
    name, ids = "debian", ("debian",)


class Ubuntu(Apt):
    name, ids = "ubuntu(systemd)", ("ubuntu",)


class Raspbian(Apt):
    name, ids = "raspbian", ("raspbian",)
