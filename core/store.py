"""The machine store on disk, shared with docker-machine: ~/.docker/machine (or -s / MACHINE_STORAGE_PATH).

Writes are atomic (temp file, fsync, rename) and read-modify-write cycles hold a per-machine lock, so the
TUI and the CLI working on one store at once never lose an update or leave a half-written config.json."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
import threading
from collections.abc import Iterator

from . import hostos
from .errors import MachineError, MachineNotFound, printable
from .hostconfig import Host, invalid_name_message
from .settings import default_store_path

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    from typing import Any

LOCK_NAME = ".machine-tui.lock"
# the store's own id, made once: cloud resources carry it as a tag, so what a lost journal missed is found again
STORE_ID_FILE = ".machine-tui-store-id"
# present from the moment a machine folder appears until its create ends: a create killed half-way reads Error
CREATING_FILE = ".machine-tui-creating"
CREATE_ERROR_FILE = ".machine-tui-create-error"
# a pair (key + certificate) being replaced: the new files are complete once this marker exists
PAIR_COMMIT_SUFFIX = ".pair-commit"
NEXT_SUFFIX = ".next"

_held = threading.local()  # lock files this thread holds, with their depth (update() loads under its own lock)


class InvalidName(MachineNotFound):
    """A name that is no machine of a store: refused before any path is built from it, in docker-machine's words
    for a machine that does not exist (no such name can); create says why the name is refused."""

    def __init__(self, name: Any) -> None:
        super().__init__(printable(str(name)))
        self.reason = invalid_name_message(name)


class LoadError(MachineError):
    """A machine folder whose config cannot be read; shown as an Error row, never fatal for others."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


def makedirs_private(path: str) -> None:
    """mkdir -p where every folder created is 0700 (os.makedirs applies the mode to the leaf only)."""
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass


def read_regular(path: str, limit: int = 64 << 20) -> bytes:
    """A file's bytes, only if it is a regular file: a FIFO, a device or a socket put in a config file's place
    would block the reader or never end, so it is refused at once (OSError, told like any unreadable file)."""
    import stat

    # O_NONBLOCK: opening a FIFO must not wait for a writer (Windows has neither FIFOs nor the flag)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, device or socket is never read)", path)
        if sys.platform != "win32":
            os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit)
    finally:
        os.close(fd)


def write_atomic(path: str, data: bytes, mode: int = 0o600) -> None:
    """Replace path with data so that readers see either the old or the new file, never a torn one."""
    import tempfile

    folder = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    hostos.sync_folder(folder)


