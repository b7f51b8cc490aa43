"""Bad input, as a hostile or careless user types it: every case ends in one line on stderr, the documented exit
code, no traceback, and, where the command has no business writing, a store (and its parent folder) left
byte-identical. Names are checked where the store is entered, for every command that takes one."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
from conftest import clean_env, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NAME_COMMANDS = [["inspect"], ["status"], ["url"], ["ip"], ["config"], ["env"], ["rm", "-y"],
                 ["start"], ["stop"], ["kill"], ["restart"], ["provision"], ["regenerate-certs", "-f"], ["upgrade"],
                 ["ssh"], ["version"]]
BAD_NAMES = ["", ".", "..", "../..", "ROOT", "a/../a", "x" * 300, "∞"]
INVALID = "does not exist. Use \"machine-tui ls\" to list machines"  # docker-machine's words: no such name can exist
NONE = ["create", "-d", "none", "--url", "tcp://127.0.0.1:1"]


def snapshot(root: str) -> dict:
    """Every file and folder under root: type, mode, content digest or link target."""
    seen = {}
    for folder, dirs, files in os.walk(root):
        for entry in dirs + files:
            path = os.path.join(folder, entry)
            st_ = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st_.st_mode):
                seen[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st_.st_mode):
                seen[rel] = ("dir", st_.st_mode)
            else:
                with open(path, "rb") as fh:
                    seen[rel] = ("file", st_.st_mode, hashlib.sha256(fh.read()).hexdigest())
    return seen


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A store with certificates and one none machine `a`, made by the CLI itself."""
    root = tmp_path_factory.mktemp("template")
    store = str(root / "store")
    env = clean_env(store, MACHINE_TUI_LOG_DIR=str(root / "logs"))
    assert run_cli(NONE + ["a"], env).returncode == 0
    return store


def damage(kind: str, store: str) -> None:
    """Break the store one way (what an old tool, a full disk or a hand edit leaves)."""
    m = os.path.join(store, "machines")
    cfg = os.path.join(m, "a", "config.json")
    doc = json.load(open(cfg))
    if kind == "hostoptions-string":
        doc["HostOptions"] = "oops"
    elif kind == "auth-list":
        doc["HostOptions"]["AuthOptions"] = ["x"]
    elif kind == "driver-string":
        doc["Driver"] = "oops"
    elif kind == "drivername-number":
        doc["DriverName"] = 7
    elif kind == "future-version":
        doc["ConfigVersion"] = 99
    elif kind == "port-text":
        doc["Driver"]["URL"] = "tcp://127.0.0.1:99999"
    elif kind == "sshport-text":
        doc["DriverName"], doc["Driver"]["SSHPort"], doc["Driver"]["IPAddress"] = "generic", "x", "127.0.0.1"
    if kind in ("hostoptions-string", "auth-list", "driver-string", "drivername-number", "future-version",
                "port-text", "sshport-text"):
        with open(cfg, "w") as fh:
            json.dump(doc, fh)
    elif kind == "empty-config":
        open(cfg, "w").close()
    elif kind == "not-json":
        with open(cfg, "w") as fh:
            fh.write("{nope")
    elif kind == "json-list":
        with open(cfg, "w") as fh:
            fh.write("[1, 2]")
    elif kind == "no-config":
        os.unlink(cfg)
    elif kind == "ca-garbage":
        with open(os.path.join(store, "certs", "ca.pem"), "w") as fh:
            fh.write("not a certificate")
    elif kind == "underscore-folder":
        os.mkdir(os.path.join(m, "bad_name"), 0o700)
    elif kind == "machines-is-file":
        shutil.rmtree(m)
        open(m, "w").close()


# (id, argv, env, damage, exit code, a piece of the stderr line, may the store change?)
CASES = []


def case(cid, argv, code=1, expect="", env=None, broken=None, writes=False):
    CASES.append(pytest.param(argv, env or {}, broken, code, expect, writes, id=cid))


for cmd in NAME_COMMANDS:
    for bad in BAD_NAMES:
        label = {"": "empty", "x" * 300: "300chars", "ROOT": "absolute"}.get(bad, bad)
        case(f"{'-'.join(cmd)}[{label}]", cmd + [bad], 1, INVALID)
for bad in ["", ".", "..", "../x", "/tmp/x", "a b", "a_b", "ü", "a\nb", "x" * 65, "x" * 300, ".hidden"]:
    case(f"create-name[{bad[:12]!r}]", NONE + [bad], 1, "Error creating machine: Invalid hostname specified")
