"""Errors that carry the exact text (and exit code) a docker-machine user expects to see."""

import errno
import os
import sys


def program_name() -> str:
    """The name the user typed: machine-tui, or docker-machine where it is installed under that name."""
    typed = os.path.basename(sys.argv[0] if sys.argv and sys.argv[0] else "")
    return "docker-machine" if typed == "docker-machine" else "machine-tui"


class MachineError(Exception):
    """An error shown to the user as one line on stderr; exit_code follows docker-machine."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class MachineNotFound(MachineError):
    def __init__(self, name: str, prog: str = ""):
        prog = prog or program_name()
        super().__init__(
            f'Docker machine "{name}" does not exist. Use "{prog} ls" to list machines. '
            f'Use "{prog} create" to add a new one.'
        )
        self.name = name


class MachineExists(MachineError):
    def __init__(self, name: str):
        super().__init__(f'Docker machine "{name}" already exists')


class HostNotRunning(MachineError):
    def __init__(self) -> None:
        super().__init__("Host is not running")


class RemoveFailed(MachineError):
    """The machine's own folder could not be removed, or its cloud account is not the one in force: an error even
    with rm -f (the machine is still there)."""


class PreCreateError(MachineError):
    exit_code = 3


class NotSupported(MachineError):
    pass


class DriverNotFound(MachineError):
    def __init__(self, name: str, available: list[str]):
        # docker-machine's own words: no built-in driver, no Python package's, no plugin binary on PATH
        super().__init__(f'Driver "{name}" not found. Do you have the plugin binary '
                         f'"docker-machine-driver-{name}" accessible in your PATH?')
        self.available = available


class VMMissing(MachineError):
    """The machine's VM or instance is gone from its hypervisor or cloud (deleted behind our back)."""

    def __init__(self, message: str = "machine does not exist"):
        super().__init__(message)


class PortTaken(MachineError):
    """A host port the machine needs was taken by another program."""


def describe_os_error(err: OSError) -> str:
    """An OS error as one line naming the file and a way out."""
    what = (err.strerror or str(err)).rstrip(".")
    where = f" {err.filename}" if err.filename else ""
    hint = {
        errno.ENOSPC: "the disk is full: free some space and try again",
        errno.EROFS: "a read-only file system: use -s for a writable store",
        errno.EACCES: "check its permissions, or use -s for another store",
        errno.EPERM: "check its permissions, or use -s for another store",
        errno.EDQUOT: "the disk quota is exhausted: free some space",
        errno.ENAMETOOLONG: "use a shorter name or store path",
    }.get(err.errno or 0, "")
    return f"{where.strip() + ': ' if where else ''}{what.lower()}" + (f" ({hint})" if hint else "")


def one_line(err: BaseException, limit: int = 300) -> str:
    """An unexpected error as the one line a user reads: its type where its text says nothing, no traceback and
    nothing of its frames' variables (where a request body with a password may sit)."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def printable(text: str) -> str:
    """A user-typed name as it may be echoed on one line (no control characters reach the terminal)."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