class Store:
    def __init__(self, path: str | None = None):
        self.path = default_store_path(path)
        recover_pairs(self.certs_dir)  # a pair whose replacement a kill interrupted (two stats when there is none)

    # ----- layout
    @property
    def certs_dir(self) -> str:
        return os.path.join(self.path, "certs")

    @property
    def machines_dir(self) -> str:
        return os.path.join(self.path, "machines")

    @property
    def cache_dir(self) -> str:
        return os.path.join(self.path, "cache")

    def machine_dir(self, name: str) -> str:
        """The one door from a name to a folder: only names create accepts ever become a path."""
        if invalid_name_message(name):
            raise InvalidName(name)
        return os.path.join(self.machines_dir, name)

    def owns(self, name: str) -> bool:
        """The machine folder is a real folder directly inside this store's machines/ (no symlink out)."""
        path = self.machine_dir(name)
        return (not os.path.islink(path) and os.path.isdir(path)
                and os.path.realpath(os.path.dirname(path)) == os.path.realpath(self.machines_dir))

    def _check_owned(self, name: str) -> str:
        path = self.machine_dir(name)
        if os.path.isdir(path) and not self.owns(name):
            raise MachineError(f"{path} is a link to {os.path.realpath(path)}, outside the store: "
                               "machine-tui only writes inside the store's own folders")
        return path

    def config_path(self, name: str) -> str:
        return os.path.join(self.machine_dir(name), "config.json")

    def identity(self) -> str:
        """The store's id (16 hex digits), made the first time it is asked for and never rewritten."""
        import secrets

        path = os.path.join(self.path, STORE_ID_FILE)
        if not os.path.lexists(path):
            makedirs_private(self.path)
            staging = f"{path}.{os.getpid()}-{secrets.token_hex(4)}"
            write_atomic(staging, (secrets.token_hex(8) + "\n").encode())
            try:
                os.link(staging, path)  # appears whole, or not at all when another process made it first
            except FileExistsError:
                pass
            finally:
                os.unlink(staging)
        found = read_regular(path, 64).decode("ascii", "replace").strip()
        if len(found) != 16 or any(c not in "0123456789abcdef" for c in found):
            raise MachineError(f"{path} is not a store id (16 hex digits): move it away and try again")
        return found

    # ----- queries
    def list_names(self) -> list[str]:
        """Non-hidden machine folders in byte order, as docker-machine's ReadDir gives them."""
        try:
            entries = os.listdir(self.machines_dir)
        except FileNotFoundError:
            return []
        except OSError as err:
            raise MachineError(f"Error reading the store {self.machines_dir}: {err.strerror}") from None
        names = [e for e in entries if not e.startswith(".") and os.path.isdir(os.path.join(self.machines_dir, e))]
        return sorted(names, key=lambda n: n.encode())

    def exists(self, name: str) -> bool:
        return not invalid_name_message(name) and os.path.isdir(self.machine_dir(name))

    def load(self, name: str) -> Host:
        path = self.config_path(name)  # refuses a bad name first
        if not os.path.isdir(os.path.dirname(path)):
            raise MachineNotFound(name)
        try:
            raw = read_regular(path)
        except FileNotFoundError:
            # a create killed before its first save: say so rather than name the missing file
            problem = create_problem(os.path.dirname(path))
            raise LoadError(name, problem or f"open {path}: no such file or directory") from None
        except OSError as err:
            raise LoadError(name, f"open {path}: {(err.strerror or str(err)).lower()}") from None
        from . import migrate

        text = raw.decode("utf-8", errors="replace")
        try:
            doc = migrate.parse(text)
            doc, migrated = migrate.migrate(doc, name, self.path)
        except migrate.ConfigError as err:
            raise LoadError(name, f"Error getting migrated host: {err}") from None
        doc["Name"] = name  # the folder name wins, as in docker-machine
        host = Host(name, doc, self.machine_dir(name))
        recover_pairs(host.dir, ("server.pem",))
        self._relocate(host)
        if migrated and self.owns(name):
            # the migration is written back only into this store's own machine folder; elsewhere it stays in memory
            try:
                with self.lock(name):
                    bak = path + ".bak"
                    if not os.path.exists(bak):
                        write_atomic(bak, raw)
                    self._write(host)
            except OSError:
                pass  # a read-only store still lists its machines
        return host

    def _relocate(self, host: Host) -> None:
        """A store that was moved or copied keeps absolute paths of its old place: point them here."""
        old_root = host.driver_config.get("StorePath") or ""
        if not old_root:
            sp = host.auth.get("StorePath") or ""
            if "/machines/" in sp:
                old_root = sp.rsplit("/machines/", 1)[0]
        if not old_root or os.path.normpath(old_root) == os.path.normpath(self.path):
            return
        old_root = old_root.rstrip("/")

        def fix(value: Any) -> Any:
            if isinstance(value, str) and (value == old_root or value.startswith(old_root + "/")):
                return self.path + value[len(old_root):]
            if isinstance(value, dict):
                return {k: fix(v) for k, v in value.items()}
            if isinstance(value, list):
                return [fix(v) for v in value]
            return value

        host.doc["Driver"] = fix(host.doc.get("Driver"))
        host.doc["HostOptions"] = fix(host.doc.get("HostOptions"))
        host.relocated_from = old_root

    # ----- writes
    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Exclusive lock on one machine's config for a read-modify-write cycle (flock: released on crash).
        Re-entrant within a thread, so a load that migrates under update()'s lock does not wait for itself."""
        mdir = self._check_owned(name)
        if not os.path.isdir(mdir):
            raise MachineNotFound(name)
        with hold_lock(os.path.join(mdir, LOCK_NAME)):
            yield

    def _write(self, host: Host) -> None:
        from . import gojson

        path = self.config_path(host.name)  # callers hold lock(), which proved the folder is the store's own
        if not os.path.isdir(os.path.dirname(path)):
            raise MachineNotFound(host.name)
        write_atomic(path, gojson.marshal_indent(host.doc).encode())

    def save(self, host: Host) -> None:
        with self.lock(host.name):
            self._write(host)

    def update(self, name: str, change: Any) -> Host:
        """Reload under the lock, apply change(host), write: concurrent writers never lose an update."""
        with self.lock(name):
            host = self.load(name)
            change(host)
            self._write(host)
            return host

    def create_machine_dir(self, name: str, step: str = "") -> str:
        """The machine folder appears whole, already marked as being created (rename of a hidden folder)."""
        import secrets

        path = self.machine_dir(name)
        makedirs_private(self.path)
        makedirs_private(self.machines_dir)
        staging = os.path.join(self.machines_dir, f".{name}.new-{os.getpid()}-{secrets.token_hex(4)}")
        os.mkdir(staging, 0o700)
        try:
            write_atomic(os.path.join(staging, CREATING_FILE), _creating_mark(step))
            if os.path.lexists(path):
                raise FileExistsError
            os.rename(staging, path)  # fails onto a non-empty folder: a concurrent create won
        except (FileExistsError, IsADirectoryError) as err:
            _remove_tree(staging)
            from .errors import MachineExists

            raise MachineExists(name) from err
        except OSError as err:
            _remove_tree(staging)
            if err.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            from .errors import MachineExists

            raise MachineExists(name) from None
        except BaseException:
            _remove_tree(staging)
            raise
        return path

    def mark_create_step(self, name: str, step: str) -> None:
        """Name the step a create is in, so a create killed there says where it stopped."""
        with contextlib.suppress(OSError):
            write_atomic(os.path.join(self.machine_dir(name), CREATING_FILE), _creating_mark(step))

    def record_create_error(self, name: str, message: str) -> None:
        with contextlib.suppress(OSError):
            write_atomic(os.path.join(self.machine_dir(name), CREATE_ERROR_FILE), message.encode())

    def clear_create_marks(self, name: str) -> None:
        """The create finished (or provision/rm took over): the machine reads by its driver's state again."""
        mdir = self._check_owned(name)
        for mark in (CREATE_ERROR_FILE, CREATING_FILE):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(mdir, mark))

    def remove(self, name: str) -> None:
        """Remove the machine folder: only this store's own folder of that name, never what a link points to.
        The folder is first renamed out of sight (atomic: one of several concurrent removes wins)."""
        import secrets

        path = self.machine_dir(name)
        try:
            if os.path.islink(path):
                os.unlink(path)  # the link is the store's; its target is not
                return
            if not self.owns(name):
                raise MachineNotFound(name)
            trash = os.path.join(self.machines_dir, f".{name}.removing-{os.getpid()}-{secrets.token_hex(4)}")
            os.rename(path, trash)
        except FileNotFoundError:
            raise MachineNotFound(name) from None
        try:
            _remove_tree(trash)
        except MachineError:
            with contextlib.suppress(OSError):
                os.rename(trash, path)  # what could not be removed stays in sight, for a later rm -f
            raise
        self._sweep_leftovers()

    def _sweep_leftovers(self) -> None:
        """Hidden folders of removes and creates killed half-way, whose process is gone."""
        try:
            entries = os.listdir(self.machines_dir)
        except OSError:
            return
        for entry in entries:
            if not entry.startswith(".") or not (".removing-" in entry or ".new-" in entry):
                continue
            pid = entry.rsplit("-", 2)[-2]
            if pid.isdigit() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    _remove_tree(os.path.join(self.machines_dir, entry))


