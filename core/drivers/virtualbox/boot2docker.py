"""The boot2docker ISO for the virtualbox driver, as docker-machine handles it: the latest release looked up on
GitHub, cached in the store's cache/boot2docker.iso, its version read from the ISO's volume id, downloaded again
when a newer release exists, with a progress bar. boot2docker's last release is v19.03.12 (2020); it is no longer
maintained, which is why the qemu driver boots Debian images instead."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import urllib.parse
from typing import TYPE_CHECKING

from ...errors import MachineError
from ...imagecache import DownloadError, download_to
from ...store import makedirs_private

if TYPE_CHECKING:
    from ...events import Reporter

REPO = "boot2docker/boot2docker"


def github_api() -> str:
    # an API base other than github.com: GitHub Enterprise, or the tests' loopback stand-in
    from ...settings import github_api

    return github_api()


def iso_volume_id(path: str) -> str:
    """The ISO 9660 volume id (32 bytes at 0x8028), e.g. `Boot2Docker-v19.03.12`; "" if not an ISO."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0x8001)
            magic = fh.read(5)
            fh.seek(0x8028)
            volume = fh.read(32)
    except OSError:
        return ""
    return volume.decode("ascii", "replace").strip() if magic == b"CD001" else ""


def iso_version(path: str) -> str:
    vid = iso_volume_id(path)
    return vid[vid.index("-v") + 1:] if "-v" in vid else ""


def latest_release(token: str = "") -> tuple[str, str]:
    """(tag, ISO download URL) of boot2docker's latest release."""
    url = f"{github_api()}/repos/{REPO}/releases/latest"
    import urllib.request

    req = urllib.request.Request(url, headers={"User-Agent": "machine-tui", "Accept": "application/json"})
    if token:
        req.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            data = json.loads(resp.read(1 << 20) or b"{}")
    except Exception as err:
        raise DownloadError(f"{url}: {getattr(err, 'reason', err)}") from None
    tag = data.get("tag_name") if isinstance(data, dict) else None
    if not tag:
        raise DownloadError("failure getting a version tag from the Github API response (are you getting rate "
                            "limited by Github?)")
    iso = next((a.get("browser_download_url") for a in data.get("assets", [])
                if a.get("name") == "boot2docker.iso"), None)
    return tag, iso or f"https://github.com/{REPO}/releases/download/{tag}/boot2docker.iso"


async def download_iso(url: str, dest: str, report: Reporter) -> None:
    """`url` (http, https or file) into `dest` through a temporary file, with progress; it must be an ISO."""
    part = dest + ".part"
    if os.path.exists(part):
        os.unlink(part)
    loop = asyncio.get_running_loop()
    name = os.path.basename(urllib.parse.urlparse(url).path) or "boot2docker.iso"

    def progress(done: int, total: int, resumed: int) -> None:
        what = f"{done / 1e6:.0f} MB of {total / 1e6:.0f} MB" if total else f"{done / 1e6:.0f} MB"
        loop.call_soon_threadsafe(report.progress, "iso", done / total if total else 0.0,
                                  f"Downloading {name}: {what}")

    report.step("iso", f"Downloading {dest} from {url}...")
    if "://" not in url:
        url = "file://" + os.path.abspath(url)
    await asyncio.to_thread(download_to, url, part, progress, threading.Event())
    if not iso_volume_id(part):
        os.unlink(part)
        raise DownloadError(f"{url} is not an ISO image (no ISO 9660 volume descriptor): the download was removed")
    os.replace(part, dest)
    report.done("iso")


async def cached_latest_iso(cache_dir: str, report: Reporter, token: str = "") -> str:
    """The store's cache/boot2docker.iso, fetched or refreshed when GitHub has a newer release."""
    if not os.path.isdir(cache_dir):
        report.info(f"Image cache directory does not exist, creating it at {cache_dir}...")
    makedirs_private(cache_dir)
    iso = os.path.join(cache_dir, "boot2docker.iso")
    have = iso_version(iso) if os.path.exists(iso) else ""
    try:
        tag, url = await asyncio.to_thread(latest_release, token)
    except DownloadError as err:
        if have:  # GitHub unreachable: the cache is as good as it gets (docker-machine's rule)
            report.warn(f"Cannot check for a newer boot2docker: {err}")
            return iso
        raise
    report.info(f"Latest release for github.com/{REPO} is {tag}")
    if have == tag:
        return iso
    report.info("No default Boot2Docker ISO found locally, downloading the latest release..." if not have
                else "Default Boot2Docker ISO is out-of-date, downloading the latest release...")
    await download_iso(url, iso, report)
    return iso


async def iso_for_machine(url: str, cache_dir: str, dest: str, report: Reporter, token: str = "") -> None:
    """Put the machine's boot2docker.iso in place: a copy of the cached latest, or `url` when one was given."""
    if url:
        if "/releases" in url and url.startswith(("http://", "https://")) and "api" in url:
            raise MachineError("a GitHub releases API URL as --virtualbox-boot2docker-url is not supported: "
                               "give the ISO's own URL")
        await download_iso(url, dest, report)
        return
    iso = await cached_latest_iso(cache_dir, report, token)
    report.info(f"Copying {iso} to {dest}...")
    await asyncio.to_thread(shutil.copyfile, iso, dest)

