"""Docker contexts named after machines (beyond docker-machine): `docker --context NAME ps` works
without `eval $(machine-tui env NAME)`. Only contexts machine-tui made are ever changed or removed."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .events import Reporter

MARK = "machine-tui machine"


def _meta_path(name: str) -> str:
    config_dir = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    digest = hashlib.sha256(name.encode()).hexdigest()
    return os.path.join(config_dir, "contexts", "meta", digest, "meta.json")


def context_owned(name: str) -> bool | None:
    """True: ours; False: someone else's context of that name; None: no such context."""
    try:
        with open(_meta_path(name)) as fh:
            meta = json.load(fh)
    except (OSError, ValueError):
        return None
    return bool((meta.get("Metadata") or {}).get("Description", "").startswith(MARK))


async def _docker(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "docker", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace").strip()


async def sync_context(name: str, url: str, cert_dir: str, report: Reporter) -> None:
    """Create or refresh the context for a machine from its current URL and TLS files."""
    if not shutil.which("docker"):
        report.debug("docker CLI not found: no docker context made")
        return
    owned = context_owned(name)
    if owned is False:
        report.warn(f'A docker context named "{name}" exists and was not made by machine-tui: left unchanged')
        return
    endpoint = (
        f"host={url},ca={os.path.join(cert_dir, 'ca.pem')},cert={os.path.join(cert_dir, 'cert.pem')},"
        f"key={os.path.join(cert_dir, 'key.pem')}"
    )
    verb = "update" if owned else "create"
    rc, out = await _docker("context", verb, name, "--description", f"{MARK} {name}", "--docker", endpoint)
    if rc != 0:
        report.warn(f"Could not {verb} docker context {name}: {out}")
    else:
        report.info(f'Docker context "{name}" is ready: docker --context {name} ps')


async def remove_context(name: str, report: Reporter) -> None:
    if context_owned(name) and shutil.which("docker"):
        rc, out = await _docker("context", "rm", "-f", name)
        if rc != 0:
            report.warn(f"Could not remove docker context {name}: {out}")
