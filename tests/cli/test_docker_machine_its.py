"""docker-machine's own CLI tests (its/cli) meet the same answers from machine-tui: what they take, what they refuse
and the words they expect (issue 21)."""

from __future__ import annotations

import os

import pytest
from conftest import clean_env, run_cli


@pytest.mark.parametrize("url", ["none", "url1", "tcp://127.0.0.1:99999", "ftp://127.0.0.1", "tcp://:2376",
                                 "tcp://127.0.0.1:0"])
def test_the_none_driver_takes_any_url_go_parses_and_checks_it_where_dialled(store, url):
    env = clean_env(store)
    r = run_cli(["create", "-d", "none", "--url", url, "n1"], env)
    assert r.returncode == 0, r.stderr
    assert run_cli(["url", "n1"], env).stdout == url + "\n"
    ls = run_cli(["ls", "--format", "{{.Name}} {{.State}} {{.URL}}|{{.Error}}"], env, timeout=60)
    assert ls.returncode == 0 and "Traceback" not in ls.stderr
    [row] = ls.stdout.splitlines()
    assert row.startswith(f"n1 Running {url}|") and row.split("|", 1)[1]  # the dial's failure, said in the row
    if url in ("none", "url1", "tcp://:2376"):
        assert "missing address" in row  # never looked up or dialled
    env_out = run_cli(["env", "n1"], env, timeout=60)
    assert env_out.returncode == 1 and "Traceback" not in env_out.stderr
    assert env_out.stderr.count("\n") <= 4 and "Error checking TLS connection" in env_out.stderr
    assert run_cli(["rm", "-y", "n1"], env).returncode == 0
    assert not os.path.exists(os.path.join(store, "machines", "n1"))
