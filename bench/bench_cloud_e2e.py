"""The end-to-end create timeline on each emulated cloud, with a real VM per instance (tests/vm/test_cloud_e2e.py):
when each phase of `machine-tui create` ended, from the command's start to "Docker is up and running!".

    python bench/bench_cloud_e2e.py [-k openstack]

Not a test: it runs those VM tests with MACHINE_TUI_E2E_TIMELINE set and prints what they recorded. Minutes under
TCG; the cloud's own calls take well under a second of it."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
# the first line of each phase's end, as the CLI prints it
PHASES = [("pre-create checks", "Creating machine..."),
          ("cloud: key, group, instance, address", "Waiting for machine to be running"),
          ("instance running", "Detecting operating system"),
          ("SSH answers (the VM boots, cloud-init)", "Provisioning with"),
          ("provisioned: engine, certificates", "Checking connection to Docker"),
          ("Docker answers over TLS", "Docker is up and running!")]


def phases(timeline: list[list]) -> list[tuple[str, float]]:
    ends, last = [], 0.0
    for name, marker in PHASES:
        at = next((t for t, line in timeline if line.startswith(marker)), None)
        if at is None:
            continue
        ends.append((name, at - last))
        last = at
    return ends


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="", help="pytest -k: one cloud (amazonec2, digitalocean, openstack)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "timeline.jsonl")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               os.path.join(HERE, "..", "tests", "vm", "test_cloud_e2e.py")] + (["-k", a.k] if a.k else [])
        run = subprocess.run(cmd, env={**os.environ, "MACHINE_TUI_E2E_TIMELINE": out}, cwd=os.path.join(HERE, ".."))
        if not os.path.exists(out):
            sys.exit(f"no timeline recorded (pytest exit {run.returncode})")
        with open(out) as fh:
            for line in fh:
                record = json.loads(line)
                total = record["timeline"][-1][0]
                print(f"\n{record['cloud']}: create to Docker over TLS in {total:.1f} s")
                for name, seconds in phases(record["timeline"]):
                    print(f"  {name:<42}{seconds:>7.1f} s")
    sys.exit(run.returncode)


if __name__ == "__main__":
    main()
