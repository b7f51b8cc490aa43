"""What a first-time user needs to hear on an empty store: which driver fits this host, and the image
`machine-tui build-image` made, if any (offered to the qemu form too)."""

from __future__ import annotations

import os
import shutil


def built_images(store_path: str) -> list[str]:
    """Folders `build-image` left in the store's cache (vmlinuz and docker.qcow2), newest first."""
    root = os.path.join(store_path, "cache", "images")
    try:
        entries = [os.path.join(root, e) for e in os.listdir(root)]
    except OSError:
        return []
    found = [p for p in entries if os.path.isfile(os.path.join(p, "docker.qcow2"))
             and os.path.isfile(os.path.join(p, "vmlinuz"))]
    return sorted(found, key=lambda p: os.path.getmtime(p), reverse=True)


def first_machine_advice(store_path: str, program: str = "machine-tui") -> list[str]:
    """A few lines: what `c` makes, and the driver this host can run, checked rather than guessed."""
    lines = ["No machines in this store yet. Press c to create one: a form for the driver you pick, then a "
             "progress bar while it is made."]
    qemu = shutil.which("qemu-system-x86_64") or shutil.which("qemu-system-aarch64")
    images = built_images(store_path)
    if qemu:
        kvm = os.access("/dev/kvm", os.R_OK | os.W_OK)
        speed = "KVM usable: fast" if kvm else "no usable /dev/kvm: software emulation, a few minutes to boot"
        lines.append(f"This host: QEMU found ({os.path.basename(qemu)}, {speed}).")
        if images:
            lines.append(f"A built image is ready: pick qemu, it is offered for --qemu-local-image ({images[0]}).")
        else:
            lines.append(f"For a local VM with nothing downloaded at create: run `{program} build-image` (as root, "
                         "about 75 s), then pick qemu.")
    else:
        lines.append("This host has no QEMU (apt-get install qemu-system-x86 for local VMs). Without it: generic "
                     "for a host you reach over SSH, none for an engine already running, or a cloud driver.")
    return lines