case("create-name[-flag]", NONE + ["-rf"], 1, "flag provided but not defined: -rf")
case("scp[..]", ["scp", "../..:/etc/passwd", "/tmp/x"], 1, INVALID)
case("scp[abs]", ["scp", "/tmp/y", "ROOT:/x"], 1, INVALID)
case("mount[..]", ["mount", "..:/x", "/tmp/m"], 1, INVALID)

G = ["create", "-d", "generic", "--generic-ip-address", "127.0.0.1"]
Q = ["create", "-d", "qemu"]
V = ["create", "-d", "virtualbox"]
for cid, argv, what in [
    ("generic-ssh-port-99999", G + ["--generic-ssh-port", "99999"], '"99999" for flag --generic-ssh-port'),
    ("generic-ssh-port-neg", G + ["--generic-ssh-port", "-5"], '"-5" for flag --generic-ssh-port'),
    ("generic-ssh-port-0", G + ["--generic-ssh-port", "0"], '"0" for flag --generic-ssh-port'),
    ("generic-ssh-port-text", G + ["--generic-ssh-port", "abc"], 'invalid value "abc" for flag -generic-ssh-port'),
    ("generic-engine-port", G + ["--generic-engine-port", "70000"], "--generic-engine-port: must be between 1"),
    ("qemu-ssh-port-70000", Q + ["--qemu-ssh-port", "70000"], "--qemu-ssh-port: must be between 0 and 65535"),
    ("qemu-ssh-port-neg", Q + ["--qemu-ssh-port", "-1"], "--qemu-ssh-port: must be between"),
    ("qemu-engine-port", Q + ["--qemu-engine-port", "65536"], "--qemu-engine-port: must be between"),
    ("qemu-memory-neg", Q + ["--qemu-memory", "-5"], '"-5" for flag --qemu-memory'),
    ("qemu-memory-0", Q + ["--qemu-memory", "0"], '"0" for flag --qemu-memory'),
    ("qemu-memory-10", Q + ["--qemu-memory", "10"], "--qemu-memory: must be between 64"),
    ("qemu-cpus-0", Q + ["--qemu-cpus", "0"], "--qemu-cpus: must be between 1"),
    ("qemu-cpus-neg", Q + ["--qemu-cpus", "-1"], "--qemu-cpus"),
    ("qemu-disk-0", Q + ["--qemu-disk-size", "0"], "--qemu-disk-size: must be between 1"),
    ("qemu-disk-huge", Q + ["--qemu-disk-size", "99999999999"], "--qemu-disk-size"),
    ("qemu-accel", Q + ["--qemu-accel", "warp"], ""),
    ("vbox-memory", V + ["--virtualbox-memory", "-1"], "--virtualbox-memory: must be between 64"),
    ("vbox-disk", V + ["--virtualbox-disk-size", "-1"], "--virtualbox-disk-size"),
    ("vbox-cpus", V + ["--virtualbox-cpu-count", "-2"], "--virtualbox-cpu-count: must be between -1"),
]:
    case(f"create-{cid}", argv + ["m"], 1, what)
for cid, env, argv, what in [
    ("QEMU_CPUS", {"QEMU_CPUS": "-1"}, Q, "--qemu-cpus: must be between 1 and 1024 (from $QEMU_CPUS)"),
    ("QEMU_MEMORY", {"QEMU_MEMORY": "lots"}, Q, 'invalid value "lots" for flag -qemu-memory'),
    ("QEMU_SSH_PORT", {"QEMU_SSH_PORT": "70000"}, Q, "(from $QEMU_SSH_PORT)"),
    ("GENERIC_SSH_PORT", {"GENERIC_SSH_PORT": "0"}, G, "(from $GENERIC_SSH_PORT)"),
    ("VIRTUALBOX_MEMORY_SIZE", {"VIRTUALBOX_MEMORY_SIZE": "1"}, V, "(from $VIRTUALBOX_MEMORY_SIZE)"),
    ("MACHINE_DRIVER", {"MACHINE_DRIVER": "nosuch"}, ["create"], 'Driver "nosuch" not found'),
    ("MACHINE_DEBUG", {"MACHINE_DEBUG": "maybe"}, ["ls"], "Error parsing boolean value from MACHINE_DEBUG"),
    ("MACHINE_NATIVE_SSH", {"MACHINE_NATIVE_SSH": "perhaps"}, ["ls"], 'invalid boolean value "perhaps"'),
]:
    case(f"env-{cid}", argv + ([] if argv == ["ls"] else ["m"]), 1, what, env=env)
