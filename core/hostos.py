"""What differs between the computers machine-tui runs on (Linux, macOS, Windows), in one module, as docker-machine
keeps its `*_windows.go` files: file locks, whether a process lives, ending one, free disk space, a file made private.
No other module of the core imports a POSIX-only module (fcntl, termios, pty...) at import time.

On Windows `os.kill(pid, 0)` does not probe a process: it terminates it. Listing a store must never do that to a
create running in another window, so liveness is asked of Windows itself."""

from __future__ import annotations

import os
import shutil
import sys
from typing import IO, Any

WINDOWS = sys.platform == "win32"


def lock(handle: int | IO[Any]) -> None:
    """An exclusive lock on an open file (blocking): another process's lock on it waits for this one."""
    fd = handle if isinstance(handle, int) else handle.fileno()
    if sys.platform == "win32":
        import msvcrt
        import time

        os.lseek(fd, 0, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # tries for 10 s, then raises: keep waiting, as flock does
                return
            except OSError:
                time.sleep(0.1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX)


def unlock(handle: int | IO[Any]) -> None:
    fd = handle if isinstance(handle, int) else handle.fileno()
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def pid_alive(pid: int) -> bool:
    """Whether a process of that id runs, without ever signalling it."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel = ctypes.windll.kernel32
        handle = kernel.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            return bool(kernel.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259  # STILL_ACTIVE
        finally:
            kernel.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's: alive
    return True


def process_start(pid: int) -> str:
    """When the process started, as the system counts it ("" where it cannot be told): a reused pid is another
    process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return ""


def end_process(pid: int) -> None:
    """End a process at once (SIGKILL; TerminateProcess on Windows)."""
    import signal

    if sys.platform == "win32":
        os.kill(pid, signal.SIGTERM)  # TerminateProcess
    else:
        os.kill(pid, signal.SIGKILL)


def free_bytes(folder: str) -> int:
    return shutil.disk_usage(folder).free


def make_private(handle: int | IO[Any], path: str) -> None:
    """Owner-only access to a file being written (0600; Windows keeps its folder's ACL, the user's profile)."""
    if sys.platform == "win32":
        os.chmod(path, 0o600)
    else:
        os.fchmod(handle if isinstance(handle, int) else handle.fileno(), 0o600)
