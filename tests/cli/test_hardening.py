"""The hardening items beyond plain bad input: the store's lock, SSH paths that used to fail silently, copies
between two machines on one address, offline messages, progress at 80 columns, the log file."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import subprocess
import sys
import time

from conftest import clean_env, run_cli
from imageserver import ImageServer

NONE = ["create", "-d", "none", "--url", "tcp://127.0.0.1:1"]


def machine_on_sshd(store_path: str, name: str, sshd) -> None:
    """A generic machine whose host is the test's sshd (made through the core, without provisioning that host)."""
    from machine_tui.core.operations import TLSFiles, build_host
    from machine_tui.core.store import Store

    store = Store(store_path)
    host, _ = build_host(store, name, "generic", {
        "generic-ip-address": "127.0.0.1", "generic-ssh-port": sshd.port, "generic-ssh-key": sshd.key,
        "generic-ssh-user": sshd.user, "generic-engine-port": 2376}, TLSFiles(), None)
    store.create_machine_dir(name)
    key = os.path.join(store.machine_dir(name), "id_rsa")
    shutil.copy(sshd.key, key)
    os.chmod(key, 0o600)
    host.driver_config["SSHKeyPath"] = key
    store.save(host)
    store.clear_create_marks(name)


def none_machine(tmp_path):
    """A store with the none machine `a`: (store path, env, its config.json path, its parsed config)."""
    store_path = str(tmp_path / "store")
    env = clean_env(store_path)
    assert run_cli(NONE + ["a"], env).returncode == 0
    cfg = os.path.join(store_path, "machines", "a", "config.json")
    return store_path, env, cfg, json.load(open(cfg))


def test_update_of_a_config_that_needs_migration_does_not_wait_for_itself(tmp_path):
    """Store.update locks, then load migrates (and locks again): re-entrant, it finishes."""
    store_path, env, cfg, doc = none_machine(tmp_path)
    doc["ConfigVersion"] = 2
    with open(cfg, "w") as fh:
        json.dump(doc, fh)
    code = ("import sys; from machine_tui.core.store import Store; "
            "Store(sys.argv[1]).update('a', lambda h: h.doc.update(Touched=1)); print('done')")
    r = subprocess.run([sys.executable, "-c", code, store_path], capture_output=True, text=True, timeout=30)
    assert r.stdout == "done\n", r.stderr
    assert json.load(open(cfg))["ConfigVersion"] == 3 and os.path.exists(cfg + ".bak")


def test_migration_never_writes_through_a_link_out_of_the_store(tmp_path):
    store_path = str(tmp_path / "store")
    env = clean_env(store_path)
    assert run_cli(NONE + ["a"], env).returncode == 0
    outside = tmp_path / "elsewhere"
    shutil.move(os.path.join(store_path, "machines", "a"), outside)
    os.symlink(outside, os.path.join(store_path, "machines", "a"))
    doc = json.load(open(outside / "config.json"))
    doc["ConfigVersion"] = 1
    (outside / "config.json").write_text(json.dumps(doc))
    before = (outside / "config.json").read_bytes()
    r = run_cli(["inspect", "a"], env)
    assert r.returncode == 0 and json.loads(r.stdout)["ConfigVersion"] == 3  # migrated in memory
    assert (outside / "config.json").read_bytes() == before and not (outside / "config.json.bak").exists()


def test_external_ssh_and_scp_name_a_changed_host_key(sshd, store, tmp_path):
    env = clean_env(store)
    machine_on_sshd(store, "h", sshd)
    assert run_cli(["ssh", "h", "true"], env).returncode == 0  # pins the key
    sshd.proc.terminate()
    sshd.proc.wait(5)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "new_host_key")], check=True)
    shutil.copy(tmp_path / "new_host_key", sshd.host_key)
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(sshd.folder / "sshd_config")],
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        pinned = os.path.join(store, "machines", "h", "known_hosts")
        for argv, code in ((["ssh", "h", "true"], 255), (["scp", "/etc/hostname", "h:/tmp/x"], 1),
                           (["--native-ssh", "ssh", "h", "true"], 1)):
            r = run_cli(argv, env)
            assert r.returncode == code, (argv, r.stderr)
            assert "is not the one pinned at first contact" in r.stderr and f"rm {pinned}" in r.stderr, r.stderr
            assert "Traceback" not in r.stderr
    finally:
        proc.terminate()
        proc.wait(5)


