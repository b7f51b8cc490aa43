"""kill -9 at random moments of create, rm and regenerate-certs: the store always loads, no file is torn, an
interrupted create reads Error with the step it stopped during, rm -f cleans it up and the next create works."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

from conftest import assert_store_sound, clean_env, kill_after, run_cli, start_cli

NONE = ["create", "-d", "none", "--url", "tcp://127.0.0.1:1"]


def timed(args, env) -> float:
    started = time.monotonic()
    assert run_cli(args, env).returncode == 0
    return time.monotonic() - started


def test_create_killed_at_random_moments_reads_error_and_is_removable(tmp_path):
    rng = random.Random(11)
    # kill moments spread over the whole of a create as long as it takes on this machine (with and without the CA)
    probe = clean_env(str(tmp_path / "probe"))
    first, later = timed(NONE + ["p1"], probe), timed(NONE + ["p2"], probe)
    runs = interrupted = 0
    # a create that finished before its kill moment shortens the later ones: on a machine whose load comes and
    # goes, the moments stay within the creates however long these take
    shorter = 1.0
    for i in range(60):
        if runs >= 30 and interrupted >= 15:
            break
        store = str(tmp_path / f"s{i % 6}")  # every sixth run starts on an empty store: the CA is made then
        env = clean_env(store)
        name = f"m{i}"
        proc = start_cli(NONE + [name], env)
        was_running = kill_after(proc, rng.uniform(0.02, 0.8 * shorter * (first if i < 6 else later)))
        runs += 1
        interrupted += was_running
        if not was_running:
            shorter *= 0.7
        rows = assert_store_sound(store, env)
        if name in rows:
            row = rows[name]
            if was_running:
                assert row[2:4] in (["none", "Error"], ["found", "Error"]) or row[3] == "Running", row
                if row[3] == "Error":
                    detail = run_cli(["ls", "--format", "{{.Error}}", "--filter", f"name=^{name}$"], env).stdout
                    assert "create did not finish (stopped during: " in detail, detail
                    assert run_cli(["status", name], env).stdout.strip() == "Error"
            else:
                assert proc.returncode == 0 and row[3] == "Running", (proc.stderr.read(), row)
        r = run_cli(["rm", "-f", "-y", name], env)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
        assert not os.path.exists(os.path.join(store, "machines", name))
        if i % 6 == 5 or (was_running and i < 6):
            r = run_cli(NONE + [f"next{i}"], env)
            assert r.returncode == 0, r.stderr  # an interrupted create never blocks the next one
            assert rows_of(env)[f"next{i}"][3] == "Running"
    assert interrupted >= 15, f"only {interrupted} of {runs} runs were cut short: the delays need retuning"


def rows_of(env):
    r = run_cli(["ls"], env)
    return {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:]}


def test_an_interrupted_create_names_its_step_and_provision_or_rm_clears_it(tmp_path):
    """A create held in its wait for the machine (nothing listens on its SSH port), killed there."""
    store = str(tmp_path / "store")
    env = clean_env(store, MACHINE_WAIT_RETRIES="100")
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    args = ["create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-port", "1",
            "--generic-ssh-key", str(key)]
    for name in ("w1", "w2"):
        proc = start_cli(args + [name], env)
        deadline = time.monotonic() + 60
        mark = os.path.join(store, "machines", name, ".machine-tui-creating")
        while time.monotonic() < deadline and not (os.path.exists(mark) and b"Waiting for machine" in open(mark, "rb").read()):
            time.sleep(0.05)
        assert rows_of(env)[name][3] != "Error"  # still running: not an error yet
        proc.kill()
        proc.wait()
    r = run_cli(["ls", "--format", "{{.Name}} {{.State}} {{.Error}}"], env)
    step = "Waiting for machine to be running, this may take a few minutes"
    assert r.stdout.splitlines() == [f"w1 Error create did not finish (stopped during: {step})",
                                     f"w2 Error create did not finish (stopped during: {step})"], r.stdout
    assert run_cli(["status", "w1"], env).stdout == "Error\n"
    # provision takes over: the mark goes whether or not provisioning then succeeds (nothing listens here)
    r = run_cli(["provision", "w1"], {**env, "MACHINE_WAIT_RETRIES": "1"})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert not os.path.exists(os.path.join(store, "machines", "w1", ".machine-tui-creating"))
    row = run_cli(["ls", "--format", "{{.Name}} {{.State}} {{.Error}}", "--filter", "name=w1"], env).stdout
    assert row.startswith("w1 Error Error provisioning: ") and "create did not finish" not in row, row
    assert run_cli(["rm", "-f", "-y", "w2"], env).returncode == 0
    assert not os.path.exists(os.path.join(store, "machines", "w2"))


def test_rm_and_regenerate_certs_killed_at_random_moments(tmp_path):
    rng = random.Random(5)
    store = str(tmp_path / "store")
    env = clean_env(store)
    assert run_cli(NONE + ["probe"], env).returncode == 0
    rm_time = timed(["rm", "-y", "probe"], env)
    shorter = 1.0  # a run that finished before its kill moment shortens the later ones (the load comes and goes)
    cut = 0
    for i in range(24):
        if i >= 12 and cut >= 6:
            break
        assert run_cli(NONE + [f"r{i}"], env).returncode == 0
        proc = start_cli(["rm", "-y", f"r{i}"], env)
        was_running = kill_after(proc, rng.uniform(0.02, 0.8 * shorter * rm_time))
        cut += was_running
        shorter *= 1.0 if was_running else 0.7
        rows = assert_store_sound(store, env)
        if f"r{i}" in rows:
            assert run_cli(["rm", "-f", "-y", f"r{i}"], env).returncode == 0
        assert f"r{i}" not in rows_of(env)
    leftovers = [e for e in os.listdir(os.path.join(store, "machines")) if e.startswith(".")]
    assert not leftovers, leftovers  # half-removed folders of killed removes are swept by the next rm
    assert run_cli(NONE + ["keep"], env).returncode == 0
    started = time.monotonic()
    run_cli(["regenerate-certs", "-f", "--client-certs", "keep"], {**env, "MACHINE_WAIT_RETRIES": "1"})
    regen_time = time.monotonic() - started
    interrupted, shorter = cut, 1.0
    for i in range(24):
        if i >= 12 and interrupted - cut >= 6:
            break
        proc = start_cli(["regenerate-certs", "-f", "--client-certs", "keep"], {**env, "MACHINE_WAIT_RETRIES": "1"})
        was_running = kill_after(proc, rng.uniform(0.02, 0.8 * shorter * regen_time))
        interrupted += was_running
        shorter *= 1.0 if was_running else 0.7
        assert_store_sound(store, env)  # the client pair is the old one or the new one, never one of each
        r = run_cli(["config", "keep"], env)  # reads the pair (the engine itself is not there)
        assert "Traceback" not in r.stderr and "not a PEM" not in r.stderr and "does not belong" not in r.stderr, \
            r.stderr
    assert cut >= 6 and interrupted - cut >= 6, (cut, interrupted)  # each kind cut short at least six times


def test_a_lone_key_from_an_older_interrupted_create_is_certified_not_refused(tmp_path):
    store = str(tmp_path / "store")
    env = clean_env(store)
    assert run_cli(NONE + ["a"], env).returncode == 0
    os.unlink(os.path.join(store, "certs", "cert.pem"))  # what a kill between the two writes used to leave
    key_before = open(os.path.join(store, "certs", "key.pem")).read()
    r = run_cli(NONE + ["b"], env)
    assert r.returncode == 0, r.stderr
    assert "Client certificate is missing for the existing client key" in r.stdout
    assert open(os.path.join(store, "certs", "key.pem")).read() == key_before
    assert_store_sound(store, env)


def test_a_pair_replacement_cut_after_its_commit_point_is_finished_by_the_next_command(tmp_path):
    store = str(tmp_path / "store")
    env = clean_env(store)
    assert run_cli(NONE + ["a"], env).returncode == 0
    certs = os.path.join(store, "certs")
    # the state a kill leaves between the commit marker and the renames: new key in place, new cert not yet
    from machine_tui.core import certs as certlib

    certlib.regenerate_client(os.path.join(certs, "ca.pem"), os.path.join(certs, "ca-key.pem"),
                              os.path.join(certs, "x.pem"), os.path.join(certs, "x-key.pem"), lambda _: None)
    os.replace(os.path.join(certs, "x-key.pem"), os.path.join(certs, "key.pem.next"))
    os.replace(os.path.join(certs, "x.pem"), os.path.join(certs, "cert.pem.next"))
    with open(os.path.join(certs, "cert.pem.pair-commit"), "w") as fh:
        json.dump({"key": os.path.join(certs, "key.pem")}, fh)
    os.replace(os.path.join(certs, "key.pem.next"), os.path.join(certs, "key.pem"))  # one of the two renames
    assert run_cli(["ls"], env).returncode == 0
    assert not os.path.exists(os.path.join(certs, "cert.pem.pair-commit"))
    assert_store_sound(store, env)


async def test_the_app_shows_an_interrupted_create_and_provision_takes_over(tmp_path, monkeypatch):
    from machine_tui.core.store import Store
    from machine_tui.tui.app import MachineTable, MachineTuiApp

    store = str(tmp_path / "store")
    env = clean_env(store, MACHINE_WAIT_RETRIES="100")
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    proc = start_cli(["create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-port", "1",
                      "--generic-ssh-key", str(key), "cut"], env)
    mark = os.path.join(store, "machines", "cut", ".machine-tui-creating")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (os.path.exists(mark) and b"Waiting" in open(mark, "rb").read()):
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    monkeypatch.setenv("MACHINE_WAIT_RETRIES", "1")
    app = MachineTuiApp(Store(store), poll_interval=0.3, timeout=2)
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.query_one(MachineTable)
        for _ in range(50):
            if table.row_count:
                break
            await pilot.pause(0.1)
        assert str(table.get_cell("cut", "STATE")) == "Error"
        assert "create did not finish (stopped during: Waiting for machine" in str(table.get_cell("cut", "ERRORS"))
        await pilot.press("P")  # provision takes over from the create (it then waits for SSH: nothing listens)
        for _ in range(100):
            if "create did not finish" not in str(table.get_cell("cut", "ERRORS")):
                break
            await pilot.pause(0.1)
        assert "create did not finish" not in str(table.get_cell("cut", "ERRORS"))
        assert not os.path.exists(mark)
        await pilot.press("d", *"cut", "enter")
        for _ in range(100):
            if not os.path.exists(os.path.join(store, "machines", "cut")):
                break
            await pilot.pause(0.1)
        assert not os.path.exists(os.path.join(store, "machines", "cut"))


def test_a_create_killed_before_its_first_save_reads_error_everywhere(tmp_path):
    """The narrowest window: the machine folder has appeared (with its mark) but no config.json yet."""
    store = str(tmp_path / "store")
    env = clean_env(store)
    assert run_cli(NONE + ["a"], env).returncode == 0
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    os.makedirs(os.path.join(store, "machines", "b"), 0o700)
    with open(os.path.join(store, "machines", "b", ".machine-tui-creating"), "w") as fh:
        json.dump({"pid": int(gone.stdout), "start": "1", "step": "Creating machine"}, fh)
    rows = rows_of(env)
    assert rows["b"][3] == "Error" and "create did not finish (stopped during: Creating machine)" in " ".join(rows["b"])
    assert run_cli(["status", "b"], env).stdout == "Error\n"
    assert run_cli(["rm", "-f", "-y", "b"], env).returncode == 0
    assert sorted(rows_of(env)) == ["a"]


def test_ctrl_c_during_a_create_removes_what_it_made_and_says_so(tmp_path):
    """Ctrl-C (SIGINT) while the create waits for the machine: the machine and what its driver made are removed,
    and the terminal is told, as the app's `z` does."""
    import signal

    store = str(tmp_path / "store")
    env = clean_env(store, MACHINE_WAIT_RETRIES="100")
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    proc = start_cli(["create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-port", "1",
                      "--generic-ssh-key", str(key), "--no-docker-context", "c1"], env)
    mark = os.path.join(store, "machines", "c1", ".machine-tui-creating")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (os.path.exists(mark) and b"Waiting" in open(mark, "rb").read()):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert b"Interrupted: removing c1 and what its create made..." in err and b"Removed c1" in err, err
    assert not os.path.exists(os.path.join(store, "machines", "c1"))
    assert run_cli(["ls", "-q"], env).stdout == ""


def test_ctrl_c_during_a_batch_removes_the_creates_under_way_and_keeps_the_finished(tmp_path):
    import signal

    store = str(tmp_path / "store")
    env = clean_env(store, MACHINE_WAIT_RETRIES="100")
    assert run_cli(NONE + ["done1"], env).returncode == 0  # made before: never touched
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    proc = start_cli(["create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-port", "1",
                      "--generic-ssh-key", str(key), "--no-docker-context", "--parallel", "2", "--batch",
                      "b1", "b2", "b3"], env)
    marks = [os.path.join(store, "machines", n, ".machine-tui-creating") for n in ("b1", "b2")]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not all(os.path.exists(m) and b"Waiting" in open(m, "rb").read()
                                                  for m in marks):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert b"Removed b1" in err and b"Removed b2" in err, err
    assert run_cli(["ls", "-q"], env).stdout.split() == ["done1"]  # b3 never started: nothing of it either
