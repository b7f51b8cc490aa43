"""Which provisioner fits a host, read from its /etc/os-release."""

from __future__ import annotations

from typing import Any

from ..errors import MachineError
from ..events import Reporter
from .apt import Debian, Raspbian, Ubuntu
from .arch import Arch
from .base import Provisioner
from .boot2docker import Boot2Docker
from .commander import Commander
from .redhat import Amazon, Fedora, RedHat
from .suse import Suse


def parse_os_release(text: str) -> dict[str, str]:
    info = {}
    for line in text.splitlines():
        if "=" not in line or line.startswith("#"):
            continue
        k, v = line.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        info[k.strip()] = v
    return info


PROVISIONERS: list[type[Provisioner]] = [Debian, Ubuntu, Raspbian, RedHat, Fedora, Amazon, Suse, Arch, Boot2Docker]


def choose_provisioner(os_info: dict[str, Any]) -> type[Provisioner]:
    """By ID, falling back to ID_LIKE (docker-machine does not), so derivatives work."""
    os_id = os_info.get("ID", "").lower()
    candidates = [os_id] + os_info.get("ID_LIKE", "").lower().split()
    for candidate in candidates:
        for cls in PROVISIONERS:
            if candidate in cls.ids:
                return cls
    supported = ", ".join(sorted({i for c in PROVISIONERS for i in c.ids}))
    raise MachineError(
        f'Error detecting OS: OS type not recognized: ID="{os_id}"'
        + (f' ID_LIKE="{os_info.get("ID_LIKE")}"' if os_info.get("ID_LIKE") else "")
        + f"; supported: {supported}"
    )


async def detect(conn: Commander, report: Reporter) -> Provisioner:
    text = (await conn.run("cat /etc/os-release", timeout=30)).stdout
    info = parse_os_release(text)
    cls = choose_provisioner(info)
    return cls(conn, info)
