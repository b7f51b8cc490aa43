import json
import os
import ssl
import subprocess
import sys

import pytest

# this machine sets PYTHONDONTWRITEBYTECODE, so each CLI a test starts would compile machine-tui's modules again
# (an installed machine-tui keeps its bytecode, as pip writes it): the tests' processes keep theirs
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# what the real docker-machine 0.16.2 printed and wrote, recorded once: data the tests carry with them
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "docker-machine")


NOWHERE = "http://127.0.0.1:9"  # a closed loopback port: where a cloud client not given a stand-in goes


def clean_env(store: str | None = None, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MACHINE_", "DOCKER_")) and k != "USER"}
    env["MACHINE_TUI_DIGITALOCEAN_API"] = NOWHERE
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    env["SHELL"] = "/bin/bash"
    env["MACHINE_TUI_LOG_DIR"] = (store.rstrip("/") + "-logs") if store else "/tmp/machine-tui-test-logs"
    if store:
        env["MACHINE_STORAGE_PATH"] = store
    env.update(extra)
    return env


def run_cli(args, env, stdin_text=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "machine_tui.cli", *args], env=env, capture_output=True, text=True,
        input=stdin_text if stdin_text is not None else "", timeout=timeout,
    )


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "store"
    return str(path)


@pytest.fixture
def cli(store):
    def _run(*args, stdin=None, **env_extra):
        return run_cli(list(args), clean_env(store, **env_extra), stdin)

    return _run


def start_sshd(tmp_path):
    """A real OpenSSH sshd on 127.0.0.1 with its own host key, accepting one test key for the current user."""
    import getpass
    import shutil as _sh
    import socket
    import time

    binary = _sh.which("sshd") or "/usr/sbin/sshd"
    assert os.path.exists(binary), "the SSH tests need sshd: apt-get install openssh-server"
    folder = tmp_path / "sshd"
    folder.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "host_key")], check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "user_key")], check=True)
    (folder / "authorized_keys").write_text((folder / "user_key.pub").read_text())
    # a login here starts a shell on this computer's CPU: with this machine's own ~/.bashrc (pyenv's init costs
    # ~250 ms of CPU) every login would be slow and the tests and benches would time that; an empty HOME starts
    # bash as a server's shell does
    (folder / "home").mkdir(mode=0o700)
    os.makedirs("/run/sshd", exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder}/host_key\nPidFile {folder}/sshd.pid\n"
        f"AuthorizedKeysFile {folder}/authorized_keys\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "PermitRootLogin prohibit-password\nKbdInteractiveAuthentication no\nLogLevel VERBOSE\n"
        "Subsystem sftp /usr/lib/openssh/sftp-server\n"
        f"SetEnv HOME={folder}/home\n"
    )
    proc = subprocess.Popen([binary, "-D", "-e", "-f", str(folder / "sshd_config")],
                            stderr=open(folder / "sshd.log", "w"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)

    class Server:
        pass

    srv = Server()
    srv.port, srv.key, srv.user, srv.folder, srv.proc = port, str(folder / "user_key"), getpass.getuser(), folder, proc
    srv.host_key = str(folder / "host_key")
    return srv


@pytest.fixture
def sshd(tmp_path):
    srv = start_sshd(tmp_path)
    yield srv
    srv.proc.terminate()
    srv.proc.wait(5)


# Tests that boot real QEMU guests take minutes under TCG: they live in tests/vm/, and `pytest -m "not vm"` is the
# fast loop. The other folders: unit/ (the core alone), cli/ (the command line, as a user runs it), app/ (Pilot).
VM_FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vm")


def pytest_configure(config):
    config.addinivalue_line("markers", "vm: boots a real QEMU guest (slow under TCG)")


# No test may reach a real cloud: a cloud client that was not pointed at a stand-in meets a closed loopback port.
# (boto3 reads AWS_ENDPOINT_URL, the digitalocean driver MACHINE_TUI_DIGITALOCEAN_API; OpenStack has no default.)
os.environ.setdefault("AWS_ENDPOINT_URL", NOWHERE)
os.environ.setdefault("MACHINE_TUI_DIGITALOCEAN_API", NOWHERE)
for _var in [v for v in os.environ if v.startswith("OS_") and v not in ("OS_CLIENT_CONFIG_FILE",)]:
    del os.environ[_var]
os.environ["OS_CLIENT_CONFIG_FILE"] = os.path.join(os.path.dirname(__file__), "no-clouds.yaml")


@pytest.fixture(autouse=True)
def no_vm_left_behind(request):
    """A VM test that fails half-way must not leave its QEMU guests (or their network switch) running: after each
    one, any qemu-system or vde_switch process whose command line names the test's own folder is killed."""
    vm_test = request.node.get_closest_marker("vm") is not None and "tmp_path" in request.fixturenames
    # read now: at teardown tmp_path is no longer there to ask for
    folder = str(request.getfixturevalue("tmp_path")).encode() if vm_test else b""
    yield
    if folder:
        kill_vms_of(folder)


def kill_vms_of(folder: bytes) -> list[int]:
    """Kill every qemu-system or vde_switch process whose command line names folder; their pids."""
    import signal

    killed = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
        except OSError:
            continue
        program = os.path.basename(argv[0])
        if (program.startswith(b"qemu-system") or program == b"vde_switch") and any(folder in a for a in argv):
            try:
                os.kill(int(pid), signal.SIGKILL)
                killed.append(int(pid))
            except OSError:
                pass
    return killed


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.path).startswith(VM_FOLDER + os.sep):
            item.add_marker(pytest.mark.vm)


