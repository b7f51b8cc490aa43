"""machine-tui's log: a file in the platform's log folder, keys and tokens redacted; --debug mirrors it
to stderr."""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    import logging
    from typing import Any

_PEM = re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.S)
_TOKEN = re.compile(r"(?i)((?:token|secret|password|passwd|api[-_]?key)\w*[\"']?\s*[=:]\s*[\"']?)([^\s\"',]+)")

_logger: logging.Logger | None = None
_wanted: tuple[bool, Any] = (False, None)  # how the command asked for its log, set up when first written


_FLAG = re.compile(r"(?i)(--[\w-]*(?:secret|token|password|access-key)[\w-]*(?:=|\s+))(\S+)")


def redact(text: str) -> str:
    text = _PEM.sub("<REDACTED>", text)
    text = _FLAG.sub(lambda m: m.group(1) + "<REDACTED>", text)  # --amazonec2-secret-key VALUE
    return _TOKEN.sub(lambda m: m.group(1) + "<REDACTED>", text)


def log_dir() -> str:
    from .settings import log_dir_override

    override = log_dir_override()
    if override:
        return override
    from platformdirs import user_log_dir

    return user_log_dir("machine-tui", appauthor=False)


LOG_MAX_BYTES = 2 * 1024 * 1024
LOG_KEEP = 3


def rotate(path: str, max_bytes: int = LOG_MAX_BYTES, keep: int = LOG_KEEP) -> None:
    """machine-tui.log -> .1 -> .2 ... once it passes max_bytes, checked when a process opens it."""
    try:
        if os.path.getsize(path) < max_bytes:
            return
        for n in range(keep - 1, 0, -1):
            if os.path.exists(f"{path}.{n}"):
                os.replace(f"{path}.{n}", f"{path}.{n + 1}")
        os.replace(path, f"{path}.1")
    except OSError:
        pass


def want_logging(debug: bool = False, stream: Any = None) -> None:
    """Say how the log is to be kept; it is opened when something is first written (most commands write nothing,
    and `logging` costs a command's start ~5 ms). --debug opens it at once, to mirror everything."""
    global _wanted
    _wanted = (debug, stream)
    if debug:
        setup_logging(debug, stream)


def setup_logging(debug: bool = False, stream: Any = None) -> logging.Logger:
    import logging

    class RedactingFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return redact(super().format(record))

    global _logger
    logger = logging.getLogger("machine-tui")
    if _logger is not None:
        return logger
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        folder = log_dir()
        os.makedirs(folder, mode=0o700, exist_ok=True)
        path = os.path.join(folder, "machine-tui.log")
        rotate(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        handler = logging.StreamHandler(os.fdopen(fd, "a"))
        handler.setLevel(logging.DEBUG if debug else logging.INFO)  # the commands sent: only with --debug
        handler.setFormatter(RedactingFormatter("%(asctime)s %(process)d %(levelname)s %(message)s"))
        logger.addHandler(handler)
    except OSError:
        pass  # an unwritable log folder must never stop a command
    if debug and stream is not None:
        mirror = logging.StreamHandler(stream)
        mirror.setFormatter(RedactingFormatter("%(message)s"))
        logger.addHandler(mirror)
    _logger = logger
    return logger


def note(level: str, text: str) -> None:
    """One line to the log without the logging module (~40 ms of a command's start with platformdirs): how a
    command that ends in a plain error (a missing machine, no active host) says so; a traceback or --debug goes
    through the logger."""
    if _logger is not None or _wanted[0]:
        import logging

        get_logger().log(logging.getLevelName(level), "%s", text)
        return
    import sys
    import time

    try:
        folder = log_dir() if sys.platform not in ("linux", "linux2") else _linux_log_dir()
        os.makedirs(folder, mode=0o700, exist_ok=True)
        path = os.path.join(folder, "machine-tui.log")
        rotate(path)
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f",{int(now % 1 * 1000):03d}"
        line = redact(f"{stamp} {os.getpid()} {level} {text}") + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8", "replace"))
        finally:
            os.close(fd)
    except OSError:
        pass  # an unwritable log folder must never stop a command


def _linux_log_dir() -> str:
    """platformdirs' user_log_dir on Linux, without loading it: the XDG state folder's machine-tui/log."""
    from .settings import log_dir_override

    override = log_dir_override()
    if override:
        return override
    state = os.environ.get("XDG_STATE_HOME", "").strip() or os.path.expanduser("~/.local/state")
    return os.path.join(state, "machine-tui", "log")


def get_logger() -> logging.Logger:
    return _logger or setup_logging(*_wanted)


def log_event(event: Any) -> None:
    """A progress event of an operation, as a line of the log."""
    get_logger().info("%s %s", event.machine or "-", event.message)