for cid, url, what in [
    # what Go's url.Parse refuses, in its words (docker-machine takes any other URL, and so do we)
    ("ipv6-open", "tcp://[::1", "parse \"tcp://[::1\": missing ']' in host"),
    ("no-scheme", "127.0.0.1:2376", "first path segment in URL cannot contain colon"),
    ("bad-port", "tcp://a:b", 'invalid port ":b" after host'),
    ("space-in-host", "tcp://a b", 'invalid character " " in host name'),
    ("escape", "%zz", 'invalid URL escape "%zz"'),
    ("empty", "", "--url option is required"),
]:
    case(f"create-url-{cid}", ["create", "-d", "none", "--url", url, "m"], 1, what)
for cid, argv, what in [
    ("ls-format-field", ["ls", "--format", "{{.Nope}}"], "can't evaluate field Nope"),
    ("ls-format-open", ["ls", "--format", "{{"], "unclosed action"),
    ("ls-format-name", ["ls", "--format", "{{.Name"], ""),
    ("ls-filter-syntax", ["ls", "--filter", "bogus"], "Unsupported filter syntax."),
    ("ls-filter-key", ["ls", "--filter", "color=red"], "Unsupported filter key 'color'"),
    ("ls-filter-regexp", ["ls", "--filter", "name=["], "error parsing regexp"),
    ("ls-timeout-text", ["ls", "-t", "abc"], 'invalid value "abc" for flag -t'),
    ("inspect-format", ["inspect", "-f", "{{", "a"], "template parsing error"),
    ("env-unset-name", ["env", "-u", "a"], "Expected no machine name when the -u flag is present"),
    ("unknown-command", ["frobnicate"], "is not a machine-tui command"),
    ("unknown-flag", ["ls", "--bogus"], "flag provided but not defined: -bogus"),
    ("unknown-driver", ["create", "-d", "nosuch", "m"], 'Driver "nosuch" not found'),
    ("count-two-names", NONE + ["--count", "2", "m", "n"], "--count takes one name to number"),
    ("batch-bad-name", NONE + ["--batch", "m", "../n"], "Error creating machine '../n'"),
    ("create-extra-argument", NONE + ["a", "extra"], "Invalid command line. Found extra arguments [extra]"),
    ("ec2-endpoint-ipv6", ["create", "-d", "amazonec2", "--amazonec2-endpoint", "http://[bad", "m"],
     "--amazonec2-endpoint 'http://[bad': not a valid URL"),
    ("ec2-endpoint-scheme", ["create", "-d", "amazonec2", "--amazonec2-endpoint", "ftp://x", "m"],
     "not an http:// or https:// URL"),
    ("qemu-extra-args-quote", ["create", "-d", "qemu", "--qemu-extra-args", "'unclosed", "m"],
     "--qemu-extra-args \"'unclosed\": no closing quotation"),
    ("serve-public-url", ["serve", "--public-url", "http://[x"], "--public-url 'http://[x': not a valid URL"),
    ("serve-public-url-scheme", ["serve", "--public-url", "ftp://x"], "not an http:// or https:// URL"),
    ("app-extra", ["app", "extra"], "Invalid command line. Found extra arguments [extra]"),
    ("build-image-extra", ["build-image", "extra"], "Invalid command line. Found extra arguments [extra]"),
    ("mistyped-command", ["lss"], "is not a machine-tui command. See 'machine-tui --help'. Did you mean 'ls'?"),
    ("create-extra-arguments", NONE + ["a", "b", "c"], "Invalid command line. Found extra arguments [b c]"),
    ("count-zero", NONE + ["--count", "0", "m"], "--count 0 makes no machine"),
    ("count-empty-name", NONE + ["--count", "2", ""], "--count needs a name to number"),
    ("completion-shell", ["completion", "tcsh"], ""),
    ("missing-machine", ["inspect", "nosuch"], 'Docker machine "nosuch" does not exist'),
    ("two-names", ["inspect", "a", "b"], "Expected one machine name"),
    ("active-args", ["active", "a"], "Too many arguments"),
    ("scp-args", ["scp", "a:/x"], "Improper number of arguments."),
    ("tls-ca-not-pem", ["--tls-ca-cert", "/etc/hostname"] + NONE + ["m"], "/etc/hostname is not a PEM certificate"),
    ("tls-ca-missing", ["--tls-ca-cert", "/nonexistent/ca.pem", "--tls-ca-key", "/nonexistent/k"] + NONE + ["m"],
     "--tls-ca-cert /nonexistent/ca.pem: no such file"),
    ("tls-client-key-not-pem", ["--tls-client-key", "/etc/hostname", "--tls-client-cert", "/etc/hostname"]
     + NONE + ["m"], "is not a PEM"),
    ("storage-path-file", ["-s", "/etc/hostname", "ls"], "/etc/hostname/machines"),
    ("storage-path-file-create", ["-s", "/etc/hostname"] + NONE + ["m"], "/etc/hostname"),
]:
    case(cid, argv, 1, what)

