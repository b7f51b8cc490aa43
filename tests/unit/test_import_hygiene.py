"""The import rules, checked where they matter: in a fresh interpreter, as a user's process starts.

import-linter (scripts/check-code) proves the rules on the static graph; these prove them at run time, where a
lazy import inside a function also counts."""

import json
import pkgutil
import subprocess
import sys

import machine_tui.core

FRONT_ENDS_AND_UI = ("textual", "rich", "machine_tui.cli", "machine_tui.tui")


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(machine_tui.core.__path__, "machine_tui.core."))


def loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_no_core_module_brings_a_front_end_textual_or_rich():
    modules = core_modules()
    assert "machine_tui.core.drivers.virtualbox.vboxmanage" in modules and len(modules) > 40
    # every module in one fresh process: if the union holds none of them, no single module does
    loaded = loaded_after("import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules))
    leaked = sorted(m for m in loaded if m.split(".")[0] in FRONT_ENDS_AND_UI or m.startswith(FRONT_ENDS_AND_UI))
    assert not leaked


def test_the_cli_hot_paths_load_no_asyncio_ssh_or_ui():
    """--version, env, ls -q, config and url answer from the store: no event loop, SSH, Textual or Rich to load
    before they do (measured against docker-machine in bench/bench_cli.py)."""
    loaded = loaded_after("import machine_tui.cli.main, machine_tui.cli.commands")
    for heavy in ("asyncio", "asyncssh", "textual", "rich", "cryptography", "logging.handlers"):
        assert heavy not in loaded, heavy


def test_the_app_reaches_drivers_and_ssh_only_through_the_application_layer():
    loaded = loaded_after("import machine_tui.tui.app, machine_tui.tui.wizard, machine_tui.tui.console")
    for module in ("machine_tui.core.ssh", "machine_tui.core.provisioning", "asyncssh",
                   "machine_tui.core.drivers.qemu", "machine_tui.core.drivers.virtualbox"):
        assert module not in loaded, module


def test_ls_q_loads_the_drivers_but_no_event_loop(tmp_path):
    """`ls -q` reads the store (and so the driver table) and starts no loop: asyncio is some 35 ms of its start."""
    import os

    env = {**os.environ, "MACHINE_STORAGE_PATH": str(tmp_path / "store")}
    code = ("import sys\nfrom machine_tui.cli.main import main\nsys.argv = ['machine-tui', 'ls', '-q']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nimport json\nprint(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    assert "machine_tui.core.service.listing" in loaded and "asyncio" not in loaded


def test_the_quick_reads_of_a_machine_that_answers_from_its_record_load_no_event_loop(tmp_path):
    """url, status, ip, env and config of a none machine (its URL is in its record; env and config check TLS on a
    blocking socket) load no asyncio, no logging and no platformdirs; the answers are those of the event-loop path."""
    import os

    from fakeengine import FakeEngine
    from vmrig import free_port

    store = str(tmp_path / "store")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MACHINE_", "DOCKER_"))}
    env.update(MACHINE_STORAGE_PATH=store, SHELL="/bin/bash", MACHINE_TUI_LOG_DIR=str(tmp_path / "logs"))
    port = free_port()
    made = subprocess.run([sys.executable, "-m", "machine_tui.cli", "create", "-d", "none", "--url",
                           f"tcp://127.0.0.1:{port}", "n1"], env=env, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr

    def loaded_by(*args: str) -> tuple[set[str], str]:
        code = ("import sys, io, json\nfrom machine_tui.cli.main import main\n"
                f"sys.argv = ['machine-tui', *{list(args)!r}]\nreal, sys.stdout = sys.stdout, io.StringIO()\n"
                "try:\n    main()\nexcept SystemExit:\n    pass\nsaid, sys.stdout = sys.stdout.getvalue(), real\n"
                "print(json.dumps([sorted(sys.modules), said]))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
        modules, said = json.loads(out.splitlines()[-1])
        return set(modules), said

    with FakeEngine(store, "127.0.0.1", port):
        for args, answer in ((["url", "n1"], f"tcp://127.0.0.1:{port}\n"), (["status", "n1"], "Running\n"),
                             (["ip", "n1"], None), (["env", "n1"], f'export DOCKER_HOST="tcp://127.0.0.1:{port}"'),
                             (["config", "n1"], "--tlsverify\n")):
            loaded, said = loaded_by(*args)
            assert answer is None or answer in said, (args, said)
            for heavy in ("asyncio", "logging", "platformdirs", "concurrent.futures"):
                assert heavy not in loaded, (args, heavy)


def test_a_quick_read_that_waits_after_all_or_needs_a_loop_still_answers():
    """run_at_once runs a coroutine without a loop; one that waits is carried on by a loop from where it stands,
    one that asks for the running loop before it waits is run again under one, and an error is the coroutine's."""
    import asyncio

    import pytest
    from machine_tui.cli.context import run_at_once

    steps = []

    async def waits():
        steps.append("before")
        await asyncio.sleep(0)  # a bare yield: it needs no loop to wait, so the loop carries it on
        steps.append("after")
        await asyncio.sleep(0.01)
        return 42

    async def needs_loop():
        asyncio.get_running_loop()
        return 9

    async def fails():
        raise ValueError("the coroutine's own")

    async def quick():
        return 7

    assert run_at_once(quick) == 7
    assert run_at_once(waits) == 42 and steps == ["before", "after"]  # carried on, not started twice
    assert run_at_once(needs_loop) == 9
    with pytest.raises(ValueError, match="the coroutine's own"):
        run_at_once(fails)


def test_the_quick_commands_load_nothing_typing_heavy_in_a_bare_interpreter(tmp_path):
    """In an interpreter without site-packages (a venv of a plain install starts close to that; this machine's
    site loads typing before any program), `--version`, `version`, `url`, `status`, `ip`, `inspect`, `ls -q`, `env`,
    `config` and `active` of a none machine load no typing, dataclasses, inspect or urllib.parse: some 30 ms of a command
    that docker-machine answers in about 20 (bench/bench_cli.py)."""
    import os

    from fakeengine import FakeEngine
    from vmrig import free_port

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    package = tmp_path / "path" / "machine_tui"
    package.mkdir(parents=True)
    for name in ("__init__.py", "__main__.py"):
        (package / name).write_text(open(os.path.join(root, "entry", name)).read())
    for sub in ("core", "cli"):
        (package / sub).symlink_to(os.path.join(root, sub))
    store = str(tmp_path / "store")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MACHINE_", "DOCKER_", "PYTHON"))}
    env.update(MACHINE_STORAGE_PATH=store, SHELL="/bin/bash", MACHINE_TUI_LOG_DIR=str(tmp_path / "logs"))
    port = free_port()
    made = subprocess.run([sys.executable, "-m", "machine_tui.cli", "create", "-d", "none", "--url",
                           f"tcp://127.0.0.1:{port}", "n1"], env={**env, "PYTHONPATH": str(tmp_path / "path")},
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    code = ("import sys, io, json\nsys.path.insert(0, sys.argv.pop(1))\nbefore = set(sys.modules)\n"
            "from machine_tui.cli.main import main\nsys.argv[0] = 'machine-tui'\n"
            "real, sys.stdout = sys.stdout, io.StringIO()\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nsaid, sys.stdout = sys.stdout.getvalue(), real\n"
            "print(json.dumps([sorted(set(sys.modules) - before), said]))")
    with FakeEngine(store, "127.0.0.1", port):
        for args, answer in ((["--version"], "machine-tui version"), (["version"], "machine-tui version"),
                             (["url", "n1"], f"tcp://127.0.0.1:{port}\n"), (["status", "n1"], "Running\n"),
                             (["ip", "n1"], "127.0.0.1"), (["inspect", "n1"], '"DriverName": "none"'),
                             (["ls", "-q"], "n1\n"), (["env", "n1"], f'export DOCKER_HOST="tcp://127.0.0.1:{port}"'),
                             (["config", "n1"], "--tlsverify\n"), (["active"], "n1\n")):
            out = subprocess.run([sys.executable, "-S", "-c", code, str(tmp_path / "path"), *args],
                                 env={**env, "DOCKER_HOST": f"tcp://127.0.0.1:{port}"}, capture_output=True, text=True)
            assert out.returncode == 0, (args, out.stderr)
            loaded, said = json.loads(out.stdout.splitlines()[-1])
            assert answer in said, (args, said)
            heavy = sorted(set(loaded) & {"typing", "dataclasses", "inspect", "urllib.parse", "asyncio", "logging"})
            assert not heavy, (args, heavy)


def test_ls_over_none_machines_asks_their_engines_without_an_event_loop_and_says_what_the_loop_says(tmp_path):
    """`ls` where every driver answers from its record (none) starts no loop (asyncio was most of a short listing's
    start, 3.4x docker-machine's at one machine); its lines are those of the event-loop listing: an engine that
    answers, one that is closed, one that never accepts (its deadline), several asked at once."""
    import os
    import socket

    from fakeengine import FakeEngine
    from machine_tui.core.service import listing
    from machine_tui.core.store import Store
    from vmrig import free_port

    store = str(tmp_path / "store")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MACHINE_", "DOCKER_"))}
    env.update(MACHINE_STORAGE_PATH=store, MACHINE_TUI_LOG_DIR=str(tmp_path / "logs"))
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)  # accepts in the kernel, never answers: a TLS handshake that waits out the deadline
    up = free_port()
    urls = {"a-up": f"tcp://127.0.0.1:{up}", "b-closed": "tcp://127.0.0.1:1",
            "c-silent": f"tcp://127.0.0.1:{hole.getsockname()[1]}", "d-up": f"tcp://127.0.0.1:{up}"}
    for name, url in urls.items():
        made = subprocess.run([sys.executable, "-m", "machine_tui.cli", "create", "-d", "none", "--url", url, name],
                              env=env, capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
    code = ("import sys, io, json\nfrom machine_tui.cli.main import main\n"
            "sys.argv = ['machine-tui', 'ls', '-t', '1']\nreal, sys.stdout = sys.stdout, io.StringIO()\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nsaid, sys.stdout = sys.stdout.getvalue(), real\n"
            "print(json.dumps([sorted(sys.modules), said]))")
    with FakeEngine(store, "127.0.0.1", up):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        modules, said = json.loads(out.stdout.splitlines()[-1])
        import asyncio

        looped = asyncio.run(listing.list_machines(Store(store), 1.0, docker_host=""))
        at_once = listing.list_machines_at_once(Store(store), 1.0, docker_host="")
    hole.close()
    assert "asyncio" not in set(modules)
    lines = said.splitlines()
    assert lines[0].split()[:3] == ["NAME", "ACTIVE", "DRIVER"] and len(lines) == 5
    assert "no answer within 1 s" in lines[3] and "Cannot connect to the docker engine endpoint" in lines[2]
    assert at_once is not None
    assert [(r.Name, r.State, r.URL, r.DockerVersion, r.Error, r.Active) for r in at_once] == \
           [(r.Name, r.State, r.URL, r.DockerVersion, r.Error, r.Active) for r in looped]
    assert listing.render(at_once) == listing.render(looped) == said
