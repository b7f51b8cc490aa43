"""Base images for the qemu driver: downloaded once into the store's cache/, with progress, resumable, verified
against the published checksum; the cloud-init seed it hands the guest. Against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess

import pytest
from conftest import clean_env, run_cli
from imageserver import ImageServer
from machine_tui.core.events import Reporter
from machine_tui.core.imagecache import DownloadError, cache_name, fetch_image
from machine_tui.core.seediso import cloud_config, make_seed_iso, meta_data


def publish(folder, name: str, size: int, digest: str | None = None) -> bytes:
    data = os.urandom(size)
    with open(os.path.join(folder, name), "wb") as fh:
        fh.write(data)
    digest = digest or hashlib.sha512(data).hexdigest()
    with open(os.path.join(folder, "SHA512SUMS"), "w") as fh:
        fh.write(f"{digest}  {name}\n{'0' * 128}  other.qcow2\n")
    return data


def fetch(url: str, cache: str, checksum: str = "") -> tuple[str, Reporter]:
    report = Reporter()
    return asyncio.run(fetch_image(url, cache, report, checksum)), report


def test_download_shows_progress_verifies_and_is_cached_once(tmp_path):
    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    data = publish(site, "disk.qcow2", 5_000_000)
    with ImageServer(str(site)) as srv:
        path, report = fetch(srv.url("disk.qcow2"), str(cache))
        assert open(path, "rb").read() == data
        assert os.stat(path).st_mode & 0o777 == 0o600 and os.stat(cache).st_mode & 0o777 == 0o700
        fractions = [e.fraction for e in report.events if e.kind == "progress"]
        assert fractions[0] == 0 and fractions[-1] == 1.0 and len(fractions) >= 5
        assert any("Downloading disk.qcow2: 5 MB of 5 MB" == e.message for e in report.events)
        # a second machine uses the cache: no new request for the image
        seen = len(srv.requests)
        path2, report2 = fetch(srv.url("disk.qcow2"), str(cache))
        assert path2 == path and len(srv.requests) == seen
        assert [e.message for e in report2.events] == ["Using the cached image disk.qcow2"]


def test_an_interrupted_download_resumes_where_it_stopped(tmp_path):
    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    data = publish(site, "disk.qcow2", 4_000_000)
    with ImageServer(str(site)) as srv:
        srv.cut_after = 1_500_000
        with pytest.raises(DownloadError, match="the next create resumes from there"):
            fetch(srv.url("disk.qcow2"), str(cache))
        assert not os.path.exists(cache / cache_name(srv.url("disk.qcow2")))  # never under its real name half-made
        path, report = fetch(srv.url("disk.qcow2"), str(cache))
        assert open(path, "rb").read() == data
        assert ("/disk.qcow2", "bytes=1500000-") in srv.requests
        assert any("(resumed at 2 MB)" in e.message for e in report.events)


def test_a_damaged_download_is_refused_and_removed(tmp_path):
    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    publish(site, "disk.qcow2", 100_000, digest="ab" * 64)
    with ImageServer(str(site)) as srv:
        with pytest.raises(DownloadError, match=r"disk.qcow2 is damaged: its sha512 is [0-9a-f]{128}, the published "
                                                r"one is (ab){64} \(the download was removed; try again\)"):
            fetch(srv.url("disk.qcow2"), str(cache))
        assert [f for f in os.listdir(cache) if not f.endswith(".lock")] == []
        # no checksum published at all: refused unless the user gives one
        os.unlink(site / "SHA512SUMS")
        with pytest.raises(DownloadError, match="give one with --qemu-image-checksum ALGO:HEX"):
            fetch(srv.url("disk.qcow2"), str(cache))
        good = hashlib.sha256(open(site / "disk.qcow2", "rb").read()).hexdigest()
        path, _ = fetch(srv.url("disk.qcow2"), str(cache), checksum=f"sha256:{good}")
        assert os.path.getsize(path) == 100_000


def test_missing_image_and_full_disk_say_so(tmp_path):
    site, cache = tmp_path / "site", tmp_path / "cache"
    site.mkdir()
    publish(site, "disk.qcow2", 8_000_000)
    with ImageServer(str(site)) as srv:
        with pytest.raises(DownloadError, match="does not list nothere.qcow2"):
            fetch(srv.url("nothere.qcow2"), str(cache))
        cache.mkdir(exist_ok=True)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(cache)], capture_output=True)
        assert mounted.returncode == 0, "the full-disk test mounts a 4 MB tmpfs: it needs root"
        try:
            with pytest.raises(DownloadError, match=r"not enough disk space in .*cache: the image needs 8 MB more, "
                                                    r"4 MB free"):
                fetch(srv.url("disk.qcow2"), str(cache))
        finally:
            subprocess.run(["umount", str(cache)], check=True)


def test_create_with_an_unreachable_image_fails_cleanly(store, tmp_path):
    env = clean_env(store)
    with ImageServer(str(tmp_path)) as srv:
        url = srv.url("gone.qcow2")
    r = run_cli(["create", "-d", "qemu", "--qemu-image-url", url, "--qemu-image-checksum", "sha256:" + "0" * 64,
                 "q3"], env, timeout=120)
    assert r.returncode == 1
    assert r.stderr.startswith(f"Error creating machine: downloading the image: {url}: [Errno 111] Connection "
                               "refused"), r.stderr
    assert run_cli(["ls", "--format", "{{.Name}} {{.State}}"], env).stdout == "q3 Error\n"
    assert run_cli(["rm", "-f", "-y", "q3"], env).returncode == 0
    assert not os.path.exists(os.path.join(store, "machines", "q3"))


def test_an_image_that_is_not_a_disk_is_refused_before_boot(store, tmp_path):
    env = clean_env(store)
    junk = tmp_path / "junk.img"
    junk.write_bytes(b"<html>not an image</html>" * 100)
    digest = hashlib.sha256(junk.read_bytes()).hexdigest()
    r = run_cli(["create", "-d", "qemu", "--qemu-image-url", str(junk), "--qemu-image-checksum", f"sha256:{digest}",
                 "q4"], env, timeout=120)
    assert r.returncode == 1 and "is not a bootable disk image (no qcow2 header, no boot sector)" in r.stderr
    assert not os.path.exists(os.path.join(store, "machines", "q4", "qemu.pid"))
    assert run_cli(["rm", "-f", "-y", "q4"], env).returncode == 0


def test_seed_iso_is_a_cidata_volume_with_the_files(tmp_path):
    iso = make_seed_iso({"user-data": cloud_config("m1", "docker", "ssh-ed25519 AAAAC3 me"),
                         "meta-data": meta_data("i-1", "m1")})
    path = tmp_path / "seed.iso"
    path.write_bytes(iso)
    probe = subprocess.run(["blkid", "-o", "export", str(path)], capture_output=True, text=True)
    assert "LABEL=cidata" in probe.stdout and "TYPE=iso9660" in probe.stdout
    assert b"USER-DATA.;1" in iso and b"META-DATA.;1" in iso
    assert b"ssh_authorized_keys:\n      - ssh-ed25519 AAAAC3 me\n" in iso
    # what the guest reads is proven by the cloud-init VM test (tests/vm/test_qemu_driver.py)