def test_native_ssh_with_stdin_from_a_file_null_or_pipe(sshd, store, tmp_path):
    env = clean_env(store)
    machine_on_sshd(store, "h", sshd)
    for stdin, expected in ((subprocess.DEVNULL, ""), (open("/etc/hostname", "rb"), open("/etc/hostname").read())):
        r = subprocess.run([sys.executable, "-m", "machine_tui.cli", "--native-ssh", "ssh", "h", "--", "cat"],
                           env=env, stdin=stdin, capture_output=True, text=True, timeout=60)
        assert (r.returncode, r.stdout, r.stderr) == (0, expected, "")
    r = subprocess.run([sys.executable, "-m", "machine_tui.cli", "--native-ssh", "ssh", "h", "--", "cat"],
                       env=env, input="piped\n", capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, "piped\n", "")
    r = run_cli(["--native-ssh", "ssh", "h", "--", "exit 7"], env)
    assert r.returncode == 7 and r.stderr == ""


def test_scp_between_two_machines_on_one_address_uses_each_ones_port(sshd, tmp_path_factory, store, tmp_path):
    """Two machines on 127.0.0.1 with different SSH ports (two qemu VMs look like this): each end keeps its port."""
    from conftest import start_sshd

    other = start_sshd(tmp_path_factory.mktemp("second"))
    try:
        env = clean_env(store)
        machine_on_sshd(store, "one", sshd)
        machine_on_sshd(store, "two", other)
        src, dst = tmp_path / "src file", tmp_path / "dst file"
        src.write_text("from one\n")
        r = run_cli(["scp", f"one:{src}", f"two:{dst}"], env)
        assert r.returncode == 0, r.stderr
        assert dst.read_text() == "from one\n" and src.read_text() == "from one\n"  # the source is intact
        log = (other.folder / "sshd.log").read_text()
        assert "Accepted publickey" in log  # the copy reached the second machine's own server
        r = run_cli(["scp", "-d", str(src), f"two:{tmp_path / 'delta'}"], env)
        assert r.returncode == 0 and (tmp_path / "delta").read_text() == "from one\n", r.stderr
    finally:
        other.proc.terminate()
        other.proc.wait(5)


def test_debug_shows_the_commands_sent_over_ssh_with_secrets_redacted(sshd, store):
    env = clean_env(store)
    machine_on_sshd(store, "h", sshd)
    r = run_cli(["--debug", "provision", "h"], {**env, "MACHINE_WAIT_RETRIES": "1"})
    assert "SSH cmd on " in r.stderr and "cat /etc/os-release" in r.stderr, r.stderr[-2000:]
    from machine_tui.core.logfile import redact

    assert redact("export TOKEN=abc123 password: hunter2") == "export TOKEN=<REDACTED> password: <REDACTED>"


def test_offline_qemu_create_names_the_unreachable_host(store, tmp_path):
    env = clean_env(store)
    with ImageServer(str(tmp_path)) as srv:
        url = srv.url("debian.qcow2")  # the server is gone once the block ends: nothing answers there
    r = run_cli(["create", "-d", "qemu", "--qemu-image-url", url, "q"], env, timeout=120)
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr
    assert "cannot reach 127.0.0.1 to fetch the image" in r.stderr and "--qemu-local-image" in r.stderr, r.stderr
    assert "no checksum" not in r.stderr