def _remove_tree(path: str) -> None:
    import shutil

    def onerror(func: Any, failed: Any, exc_info: Any) -> None:
        err = exc_info[1]
        if isinstance(err, FileNotFoundError):
            return  # a concurrent remove took it
        raise MachineError(f"Error removing {failed}: {(getattr(err, 'strerror', None) or err)}"
                           " (check its permissions, then run rm -f again)")

    shutil.rmtree(path, onerror=onerror)


@contextlib.contextmanager
def hold_lock(lock_path: str) -> Iterator[None]:
    held = getattr(_held, "locks", None)
    if held is None:
        held = _held.locks = {}
    if lock_path in held:
        held[lock_path] += 1
        try:
            yield
        finally:
            held[lock_path] -= 1
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        hostos.lock(fd)
        held[lock_path] = 1
        try:
            yield
        finally:
            del held[lock_path]
            hostos.unlock(fd)
    finally:
        os.close(fd)


# ----- key and certificate pairs, replaced as one

def replace_pair(cert_path: str, key_path: str, cert_pem: bytes, key_pem: bytes, cert_mode: int = 0o644) -> None:
    """Write a key and its certificate so that a kill at any moment leaves the old pair or the new one:
    both new files are written beside the old ones, then a commit marker, then both renamed."""
    write_atomic(key_path + NEXT_SUFFIX, key_pem, 0o600)
    hostos.owner_only(key_path + NEXT_SUFFIX)
    write_atomic(cert_path + NEXT_SUFFIX, cert_pem, cert_mode)
    write_atomic(cert_path + PAIR_COMMIT_SUFFIX, json.dumps({"key": key_path}).encode())
    recover_pair(cert_path)