DAMAGED = [
    ("hostoptions-string", "cannot unmarshal string into Go struct field Host.HostOptions"),
    ("auth-list", "Host.HostOptions.AuthOptions"),
    ("driver-string", "Host.Driver"),
    ("drivername-number", "Host.DriverName"),
    ("future-version", "config version is from the future"),
    ("empty-config", "unexpected end of JSON input"),
    ("not-json", "invalid character"),
    ("json-list", "cannot unmarshal array"),
    ("no-config", "no such file or directory"),
]
for kind, what in DAMAGED:
    case(f"damaged-{kind}-ls", ["ls"], 0, "", broken=kind)  # the broken one is an Error row, the listing works
    case(f"damaged-{kind}-env", ["env", "a"], 1, what, broken=kind)
    case(f"damaged-{kind}-inspect", ["inspect", "a"], 1, what, broken=kind)
case("damaged-port-ls", ["ls", "--filter", "state=Running"], 0, "", broken="port-text")
case("damaged-port-env", ["env", "a"], 1, "is not valid", broken="port-text")
case("damaged-sshport-ls", ["ls"], 0, "", broken="sshport-text")
case("damaged-ca-env", ["env", "a"], 1, "is not a PEM CA certificate", broken="ca-garbage")
case("damaged-ca-create", NONE + ["m"], 1, "is not a PEM certificate", broken="ca-garbage")
case("damaged-underscore-ls", ["ls"], 0, "", broken="underscore-folder")
case("damaged-underscore-rm", ["rm", "-y", "bad_name"], 1, INVALID, broken="underscore-folder")
case("damaged-machines-file", ["ls"], 1, "Error reading the store", broken="machines-is-file")


@pytest.mark.parametrize("argv,env_extra,broken,code,expect,writes", CASES)
def test_bad_input_is_one_line_and_touches_nothing(template, tmp_path, argv, env_extra, broken, code, expect, writes):
    root = tmp_path / "root"  # the snapshot covers the store's parent folder too
    root.mkdir()
    store = str(root / "store")
    shutil.copytree(template, store, symlinks=True)
    if broken:
        damage(broken, store)
    argv = [str(root) if a == "ROOT" else a.replace("ROOT:", f"{root}:") for a in argv]
    env = clean_env(store, MACHINE_TUI_LOG_DIR=str(tmp_path / "logs"), **env_extra)
    before = snapshot(str(root))
    r = run_cli(argv, env, timeout=60)
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    assert r.returncode == code, (r.returncode, r.stdout[-500:], r.stderr)
    lines = r.stderr.splitlines()
    if code == 0:
        assert r.stderr == "", r.stderr
    else:
        assert len(lines) == 1 and lines[0].strip(), r.stderr
        assert expect in lines[0], lines[0]
    if not writes:
        assert snapshot(str(root)) == before


@pytest.mark.parametrize("name,broken", [(bad, None) for bad in BAD_NAMES] + [("bad_name", "underscore-folder")])
def test_forced_removal_of_a_name_that_cannot_exist_says_so_as_docker_machine_and_touches_nothing(template, tmp_path,
                                                                                                 name, broken):
    """`rm -f` of a machine that does not exist is no failure for docker-machine (exit 0, two lines); a name that
    cannot exist is told the same way, and nothing is touched (`rm -f -y "$UNSET"` included)."""
    root = tmp_path / "root"
    root.mkdir()
    store = str(root / "store")
    shutil.copytree(template, store, symlinks=True)
    if broken:
        damage(broken, store)
    name = str(root) if name == "ROOT" else name
    before = snapshot(str(root))
    r = run_cli(["rm", "-f", "-y", name], clean_env(store, MACHINE_TUI_LOG_DIR=str(tmp_path / "logs")), timeout=60)
    assert r.returncode == 0 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[1:] == [f'Can\'t remove "{name}"'] and INVALID in r.stderr.splitlines()[0]
    assert "Successfully removed" not in r.stdout
    assert snapshot(str(root)) == before


