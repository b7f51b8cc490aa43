"""`create -d qemu` until Docker answers, split into phases: image (download + verify, or the cache), disk
(overlay), accelerator probe, boot to SSH, provisioning, TLS check. Two runs: the fast image (fw_cfg key) and the
cloud-init image downloaded from a loopback web server (first download, then a second machine from the cache).

    python bench/bench_qemu_create.py      (needs what the VM tests need; builds or reuses the test image)

Goal under TCG on 2 cores: <= 60 s in all. docker-machine has no QEMU driver, so there is no ratio to take.
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


def show(title, rows):
    print(f"\n{title}")
    for phase, secs in rows:
        print(f"  {phase:<14} {secs:6.2f} s")


def main():
    image = vmrig.build_image()
    store = Store(tempfile.mkdtemp(prefix="mt-bench-qemu-"))
    common = {"qemu-cpus": 2, "qemu-disk-size": 6000, "qemu-no-internet": True, "qemu-memory": 1024}
    show("fast image (fw_cfg), --qemu-accel auto",
         asyncio.run(one(store, "b1", {**common, "qemu-local-image": image, "qemu-accel": "auto"})))
    with ImageServer(image) as srv:
        cloud = {**common, "qemu-image-url": srv.url("cloud.qcow2"), "qemu-kernel": os.path.join(image, "vmlinuz"),
                 "qemu-accel": "tcg"}
        show("cloud-init image, first machine (downloads 839 MB over loopback)", asyncio.run(one(store, "b2", cloud)))
        show("cloud-init image, second machine (cached)", asyncio.run(one(store, "b3", cloud)))


if __name__ == "__main__":
    main()