# ----- kill -9 at a moment of an operation, then check the store

def start_cli(args, env):
    # Ctrl-C reaches the program as on a terminal, even when the tests run as a background job (whose shell
    # starts it with SIGINT ignored, and Python then keeps it ignored)
    return subprocess.Popen([sys.executable, "-m", "machine_tui.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            preexec_fn=_default_sigint)


def _default_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def kill_after(proc, delay: float) -> bool:
    """SIGKILL after delay; True when the process was still running (so it really was interrupted)."""
    try:
        proc.wait(delay)
        return False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True


def assert_store_sound(store: str, env) -> dict[str, list[str]]:
    """ls loads (exit 0, no traceback), every config.json parses, no pair is half-replaced. Returns the rows."""
    r = run_cli(["ls"], env)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    machines = os.path.join(store, "machines")
    for name in os.listdir(machines) if os.path.isdir(machines) else []:
        path = os.path.join(machines, name, "config.json")
        if not name.startswith(".") and os.path.exists(path):
            json.load(open(path))
    certs = os.path.join(store, "certs")
    for cert, key in (("ca.pem", "ca-key.pem"), ("cert.pem", "key.pem")):
        c, k = os.path.join(certs, cert), os.path.join(certs, key)
        if os.path.exists(c):
            assert os.path.exists(k), f"{cert} without {key}"
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(c, k)  # the key belongs to the certificate
    return {line.split()[0]: line.split() for line in r.stdout.splitlines()[1:]}


async def choose_driver(pilot, wizard, name, seconds=15.0):
    """Pick the create wizard's driver and wait until its form is made (on a loaded machine: more than a frame)."""
    wizard.query_one("#driver").value = name
    assert await wait_until(pilot, lambda: wizard.driver == name and wizard.form_ready, seconds), name


def fill_a_create_that_waits(wizard, name: str, key: str) -> None:
    """The generic form for a machine nothing answers for (SSH on 127.0.0.1:1): its create waits until cancelled."""
    wizard.query_one("#name").value = name
    wizard.query_one("#flag-generic-ip-address").value = "127.0.0.1"
    wizard.query_one("#flag-generic-ssh-port").value = "1"
    wizard.query_one("#flag-generic-ssh-key").value = key
    wizard.query_one("#flag-no-docker-context").value = True


async def wait_until(pilot, predicate, seconds=5.0):
    """Pilot pauses until predicate() holds or seconds pass; its last answer."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await pilot.pause(0.1)
    return predicate()


PLUGIN_SOURCE = os.path.join(ROOT, "tests", "driver_plugins", "labplugin")


@pytest.fixture(scope="session")
def lab_bin(tmp_path_factory) -> str:
    """A folder holding docker-machine-driver-lab, the Go test plugin (tests/driver_plugins/labplugin), built once
    per test process with Debian's golang-go (scripts/install-test-deps brings it): put it first on PATH."""
    import shutil as _sh
    import tempfile

    go = _sh.which("go")
    assert go, "the plugin tests build a Go plugin: apt-get install golang-go (scripts/install-test-deps does)"
    folder = tmp_path_factory.mktemp("plugin-bin")
    # Go's build cache is safe to share between the test workers; the source folder is never written
    env = {**os.environ, "GOCACHE": os.path.join(tempfile.gettempdir(), "machine-tui-tests-gocache"),
           "GOFLAGS": "-buildvcs=false", "GOPATH": str(tmp_path_factory.mktemp("gopath")), "GOPROXY": "off",
           "CGO_ENABLED": "0"}
    subprocess.run([go, "build", "-o", str(folder / "docker-machine-driver-lab"), "."], cwd=PLUGIN_SOURCE, env=env,
                   check=True, capture_output=True)
    return str(folder)


def with_plugins(env: dict, lab_bin: str) -> dict:
    return {**env, "PATH": f"{lab_bin}{os.pathsep}{env.get('PATH', os.environ['PATH'])}"}


# ----- Windows' behaviours, simulated on Linux (tests/unit/test_host_platforms.py, tests/app/test_app_on_windows.py)
class FakeKernel32:
    """Windows' process calls, answering for the processes that live here."""

    def __init__(self):
        self.calls = []

    def OpenProcess(self, access, inherit, pid):  # noqa: N802 (Win32's names)
        self.calls.append(("OpenProcess", pid))
        return pid if os.path.exists(f"/proc/{pid}") else 0

    def GetExitCodeProcess(self, handle, code):  # noqa: N802
        code._obj.value = 259  # STILL_ACTIVE
        return 1

    def CloseHandle(self, handle):  # noqa: N802
        return 1


@pytest.fixture
def windows(monkeypatch):
    """sys.platform is win32, fcntl is absent, msvcrt locks (recorded), and a signal to a process fails the test."""
    import ctypes
    import types

    kernel = FakeKernel32()
    monkeypatch.setattr(ctypes, "windll", types.SimpleNamespace(kernel32=kernel), raising=False)
    locks = []
    msvcrt = types.SimpleNamespace(LK_LOCK=1, LK_UNLCK=0, locking=lambda fd, mode, n: locks.append((mode, n)))
    monkeypatch.setitem(sys.modules, "msvcrt", msvcrt)
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises, as on Windows
    monkeypatch.setattr(sys, "platform", "win32")

    def no_signal(pid, sig):
        raise AssertionError(f"os.kill({pid}, {sig}) on Windows ends that process")

    monkeypatch.setattr(os, "kill", no_signal)
    return types.SimpleNamespace(kernel=kernel, locks=locks)
