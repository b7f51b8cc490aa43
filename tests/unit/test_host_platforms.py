"""The host-platform seam (core/hostos.py) with Windows' behaviours simulated on Linux: what the store does there is
checked here, what cannot run here (the console's raw mode, QEMU's monitor socket) is type-checked for win32 and
darwin by scripts/check-code. On Windows `os.kill(pid, 0)` ends the process it names: listing a store must never
call it."""

from __future__ import annotations

import json
import os
import sys

import pytest
from machine_tui.core import hostos
from machine_tui.core.store import CREATING_FILE, Store, create_problem


def test_a_create_running_elsewhere_is_asked_of_windows_never_signalled(windows, tmp_path):
    folder = tmp_path / "m1"
    folder.mkdir()
    (folder / CREATING_FILE).write_text(json.dumps({"pid": os.getpid(), "start": "", "step": "Waiting for SSH"}))
    assert create_problem(str(folder)) == ""  # running: asked through OpenProcess, nothing signalled
    assert ("OpenProcess", os.getpid()) in windows.kernel.calls
    (folder / CREATING_FILE).write_text(json.dumps({"pid": 2 ** 22 + 12345, "start": "", "step": "Waiting for SSH"}))
    assert create_problem(str(folder)) == "create did not finish (stopped during: Waiting for SSH)"


def test_the_store_locks_with_msvcrt_where_there_is_no_fcntl(windows, tmp_path):
    from machine_tui.core.hostconfig import Host, new_host

    store = Store(str(tmp_path / "store"))
    os.makedirs(store.machine_dir("m1"))
    host = Host("m1", new_host("m1", "none", {"URL": "tcp://127.0.0.1:1"}, {}, {}, {}), store.machine_dir("m1"))
    store.save(host)
    store.update("m1", lambda h: h.doc["Driver"].update(URL="tcp://127.0.0.1:2"))
    assert store.load("m1").doc["Driver"]["URL"] == "tcp://127.0.0.1:2"
    assert windows.locks == [(1, 1), (0, 1), (1, 1), (0, 1)]  # locked and unlocked, twice


def _bump(path: str, n: int) -> None:
    store = Store(path)
    for i in range(n):
        store.update("m1", lambda h: h.engine.setdefault("Labels", []).append(f"w{os.getpid()}-{i}"))


def test_concurrent_writers_never_lose_an_update_with_the_windows_lock(windows, tmp_path, monkeypatch):
    """Four processes (forked with Windows' behaviours in place) update one machine 25 times each through
    msvcrt.locking, here a real byte-range lock: no update is lost."""
    import types

    from machine_tui.core.hostconfig import Host, new_host

    monkeypatch.delitem(sys.modules, "fcntl")  # the fixture made it absent; the fake below locks with it
    import fcntl as posix_locks

    monkeypatch.setitem(sys.modules, "fcntl", None)

    def locking(fd: int, mode: int, nbytes: int) -> None:  # from the file's position, as msvcrt locks
        windows.locks.append((mode, nbytes))
        posix_locks.lockf(fd, posix_locks.LOCK_EX if mode == 1 else posix_locks.LOCK_UN, nbytes, 0, os.SEEK_CUR)

    monkeypatch.setitem(sys.modules, "msvcrt", types.SimpleNamespace(LK_LOCK=1, LK_UNLCK=0, locking=locking))
    store = Store(str(tmp_path / "store"))
    os.makedirs(store.machine_dir("m1"))
    store.save(Host("m1", new_host("m1", "none", {"URL": "tcp://127.0.0.1:1"}, {}, {}, {}), store.machine_dir("m1")))
    children = []
    for _ in range(4):  # os.fork: multiprocessing would take the Windows road it sees in sys.platform
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _bump(store.path, 25)
                code = 0
            except BaseException:
                import traceback

                traceback.print_exc()
            finally:
                os._exit(code)
        children.append(pid)
    assert [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children] == [0] * 4
    assert len(store.load("m1").engine["Labels"]) == 100


def test_no_core_module_imports_a_posix_only_module_at_import_time():
    """Outside the seam, fcntl, termios, pty, tty, grp, pwd and resource are imported inside the functions that use
    them (a platform check before), never at the top of a module."""
    import ast
    import pathlib

    root = pathlib.Path(hostos.__file__).parent
    posix_only = {"fcntl", "termios", "pty", "tty", "grp", "pwd", "resource"}
    found = []
    for path in root.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:  # top level only
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.relative_to(root)}: {n}" for n in names if n.split(".")[0] in posix_only]
    assert found == []


def cli_here(argv: list[str], capsys) -> tuple[int, str, str]:
    """The CLI in this process (so the simulated platform holds), as a user's shell runs it."""
    from machine_tui.cli.main import main

    with pytest.raises(SystemExit) as ended:
        main(argv)
    out, err = capsys.readouterr()
    return ended.value.code or 0, out, err


@pytest.mark.parametrize("started_by, flag, shell", [
    ("powershell.exe", [], "powershell"), ("pwsh.exe", [], "powershell"), ("cmd.exe", [], "cmd"),
    ("explorer.exe", [], "cmd"), ("cmd.exe", ["--shell", "powershell"], "powershell"),
    ("powershell.exe", ["--shell", "cmd"], "cmd")])