def test_a_create_in_progress_reads_starting_not_timeout(store, tmp_path):
    env = clean_env(store, MACHINE_WAIT_RETRIES="100")
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    proc = subprocess.Popen([sys.executable, "-m", "machine_tui.cli", "create", "-d", "generic",
                             "--generic-ip-address", "127.0.0.1", "--generic-ssh-port", "1",
                             "--generic-ssh-key", str(key), "w"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not os.path.exists(os.path.join(store, "machines", "w", "config.json")):
            time.sleep(0.05)
        assert run_cli(["ls", "-t", "0", "--format", "{{.Name}} {{.State}}"], env).stdout == "w Starting\n"
    finally:
        proc.kill()
        proc.wait()
    assert run_cli(["ls", "-t", "0", "--format", "{{.Name}} {{.State}}"], env).stdout == "w Error\n"


def test_progress_bars_keep_their_bar_and_time_at_80_columns(monkeypatch):
    from machine_tui.cli.progress import RichProgressSink
    from machine_tui.core.events import Event

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setenv("COLUMNS", "80")
    out = Terminal()
    with RichProgressSink(out, io.StringIO()) as sink:
        sink(Event("step", "Waiting for machine to be running, this may take a few minutes...",
                   machine="a-rather-long-machine-name", step="state"))
        sink(Event("progress", "", machine="a-rather-long-machine-name", step="state", fraction=0.5))
    last = out.getvalue().rstrip().split("\r")[-1]
    assert "0:00:0" in last and "━━━━━━━━━━" in last and "…" in last, repr(last)


def test_the_log_keeps_errors_rotates_and_stays_private(tmp_path):
    store = str(tmp_path / "store")
    logs = tmp_path / "logs"
    env = clean_env(store, MACHINE_TUI_LOG_DIR=str(logs))
    r = run_cli(["inspect", "nosuch"], env)
    assert r.returncode == 1
    log = logs / "machine-tui.log"
    assert 'ERROR Docker machine "nosuch" does not exist' in log.read_text()
    assert oct(os.stat(log).st_mode & 0o777) == "0o600" and oct(os.stat(logs).st_mode & 0o777) == "0o700"
    with open(log, "a") as fh:
        fh.write("x" * (2 * 1024 * 1024))
    run_cli(["inspect", "nosuch2"], env)
    assert (logs / "machine-tui.log.1").stat().st_size > 2 * 1024 * 1024
    assert "nosuch2" in log.read_text() and log.stat().st_size < 10_000


def test_every_pair_and_store_file_is_private(tmp_path):
    store = str(tmp_path / "store")
    env = clean_env(store)
    assert run_cli(NONE + ["a"], env).returncode == 0
    assert run_cli(["regenerate-certs", "-f", "--client-certs", "a"], {**env, "MACHINE_WAIT_RETRIES": "1"}) \
        .returncode == 1  # the none machine cannot be provisioned; the client pair is new all the same
    for folder, dirs, files in os.walk(store):
        for d in dirs:
            assert os.stat(os.path.join(folder, d)).st_mode & 0o777 == 0o700, d
        for f in files:
            mode = os.stat(os.path.join(folder, f)).st_mode & 0o777
            assert mode in ((0o644,) if f in ("ca.pem", "cert.pem") else (0o600,)), (f, oct(mode))
        assert not [f for f in files if f.endswith((".next", ".pair-commit"))]
    asyncio.run(asyncio.sleep(0))


def test_messages_use_the_name_the_user_typed(tmp_path):
    launcher = tmp_path / "docker-machine"
    launcher.write_text(f"#!{sys.executable}\nfrom machine_tui.cli.main import main\nmain()\n")
    launcher.chmod(0o755)
    env = clean_env(str(tmp_path / "store"))
    r = subprocess.run([str(launcher), "inspect", "nosuch"], env=env, capture_output=True, text=True)
    assert r.stderr == ('Docker machine "nosuch" does not exist. Use "docker-machine ls" to list machines. '
                        'Use "docker-machine create" to add a new one.\n')
    r = run_cli(["inspect", "nosuch"], env)
    assert 'Use "machine-tui ls"' in r.stderr


def test_a_driver_failure_in_ls_is_words_not_a_python_class_name(tmp_path):
    _, env, cfg, doc = none_machine(tmp_path)
    doc["DriverName"], doc["Driver"]["SSHPort"], doc["Driver"]["IPAddress"] = "generic", "x", "127.0.0.1"
    with open(cfg, "w") as fh:
        json.dump(doc, fh)
    r = run_cli(["ls", "--format", "{{.Name}}|{{.State}}|{{.Error}}"], env)
    name, state, error = r.stdout.strip().split("|")
    assert r.returncode == 0 and state == "Error" and error, r.stdout
    assert not error.split(":")[0].endswith(("Error", "Exception")), error  # no "ValueError: ..."


async def test_what_is_done_in_the_app_is_in_the_log(store, tmp_path, monkeypatch):
    import logging

    from machine_tui.core import logfile
    from machine_tui.core.store import Store
    from machine_tui.tui.app import MachineTable, MachineTuiApp

    assert run_cli(NONE + ["gone"], clean_env(store)).returncode == 0
    monkeypatch.setenv("MACHINE_TUI_LOG_DIR", str(tmp_path / "applogs"))
    logger = logging.getLogger("machine-tui")
    saved = list(logger.handlers)
    logger.handlers.clear()
    monkeypatch.setattr(logfile, "_logger", None)
    try:
        app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
        async with app.run_test(size=(120, 30)) as pilot:
            table = app.query_one(MachineTable)
            while table.row_count == 0:
                await pilot.pause(0.1)
            await pilot.press("x", "y")  # stop a none machine (yes, asked first): refused, the refusal logged too
            await pilot.press("d", *"gone", "enter")
            for _ in range(50):
                if not os.path.exists(os.path.join(store, "machines", "gone")):
                    break
                await pilot.pause(0.1)
        text = (tmp_path / "applogs" / "machine-tui.log").read_text()
        assert "INFO app: stop gone" in text and "ERROR app: gone: hosts without a driver cannot be stopped" in text
        assert "INFO app: remove gone" in text
    finally:
        for h in logger.handlers:
            h.close()
        logger.handlers[:] = saved
