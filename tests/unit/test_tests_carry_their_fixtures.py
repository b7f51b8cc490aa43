"""A fresh clone has nothing beside it: no test may read the developers' folder beside the repository (CI also runs
the fast suite from a clone in an empty folder, .ci/run)."""

from __future__ import annotations

import os
import re

from conftest import FIXTURES, ROOT

BESIDE = "sha" + "red"  # the folder's name, spelled so that this file does not name it itself
REACHES_OUT = re.compile(r"""["']\.\.["'],\s*["']\.\.["'],\s*["']\.\.["']|["']""" + BESIDE + r"""["']|\.\./"""
                         + BESIDE + r"""/[\w-]+/\w""")


def test_no_test_reads_outside_the_repository():
    offenders = []
    for folder, _dirs, files in os.walk(os.path.join(ROOT, "tests")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as fh:
                    for number, line in enumerate(fh, 1):
                        code = line.split("#", 1)[0]
                        if REACHES_OUT.search(code):
                            offenders.append(f"{os.path.relpath(path, ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_recorded_fixtures_are_in_the_repository():
    assert os.path.realpath(FIXTURES).startswith(os.path.realpath(ROOT) + os.sep)
    assert {"basic", "cloud-help", "flags", "generic", "store-after-create-none"} <= set(os.listdir(FIXTURES))