def test_env_on_windows_writes_for_the_shell_that_started_it(windows, tmp_path, monkeypatch, capsys, started_by,
                                                              flag, shell):
    from fakeengine import FakeEngine
    from machine_tui.core import hostos
    from vmrig import free_port

    monkeypatch.delenv("SHELL", raising=False)  # Windows has none: the parent process says which shell it is
    monkeypatch.setenv("COMSPEC", r"C:\Windows\system32\cmd.exe")
    monkeypatch.setattr(hostos, "parent_program", lambda: started_by)
    store, port = str(tmp_path / "store"), free_port()
    assert cli_here(["-s", store, "create", "-d", "none", "--url", f"tcp://127.0.0.1:{port}", "w1"], capsys)[0] == 0
    with FakeEngine(store, "127.0.0.1", port):
        code, out, err = cli_here(["-s", store, "env", *flag, "w1"], capsys)
    assert code == 0, err
    first = out.splitlines()[0]
    if shell == "powershell":
        assert first == '$Env:DOCKER_TLS_VERIFY = "1"', out
    else:
        assert first == "SET DOCKER_TLS_VERIFY=1", out
    assert windows.locks  # the store's writes locked through msvcrt


def test_the_everyday_commands_run_without_the_posix_only_modules(windows, tmp_path, monkeypatch, capsys):
    for module in ("termios", "pty", "tty", "grp", "pwd", "resource"):
        monkeypatch.setitem(sys.modules, module, None)  # `import X` raises, as on Windows
    store = str(tmp_path / "store")
    assert cli_here(["-s", store, "create", "-d", "none", "--url", "tcp://127.0.0.1:1", "w1"], capsys)[0] == 0
    code, out, _ = cli_here(["-s", store, "ls", "--format", "{{.Name}} {{.DriverName}} {{.State}}"], capsys)
    assert (code, out) == (0, "w1 none Running\n")
    code, out, _ = cli_here(["-s", store, "inspect", "w1"], capsys)
    assert code == 0 and json.loads(out)["DriverName"] == "none"
    assert cli_here(["-s", store, "url", "w1"], capsys)[:2] == (0, "tcp://127.0.0.1:1\n")
    assert cli_here(["-s", store, "rm", "-y", "w1"], capsys)[0] == 0
    assert cli_here(["-s", store, "ls", "-q"], capsys)[:2] == (0, "")


def test_a_vm_is_found_without_proc_as_on_macos(monkeypatch, tmp_path):
    """Where there is no /proc (macOS, the BSDs), a process's command line comes from ps: the qemu driver still
    tells its VM from a reused pid, and a live process is running."""
    import builtins
    import subprocess as sp

    real_open = builtins.open

    def no_proc(path, *args, **kwargs):
        if str(path).startswith("/proc/"):
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    real_isdir = os.path.isdir
    monkeypatch.setattr(builtins, "open", no_proc)
    monkeypatch.setattr(os.path, "isdir", lambda p: False if str(p).startswith("/proc") else real_isdir(p))
    monkeypatch.setattr(sys, "platform", "darwin")
    marker = str(tmp_path / "disk.qcow2")
    child = sp.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker])
    try:
        line = hostos.command_line(child.pid)
        assert line is not None and marker.encode() in line
        assert hostos.running(child.pid)
        assert hostos.command_line(2 ** 22 + 12345) is None
    finally:
        child.kill()
        child.wait()
    assert not hostos.running(child.pid)


def test_keys_made_on_windows_get_an_owner_only_acl(windows, tmp_path, monkeypatch, capsys):
    """OpenSSH for Windows refuses a key others may read, and a 0600 mode means little on NTFS: each private key
    machine-tui writes gets an ACL for its owner alone (icacls), and nothing else is asked of icacls."""
    import subprocess as sp

    calls = []
    real_run = sp.run

    def recorded(argv, *args, **kwargs):
        if argv and argv[0] == "icacls":
            calls.append(argv)
            return sp.CompletedProcess(argv, 0, b"", b"")
        return real_run(argv, *args, **kwargs)

    monkeypatch.setattr(sp, "run", recorded)
    monkeypatch.setenv("USERNAME", "ada")
    monkeypatch.setenv("USERDOMAIN", "LAB")
    from machine_tui.core.sshkeys import make_key_pair

    key = make_key_pair(str(tmp_path / "id_rsa"))
    assert calls == [["icacls", key, "/inheritance:r", "/grant:r", "LAB\\ada:F"]]
    store = str(tmp_path / "store")
    calls.clear()
    assert cli_here(["-s", store, "create", "-d", "none", "--url", "tcp://127.0.0.1:1", "w1"], capsys)[0] == 0
    keys = sorted(os.path.basename(c[1]) for c in calls)
    assert keys == ["ca-key.pem.next", "key.pem.next"], keys  # the CA's key and the client's, nothing public


@pytest.mark.parametrize("platform, environ, found", [
    ("win32", {"VBOX_MSI_INSTALL_PATH": r"D:\Apps\VirtualBox"}, r"D:\Apps\VirtualBox/VBoxManage.exe"),
    ("win32", {"ProgramFiles": r"C:\Program Files"}, r"C:\Program Files/Oracle/VirtualBox/VBoxManage.exe"),
    ("darwin", {}, "/Applications/VirtualBox.app/Contents/MacOS/VBoxManage"),
])
def test_vboxmanage_is_found_where_virtualbox_installs_it_on_each_desktop(monkeypatch, platform, environ, found):
    """PATH first, as everywhere; then where VirtualBox's installer puts it: the folders its Windows installer
    names in the environment and its default folder there, or the app bundle on macOS."""
    import shutil

    from machine_tui.core.drivers.virtualbox import vboxmanage

    for name in ("VBOX_INSTALL_PATH", "VBOX_MSI_INSTALL_PATH", "ProgramFiles"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os.path, "exists", lambda path: path == found)
    assert vboxmanage.find_vboxmanage() == found
