"""What differs between the computers machine-tui runs on (Linux, macOS, Windows), in one module, as docker-machine
keeps its `*_windows.go` files: file locks, whether a process lives, ending one, free disk space, a file made private.
No other module of the core imports a POSIX-only module (fcntl, termios, pty...) at import time.

On Windows `os.kill(pid, 0)` does not probe a process: it terminates it. Listing a store must never do that to a
create running in another window, so liveness is asked of Windows itself."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
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


def command_line(pid: int) -> bytes | None:
    """The command line a live process was started with (its arguments joined; None when it is gone or cannot be
    read): how the qemu driver knows a pid is still its VM. Linux reads /proc; macOS and the BSDs ask ps."""
    if pid <= 0:
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read() or None
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return None  # Linux: gone
    except OSError:
        return None
    if sys.platform == "win32":
        return None
    import subprocess

    try:
        out = subprocess.run(["ps", "-ww", "-o", "command=", "-p", str(pid)], capture_output=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.strip() or None


def running(pid: int) -> bool:
    """Alive and not a zombie (a VM process that exited but whose parent has not reaped it is not running)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return False
    except OSError:
        return False
    return pid_alive(pid)


def parent_program() -> str:
    """The lower-case file name of the program that started this one ("powershell.exe", "cmd.exe"; "" where it
    cannot be told): on Windows, where no $SHELL names the user's shell, it is the shell `env` writes for, as
    docker-machine detects it."""
    if sys.platform == "win32":
        return _windows_parent_program()
    try:
        with open(f"/proc/{os.getppid()}/comm") as fh:
            return fh.read().strip().lower()
    except OSError:
        return ""


def _windows_parent_program() -> str:
    if sys.platform != "win32":
        return ""
    import ctypes
    from ctypes import wintypes

    class ProcessEntry(ctypes.Structure):  # PROCESSENTRY32W
        _fields_ = [("dwSize", wintypes.DWORD), ("cntUsage", wintypes.DWORD), ("th32ProcessID", wintypes.DWORD),
                    ("th32DefaultHeapID", ctypes.c_void_p), ("th32ModuleID", wintypes.DWORD),
                    ("cntThreads", wintypes.DWORD), ("th32ParentProcessID", wintypes.DWORD),
                    ("pcPriClassBase", ctypes.c_long), ("dwFlags", wintypes.DWORD),
                    ("szExeFile", ctypes.c_wchar * 260)]

    kernel = ctypes.windll.kernel32
    snapshot = kernel.CreateToolhelp32Snapshot(0x2, 0)  # TH32CS_SNAPPROCESS
    if not snapshot or snapshot == -1:
        return ""
    try:
        programs: dict[int, tuple[int, str]] = {}  # pid -> (its parent, its file name)
        entry = ProcessEntry()
        entry.dwSize = ctypes.sizeof(ProcessEntry)
        more = kernel.Process32FirstW(snapshot, ctypes.byref(entry))
        while more:
            programs[entry.th32ProcessID] = (entry.th32ParentProcessID, entry.szExeFile.lower())
            more = kernel.Process32NextW(snapshot, ctypes.byref(entry))
    finally:
        kernel.CloseHandle(snapshot)
    parent = programs.get(os.getpid(), (0, ""))[0]
    # python.exe under a launcher (py.exe, a pipx shim) is not the shell: go up to the first program that is not
    for _ in range(4):
        name = programs.get(parent, (0, ""))[1]
        if not name.startswith(("python", "py.exe", "machine-tui")):
            return name
        parent = programs[parent][0]
    return ""


def free_bytes(folder: str) -> int:
    import shutil

    return shutil.disk_usage(folder).free


def owner_only(path: str) -> None:
    """A private key readable by its owner alone. POSIX: its 0600 mode says so already. Windows: the mode is only a
    read-only bit, and OpenSSH for Windows refuses a key others may read, so the file's ACL is cut to the user
    (icacls: no inherited entries, full control for the owner)."""
    if sys.platform != "win32":
        return
    import subprocess

    user = os.environ.get("USERNAME", "")
    domain = os.environ.get("USERDOMAIN", "")
    if not user:
        return
    who = f"{domain}\\{user}" if domain else user
    subprocess.run(["icacls", path, "/inheritance:r", "/grant:r", f"{who}:F"], capture_output=True, check=False)


def sync_folder(folder: str) -> None:
    """A rename in folder made durable (POSIX: fsync the folder; Windows cannot open a folder as a file, and NTFS
    journals the rename itself)."""
    if sys.platform == "win32":
        return
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def make_private(handle: int | IO[Any], path: str) -> None:
    """Owner-only access to a file being written (0600; Windows keeps its folder's ACL, the user's profile)."""
    if sys.platform == "win32":
        os.chmod(path, 0o600)
    else:
        os.fchmod(handle if isinstance(handle, int) else handle.fileno(), 0o600)