# ---------------------------------------------------------------- beyond a plain command line

def test_ls_into_a_closed_pipe_ends_quietly(template, tmp_path):
    env = clean_env(template, MACHINE_TUI_LOG_DIR=str(tmp_path / "logs"))
    for args in (["ls", "-q"], ["ls"], ["inspect", "a"], ["help"]):
        shell = subprocess.run(["bash", "-o", "pipefail", "-c",
                                f"{sys.executable} -m machine_tui.cli {' '.join(args)} | head -c 1 >/dev/null; "
                                "echo ${PIPESTATUS[0]} >&2"], env=env, capture_output=True, text=True)
        assert shell.stderr.strip() in ("0", "141"), shell.stderr  # no BrokenPipeError, no traceback


def test_rm_of_a_symlinked_machine_removes_the_link_never_its_target(template, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    store = str(root / "store")
    shutil.copytree(template, store, symlinks=True)
    outside = root / "precious"
    outside.mkdir()
    (outside / "config.json").write_text(open(os.path.join(store, "machines", "a", "config.json")).read())
    (outside / "data").write_text("keep me")
    os.symlink(str(outside), os.path.join(store, "machines", "link"))
    env = clean_env(store, MACHINE_TUI_LOG_DIR=str(tmp_path / "logs"))
    before = snapshot(str(outside))
    r = run_cli(["inspect", "link"], env)  # read through the link: allowed, and no migration is written there
    assert r.returncode == 0
    r = run_cli(["rm", "-f", "-y", "link"], env)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert not os.path.lexists(os.path.join(store, "machines", "link"))
    assert snapshot(str(outside)) == before


def test_parallel_removes_of_one_machine_one_wins_the_others_say_so(template, tmp_path):
    store = str(tmp_path / "store")
    shutil.copytree(template, store, symlinks=True)
    env = clean_env(store, MACHINE_TUI_LOG_DIR=str(tmp_path / "logs"))
    procs = [subprocess.Popen([sys.executable, "-m", "machine_tui.cli", "rm", "-y", "a"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(10)]
    results = [(p.wait(60), p.stderr.read()) for p in procs]
    assert sum(1 for code, _ in results if code == 0) == 1, results
    for code, err in results:
        assert "Traceback" not in err
        if code:
            assert code == 1 and len(err.splitlines()) == 1 and "does not exist" in err, err
    assert os.listdir(os.path.join(store, "machines")) == []


def _mount_tmpfs(path: str, size: str) -> bool:
    os.makedirs(path, exist_ok=True)
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path]).returncode == 0


@pytest.fixture
def readonly_store(template, tmp_path):
    """The template store on a read-only file system (a tmpfs remounted ro; without root, modes say it)."""
    mnt = str(tmp_path / "ro")
    mounted = _mount_tmpfs(mnt, "8m")
    store = os.path.join(mnt, "store")
    shutil.copytree(template, store, symlinks=True)
    if mounted:
        subprocess.run(["mount", "-o", "remount,ro", mnt], check=True)
    else:
        for folder, dirs, files in os.walk(mnt):
            for e in dirs + files:
                os.chmod(os.path.join(folder, e), os.stat(os.path.join(folder, e)).st_mode & ~0o222)
        os.chmod(mnt, 0o555)
    yield store
    if mounted:
        subprocess.run(["umount", "-l", mnt])


@pytest.mark.parametrize("argv", [NONE + ["m"], ["rm", "-y", "a"], ["rm", "-f", "-y", "a"],
                                  ["regenerate-certs", "-f", "--client-certs", "a"], ["start", "a"], ["stop", "a"],
                                  ["kill", "a"], ["restart", "a"], ["provision", "a"]],
                         ids=lambda a: " ".join(a[:3]))
def test_every_write_on_a_read_only_store_is_one_line(readonly_store, tmp_path, argv):
    env = clean_env(readonly_store, MACHINE_TUI_LOG_DIR=str(tmp_path / "logs"), MACHINE_WAIT_RETRIES="1")
    before = snapshot(os.path.dirname(readonly_store))
    r = run_cli(argv, env)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr
    assert "read-only file system" in r.stderr or "permission denied" in r.stderr or "already" in r.stderr \
        or "cannot be" in r.stderr or "has no SSH access" in r.stderr, r.stderr
    assert snapshot(os.path.dirname(readonly_store)) == before
    assert run_cli(["ls"], env).returncode == 0  # and the store still lists


def test_a_full_disk_during_create_is_one_line_and_leaves_a_removable_error(template, tmp_path):
    mnt = str(tmp_path / "full")
    if not _mount_tmpfs(mnt, "256k"):
        pytest.fail("this test needs root to mount a small tmpfs (CI runs as root)")
    try:
        store = os.path.join(mnt, "store")
        shutil.copytree(template, store, symlinks=True)
        env = clean_env(store, MACHINE_TUI_LOG_DIR=str(tmp_path / "logs"))
        with open(os.path.join(mnt, "filler"), "wb") as fh:  # leave a few hundred bytes
            free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
            fh.write(b"x" * max(free - 300, 0))
        r = run_cli(NONE + ["m"], env)
        assert "Traceback" not in r.stderr, r.stderr
        assert r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr
        assert "no space left on device" in r.stderr, r.stderr
        rows = {line.split()[0]: line for line in run_cli(["ls"], env).stdout.splitlines()[1:]}
        assert "m" not in rows or " Error " in rows["m"], rows  # never a machine that looks Running
        os.unlink(os.path.join(mnt, "filler"))
        if "m" in rows:
            assert run_cli(["rm", "-f", "-y", "m"], env).returncode == 0
        assert run_cli(NONE + ["m"], env).returncode == 0
    finally:
        subprocess.run(["umount", "-l", mnt])


# ---------------------------------------------------------------- any name at all, every command

def _dispatch(argv: list[str]) -> int:
    from machine_tui.cli.main import dispatch

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = dispatch(argv, out, err, io.StringIO(""))
    assert "Traceback" not in err.getvalue()
    return code


NAMES = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="./-_ ~a\x00\n", max_size=12),
    st.sampled_from(["", ".", "..", "../..", "/", "/etc", "~", "a/..", "machines", "../certs", "a" * 300]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES)
