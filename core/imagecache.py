"""Base disk images, downloaded once into the store's cache/ folder: resumable, checksum-verified, with progress.

The checksum comes from `--qemu-image-checksum` (ALGO:HEX) or from the SHA512SUMS/SHA256SUMS file published next
to the image, as Debian publishes its cloud images. A download is written to NAME.part and renamed only once its
digest matches, so the cache never holds a damaged image under its real name; an interrupted download resumes
from where it stopped (HTTP Range)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

from . import hostos
from .errors import MachineError
from .store import makedirs_private

if TYPE_CHECKING:
    from .events import Reporter

DEBIAN_12_CLOUD = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-generic-amd64.qcow2"
SUM_FILES = (("SHA512SUMS", "sha512"), ("SHA256SUMS", "sha256"))
CHUNK = 1 << 20
TIMEOUT = 30


class DownloadError(MachineError):
    unreachable = False  # no answer from the host at all (offline, no route, no name), as opposed to an HTTP error


def cache_name(url: str) -> str:
    """One cache file per URL: the image's own name, prefixed by a short hash of the URL (two sites may publish
    the same file name)."""
    base = os.path.basename(urllib.parse.urlparse(url).path) or "image"
    return f"{hashlib.sha256(url.encode()).hexdigest()[:10]}-{base}"


def parse_checksum(text: str) -> tuple[str, str]:
    algo, _, digest = text.partition(":")
    algo, digest = algo.lower().strip(), digest.lower().strip()
    if algo not in hashlib.algorithms_available or not digest or any(c not in "0123456789abcdef" for c in digest):
        raise MachineError(f"checksum {text!r} is not ALGO:HEX (for example sha256:4f3c...)")
    return algo, digest


def _open(url: str, start: int = 0) -> Any:
    req = urllib.request.Request(url, headers={"User-Agent": "machine-tui"})
    if start:
        req.add_header("Range", f"bytes={start}-")
    try:
        return urllib.request.urlopen(req, timeout=TIMEOUT)
    except urllib.error.HTTPError as err:
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        failure = DownloadError(f"{url}: {reason}")
        # a host that does not answer (offline), as opposed to a file or page that is not there
        failure.unreachable = url.startswith(("http:", "https:")) and not isinstance(reason, FileNotFoundError)
        raise failure from None
    except ValueError as err:  # not a URL urllib can open
        raise DownloadError(f"{url}: {err}") from None


def published_checksum(url: str) -> tuple[str, str] | None:
    """The digest of the image named in a SHA512SUMS/SHA256SUMS file beside it, or None if none is published."""
    base = os.path.basename(urllib.parse.urlparse(url).path)
    for sums, algo in SUM_FILES:
        sums_url = urllib.parse.urljoin(url, sums)
        try:
            with _open(sums_url) as resp:
                text = resp.read(1 << 20).decode(errors="replace")
        except DownloadError as err:
            if err.unreachable:  # offline: that is the cause, not a missing checksum list
                host = urllib.parse.urlparse(url).hostname or url
                raise DownloadError(f"cannot reach {host} to fetch the image ({err}); without a network, "
                                    "use `machine-tui build-image` and --qemu-local-image") from None
            continue
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].lstrip("*") == base:
                return algo, parts[0].lower()
        raise DownloadError(f"{sums_url} does not list {base}")
    return None


def file_digest(path: str, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _free_bytes(folder: str) -> int:
    return hostos.free_bytes(folder)


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def download_to(url: str, part: str, progress: Any, cancelled: threading.Event) -> None:
    have = os.path.getsize(part) if os.path.exists(part) else 0
    resp = _open(url, have)
    with resp:
        status = getattr(resp, "status", 200)
        if have and status != 206:  # the server ignored Range: start again
            have = 0
        length = resp.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else 0
        folder = os.path.dirname(part)
        if total and total - have > _free_bytes(folder):
            raise DownloadError(f"not enough disk space in {folder}: the image needs {_mb(total - have)} more, "
                                f"{_mb(_free_bytes(folder))} free")
        done = have
        progress(done, total, have)
        with open(part, "ab" if have else "wb") as out:
            hostos.make_private(out, part)
            while True:
                if cancelled.is_set():
                    raise DownloadError("download cancelled")
                try:
                    chunk = resp.read(CHUNK)
                except OSError as err:
                    raise DownloadError(f"{url}: connection lost after {_mb(done)} ({err}); "
                                        "the next create resumes from there") from None
                if not chunk:
                    break
                try:
                    out.write(chunk)
                except OSError as err:
                    raise DownloadError(f"writing {part}: {err.strerror}") from None
                done += len(chunk)
                progress(done, total, have)
        if total and done < total:
            raise DownloadError(f"{url}: connection closed after {_mb(done)} of {_mb(total)}; "
                                "the next create resumes from there")


async def fetch_image(url: str, cache_dir: str, report: Reporter, checksum: str = "",
                      checksum_flag: str = "--qemu-image-checksum") -> str:
    """The cached copy of `url`, downloaded and verified first if needed. Reports step "image"."""
    makedirs_private(cache_dir)
    target = os.path.join(cache_dir, cache_name(url))
    lock_fd = os.open(target + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        # one download per image, however many creates want it
        await asyncio.to_thread(hostos.lock, lock_fd)
        return await _fetch_locked(url, target, report, checksum, checksum_flag)
    finally:
        os.close(lock_fd)


async def _fetch_locked(url: str, target: str, report: Reporter, checksum: str, checksum_flag: str) -> str:
    name = os.path.basename(urllib.parse.urlparse(url).path)
    verified = target + ".verified"
    if os.path.exists(target) and os.path.exists(verified):
        report.info(f"Using the cached image {name}")
        return target
    report.step("image", f"Checking the published checksum of {name}...")
    expected = parse_checksum(checksum) if checksum else await asyncio.to_thread(published_checksum, url)
    if expected is None:
        raise DownloadError(f"no checksum for {url}: none is published next to it (SHA512SUMS, SHA256SUMS); "
                            f"give one with {checksum_flag} ALGO:HEX")
    algo, digest = expected
    part = target + ".part"
    loop = asyncio.get_running_loop()
    cancelled = threading.Event()

    def progress(done: int, total: int, resumed: int) -> None:
        what = f"{_mb(done)} of {_mb(total)}" if total else _mb(done)
        note = f" (resumed at {_mb(resumed)})" if resumed else ""
        loop.call_soon_threadsafe(report.progress, "image", done / total if total else 0.0,
                                  f"Downloading {name}: {what}{note}")

    report.step("image", f"Downloading {url}...")
    try:
        await asyncio.to_thread(download_to, url, part, progress, cancelled)
    except asyncio.CancelledError:
        cancelled.set()
        raise
    report.info(f"Verifying {name} ({algo})...")
    got = await asyncio.to_thread(file_digest, part, algo)
    if got != digest:
        os.unlink(part)
        whose = "the one given" if checksum else "the published one"
        raise DownloadError(f"{name} is damaged: its {algo} is {got}, {whose} is {digest} "
                            "(the download was removed; try again)")
    os.replace(part, target)
    with open(verified, "w") as fh:
        fh.write(f"{algo}:{digest}  {url}\n")
    report.done("image", f"Image {name} downloaded and verified")
    return target


def remove_cached(url: str, cache_dir: str) -> None:
    for suffix in ("", ".part", ".verified", ".lock"):
        try:
            os.unlink(os.path.join(cache_dir, cache_name(url)) + suffix)
        except FileNotFoundError:
            pass

