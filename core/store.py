"""The machine store on disk, shared with docker-machine: ~/.docker/machine (or -s / MACHINE_STORAGE_PATH).

Writes are atomic (temp file, fsync, rename) and read-modify-write cycles hold a per-machine lock, so the
TUI and the CLI working on one store at once never lose an update or leave a half-written config.json."""

from __future__ import annotations

import contextlib
import os

from .errors import MachineError, MachineNotFound
from .hostconfig import Host

LOCK_NAME = ".machine-tui.lock"


def default_store_path(explicit: str | None = None) -> str:
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    env = os.environ.get("MACHINE_STORAGE_PATH")
    if env:
        return os.path.abspath(os.path.expanduser(env))
    return os.path.join(os.path.expanduser("~"), ".docker", "machine")


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
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Store:
    def __init__(self, path: str | None = None):
        self.path = default_store_path(path)

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
        return os.path.join(self.machines_dir, name)

    def config_path(self, name: str) -> str:
        return os.path.join(self.machine_dir(name), "config.json")

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
        return os.path.isdir(self.machine_dir(name))

    def load(self, name: str) -> Host:
        if not name or not self.exists(name):
            raise MachineNotFound(name)
        path = self.config_path(name)
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            raise LoadError(name, f"open {path}: no such file or directory") from None
        except OSError as err:
            raise LoadError(name, f"open {path}: {err.strerror.lower()}") from None
        from . import migrate

        text = raw.decode("utf-8", errors="replace")
        try:
            doc = migrate.parse(text)
            doc, migrated = migrate.migrate(doc, name, self.path)
        except migrate.ConfigError as err:
            raise LoadError(name, f"Error getting migrated host: {err}") from None
        doc["Name"] = name  # the folder name wins, as in docker-machine
        host = Host(name, doc, self.machine_dir(name))
        self._relocate(host)
        if migrated:
            with self.lock(name):
                bak = path + ".bak"
                if not os.path.exists(bak):
                    write_atomic(bak, raw)
                self._write(host)
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

        def fix(value):
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
    def lock(self, name: str):
        """Exclusive lock on one machine's config for a read-modify-write cycle (flock: released on crash)."""
        import fcntl

        mdir = self.machine_dir(name)
        if not os.path.isdir(mdir):
            raise MachineNotFound(name)
        fd = os.open(os.path.join(mdir, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _write(self, host: Host) -> None:
        makedirs_private(host.dir)
        from . import gojson

        write_atomic(self.config_path(host.name), gojson.marshal_indent(host.doc).encode())

    def save(self, host: Host) -> None:
        with self.lock(host.name):
            self._write(host)

    def update(self, name: str, change) -> Host:
        """Reload under the lock, apply change(host), write: concurrent writers never lose an update."""
        with self.lock(name):
            host = self.load(name)
            change(host)
            self._write(host)
            return host

    def create_machine_dir(self, name: str) -> str:
        makedirs_private(self.path)
        makedirs_private(self.machines_dir)
        path = self.machine_dir(name)
        os.mkdir(path, 0o700)
        return path

    def remove(self, name: str) -> None:
        import shutil

        shutil.rmtree(self.machine_dir(name))