def recover_pair(cert_path: str) -> None:
    """Finish a pair replacement a kill interrupted after its commit point; before it, drop the new files."""
    marker = cert_path + PAIR_COMMIT_SUFFIX
    try:
        with open(marker, "rb") as fh:
            key_path = json.loads(fh.read()).get("key", "")
    except FileNotFoundError:
        return
    except (OSError, ValueError, AttributeError):
        key_path = ""
    folder = os.path.dirname(cert_path)
    paths = [cert_path]
    if isinstance(key_path, str) and key_path and os.path.dirname(key_path) == folder:
        paths.insert(0, key_path)  # only a key in the same folder: the marker cannot send us elsewhere
    try:
        for path in paths:
            if os.path.exists(path + NEXT_SUFFIX):
                os.replace(path + NEXT_SUFFIX, path)
        os.unlink(marker)
    except OSError:
        pass  # a read-only store: the next writer finishes it


def recover_pairs(folder: str, cert_names: Any = ("ca.pem", "cert.pem", "server.pem")) -> None:
    for name in cert_names:
        path = os.path.join(folder, name)
        if os.path.exists(path + PAIR_COMMIT_SUFFIX):
            recover_pair(path)


# ----- is a create still running?

def _proc_start(pid: int) -> str:
    return hostos.process_start(pid)


def _pid_alive(pid: int, start: str = "") -> bool:
    if not hostos.pid_alive(pid):  # never a signal: on Windows os.kill(pid, 0) would end the process
        return False
    # the same pid may belong to a newer process: compare start times where /proc tells them
    return not start or not os.path.exists("/proc/self/stat") or _proc_start(pid) == start


def _creating_mark(step: str) -> bytes:
    pid = os.getpid()
    return json.dumps({"pid": pid, "start": _proc_start(pid), "step": step}).encode()


def create_problem(machine_dir: str) -> str:
    """Why a machine is not usable because of its create: the error a create recorded, or, for a create whose
    process is gone without finishing, the step it stopped during. "" for a finished or running create."""
    try:
        with open(os.path.join(machine_dir, CREATE_ERROR_FILE), errors="replace") as fh:
            text = fh.read().strip()
        if text:
            return text
    except OSError:
        pass
    try:
        with open(os.path.join(machine_dir, CREATING_FILE), "rb") as fh:
            mark = json.loads(fh.read() or b"{}")
    except FileNotFoundError:
        return ""
    except (OSError, ValueError):
        mark = {}
    if not isinstance(mark, dict):
        mark = {}
    pid = mark.get("pid")
    if isinstance(pid, int) and _pid_alive(pid, str(mark.get("start") or "")):
        return ""
    return f"create did not finish (stopped during: {mark.get('step') or 'start'})"
