"""The engine of machine-tui: store, certificates, drivers, operations. Never imports textual or rich."""

import os

VERSION = "0.13.1"  # pyproject.toml's version: a test keeps the two equal; CHANGELOG.md says what each brought


def build_id() -> str:
    """The commit this copy runs from (a git checkout, an editable install), else "release" (a wheel from PyPI):
    read from .git's files, no git process, so `--version` stays fast."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    git = os.path.join(root, ".git")
    try:
        with open(os.path.join(git, "HEAD")) as fh:
            head = fh.read().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            try:
                with open(os.path.join(git, ref)) as fh:
                    head = fh.read().strip()
            except FileNotFoundError:
                with open(os.path.join(git, "packed-refs")) as fh:
                    head = next(line.split()[0] for line in fh if line.rstrip().endswith(" " + ref))
        return head[:8] if len(head) >= 8 and all(c in "0123456789abcdef" for c in head[:8]) else "release"
    except (OSError, StopIteration):
        return "release"
