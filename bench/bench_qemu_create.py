"""`create -d qemu` until Docker answers, split into phases: image (download + verify, or the cache), disk
(overlay), accelerator probe, boot to SSH, provisioning, TLS check. First the floor: the fast image booted by the
driver with nothing seeded or provisioned, timed from QEMU's start to an SSH login (the image's own boot-to-SSH);
then a create on the fast image (fw_cfg key and engine seed), as a ratio to that floor; then the cloud-init image
downloaded from a loopback web server (first download, then a second machine from the cache).

    python bench/bench_qemu_create.py [--fast-only]   (needs what the VM tests need; builds or reuses the image)

Goals under TCG on a quiet 2-core machine: the fast image's create <= 1.3x its floor and <= 25 s. docker-machine
has no QEMU driver, so there is no ratio to it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests"), os.path.join(HERE, "..", "tests", "helpers")]

import vmrig  # noqa: E402
from imageserver import ImageServer  # noqa: E402
from machine_tui.core import operations  # noqa: E402
from machine_tui.core.events import Reporter  # noqa: E402
from machine_tui.core.store import Store  # noqa: E402

# a phase starts at the first event whose message starts with its marker
MARKERS = [("image", ("Checking the published", "Using the cached image")),
           ("disk", ("Creating the disk",)),
           ("accel probe", ("No usable /dev/kvm", "Checking that KVM")),
           ("boot to SSH", ("Starting the VM",)),
           ("provisioning", ("Detecting the provisioner",)),
           ("TLS check", ("Checking connection to Docker",))]


def split(events, started, ended):
    starts = []
    for phase, prefixes in MARKERS:
        at = next((e.at for e in events if e.message.startswith(prefixes)), None)
        if at is not None:
            starts.append((phase, at))
    starts.sort(key=lambda p: p[1])
    out = []
    for i, (phase, at) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else ended
        out.append((phase, end - at))
    out.append(("total", ended - started))
    return out


async def one(store, name, opts):
    events = []
    started = time.monotonic()
    await operations.create(store, name, "qemu", opts, Reporter(events.append), context=False)
    ended = time.monotonic()
    await operations.remove(store, name, True, Reporter())
    return split(events, started, ended)


async def floor(store, name, opts):
    """The image's own boot to SSH: the same VM started by the driver, nothing seeded, nothing provisioned."""
    from machine_tui.core import ssh
    from machine_tui.core.operations import TLSFiles, build_host

    host, driver = build_host(store, name, "qemu", opts, TLSFiles(), None)
    await driver.configure()
    store.create_machine_dir(name, "Creating machine")
    store.save(host)
    events = []
    report = Reporter(events.append)
    await driver.create(report)
    started = next(e.at for e in events if e.message.startswith("Starting the VM"))
    conn = await ssh.wait_for_ssh(driver, report)
    ended = time.monotonic()
    await conn.close()
    store.save(host)
    await operations.remove(store, name, True, Reporter())
    return ended - started


def show(title, rows):
    print(f"\n{title}")
    for phase, secs in rows:
        print(f"  {phase:<14} {secs:6.2f} s")


def main():
    image = vmrig.build_image()
    store = Store(tempfile.mkdtemp(prefix="mt-bench-qemu-"))
    common = {"qemu-cpus": 2, "qemu-disk-size": 6000, "qemu-no-internet": True, "qemu-memory": 1024}
    fast = {**common, "qemu-local-image": image, "qemu-accel": "auto"}
    boot = asyncio.run(floor(store, "b0", fast))  # probes the accelerator once: the create below reuses its verdict
    print(f"\nfloor: the fast image's own boot to SSH  {boot:6.2f} s")
    rows = asyncio.run(one(store, "b1", fast))
    show("fast image (fw_cfg key and engine seed), --qemu-accel auto, verdict cached", rows)
    total = dict(rows)["total"]
    print(f"  {'create / floor':<14} {total / boot:6.2f}x  (goal <= 1.3x, and <= 25 s under TCG)")
    if "--fast-only" in sys.argv:
        return
    with ImageServer(image) as srv:
        cloud = {**common, "qemu-image-url": srv.url("cloud.qcow2"), "qemu-kernel": os.path.join(image, "vmlinuz"),
                 "qemu-accel": "tcg"}
        show("cloud-init image, first machine (downloads 839 MB over loopback)", asyncio.run(one(store, "b2", cloud)))
        show("cloud-init image, second machine (cached)", asyncio.run(one(store, "b3", cloud)))


if __name__ == "__main__":
    main()
