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


@pytest.mark.parametrize("driver,module,extra,flags", [
    ("amazonec2", "botocore", "aws", ["--amazonec2-access-key", "AKIAEXAMPLE", "--amazonec2-secret-key", "s"]),
    ("digitalocean", "pydo", "digitalocean", ["--digitalocean-access-token", "t"]),
    ("openstack", "openstack", "openstack", ["--openstack-auth-url", "http://127.0.0.1:9/v3"]),
])
def test_a_cloud_without_its_extra_names_the_extra_and_the_command(store, tmp_path, driver, module, extra, flags):
    hidden = tmp_path / "hidden"
    for name in ("boto3", "botocore", "pydo", "openstack"):
        (hidden / name).mkdir(parents=True)
        (hidden / name / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    env = clean_env(store, PYTHONPATH=str(hidden))
    r = run_cli(["create", "-d", driver, *flags, "m"], env)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert f"pip install 'machine-tui[{extra}]'" in r.stderr and "unexpected" not in r.stderr, r.stderr
    assert "No module named" not in r.stderr


def test_the_install_hint_fits_the_installer(monkeypatch):
    from machine_tui.core import extras

    monkeypatch.setattr(extras.sys, "prefix", "/home/u/.local/share/pipx/venvs/machine-tui")
    assert extras.install_hint("aws") == "pipx inject machine-tui boto3"
    monkeypatch.setattr(extras.sys, "prefix", "/home/u/.local/share/uv/tools/machine-tui")
    assert extras.install_hint("aws") == "uv tool install --force 'machine-tui[aws]'"
    monkeypatch.setattr(extras.sys, "prefix", "/usr")
    assert extras.install_hint("serve") == "pip install 'machine-tui[serve]'"


def test_a_stray_file_in_machines_is_named_when_it_holds_a_name(store):
    env = clean_env(store)
    os.makedirs(os.path.join(store, "machines"))
    stray = os.path.join(store, "machines", "foo")
    with open(stray, "w") as fh:
        fh.write("not a machine")
    r = run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "foo"], env)
    assert r.returncode == 1 and f"{stray} is in the way: it is not a machine folder" in r.stderr, r.stderr
    assert open(stray).read() == "not a machine"  # untouched


def test_app_and_build_image_refuse_extra_arguments(store, tmp_path):
    env = clean_env(store)
    for args in (["app", "extra"], ["build-image", "extra"]):
        r = run_cli(args, env)
        assert r.returncode == 1 and r.stderr == "Invalid command line. Found extra arguments [extra]\n", r.stderr


def test_build_image_whose_output_folder_cannot_be_made_leaves_no_temporary_folder(store, tmp_path):
    import glob

    blocker = tmp_path / "file"
    blocker.write_text("")
    before = set(glob.glob("/var/tmp/mt-image.*"))
    r = run_cli(["build-image", "--output", str(blocker / "images")], clean_env(store))
    assert r.returncode == 1 and "Error building the image" in r.stderr and "Traceback" not in r.stderr
    assert set(glob.glob("/var/tmp/mt-image.*")) == before


def test_global_options_and_no_command_on_a_terminal_open_the_app_on_that_store(tmp_path):
    """`machine-tui -s PATH` in a terminal: the app on PATH (not the help); q quits it."""
    import pty
    import select
    import subprocess
    import sys
    import time

    store = str(tmp_path / "other-store")
    env = clean_env(store, TERM="xterm-256color", COLUMNS="100", LINES="30")
    env.pop("MACHINE_STORAGE_PATH")
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "machine_tui.cli", "-s", store], stdin=follower, stdout=follower,
                            stderr=follower, env=env, close_fds=True)
    os.close(follower)
    seen = b""
    try:
        deadline = time.monotonic() + 120  # a bound on waiting, not on speed: the test fails only if nothing came
        while time.monotonic() < deadline and store.encode()[-20:] not in seen.replace(b"\r\n", b""):
            ready, _, _ = select.select([leader], [], [], 1)
            if ready:
                try:
                    seen += os.read(leader, 65536)
                except OSError:
                    break
        assert b"\x1b[?1049h" in seen, seen[-500:]  # the full-screen app, not the help
        assert b"Usage:" not in seen
        os.write(leader, b"q")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)


@pytest.mark.parametrize("how", ["close", "reset"])
def test_an_engine_that_hangs_up_during_the_tls_check_is_told_with_a_reason(store, how):
    import socket
    import struct
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]

    def hang_up():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            if how == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    env = clean_env(store)
    try:
        assert run_cli(["create", "-d", "none", "--url", f"tcp://127.0.0.1:{port}", "m"], env).returncode == 0
        r = run_cli(["env", "m"], env)
    finally:
        server.close()
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert not first.rstrip().endswith(f"127.0.0.1:{port}:"), first  # never a colon and nothing after it
    assert "connection reset by peer" in first, first