def test_no_name_reaches_outside_its_own_machine_folder(template, tmp_path_factory, name):
    root = tmp_path_factory.mktemp("prop")
    store = str(root / "store")
    shutil.copytree(template, store, symlinks=True)
    os.environ["MACHINE_TUI_LOG_DIR"] = str(root.parent / "prop-logs")
    before = snapshot(str(root))
    from machine_tui.core.hostconfig import is_valid_name

    own = os.path.join("store", "machines", name) if is_valid_name(name) else None
    for cmd in NAME_COMMANDS + [["create", "-d", "none", "--url", "tcp://127.0.0.1:1"]]:
        code = _dispatch(["-s", store] + cmd + [name])
        assert code in (0, 1, 3)
        after = snapshot(str(root))
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        outside = {k for k in changed if own is None or not (k == own or k.startswith(own + os.sep))}
        assert not outside, (cmd, name, sorted(outside)[:5])
        shutil.rmtree(os.path.join(store, "machines", name), ignore_errors=True) if own else None
        before = snapshot(str(root))


def test_rm_of_a_folder_that_cannot_be_emptied_is_one_line_and_stays_removable(template, tmp_path):
    """A file the OS will not delete (immutable here; unreadable for a non-root user): rm says which, the machine
    stays listed, and rm -f works once the file can go."""
    store = str(tmp_path / "store")
    shutil.copytree(template, store, symlinks=True)
    env = clean_env(store, MACHINE_TUI_LOG_DIR=str(tmp_path / "logs"))
    stuck = os.path.join(store, "machines", "a", "stuck")
    open(stuck, "w").close()
    assert subprocess.run(["chattr", "+i", stuck]).returncode == 0, "chattr +i needs root on ext4 (as CI has)"
    try:
        r = run_cli(["rm", "-f", "-y", "a"], env)
        assert "Traceback" not in r.stderr, r.stderr
        assert r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr
        assert "operation not permitted" in r.stderr.lower() and "stuck" in r.stderr, r.stderr
        rows = run_cli(["ls"], env).stdout.splitlines()[1:]
        assert [r.split()[0] for r in rows] == ["a"], rows  # still in sight, nothing hidden half-removed
    finally:
        subprocess.run(["chattr", "-i", stuck])
    assert run_cli(["rm", "-f", "-y", "a"], env).returncode == 0
    assert os.listdir(os.path.join(store, "machines")) == []
