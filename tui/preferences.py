"""What the user chose in the app and finds again next time: the theme, whether stop and kill ask first. Kept in
settings.toml in machine-tui's config folder (MACHINE_TUI_CONFIG_DIR, else the platform's), beside keys.toml."""

from __future__ import annotations

import os
from dataclasses import dataclass

FILE = "settings.toml"


def config_folder() -> str:
    from ..core.settings import config_dir_override

    folder = config_dir_override()
    if not folder:
        from platformdirs import user_config_dir

        folder = user_config_dir("machine-tui", appauthor=False)
    return folder


@dataclass
class Preferences:
    theme: str = ""  # "" is Textual's default
    confirm_stop: bool = True  # stop and kill ask first (remove always does)
    problem: str = ""  # why the file could not be read, to be said once

    @classmethod
    def load(cls) -> Preferences:
        import tomllib

        path = os.path.join(config_folder(), FILE)
        from ..core.store import read_regular

        try:
            data = tomllib.loads(read_regular(path, 1 << 20).decode("utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as err:  # ValueError: not TOML, or not UTF-8 (UnicodeDecodeError)
            return cls(problem=f"{path} is not read: {why_unreadable(err)}")
        app = data.get("app", {}) if isinstance(data.get("app", {}), dict) else {}
        theme = app.get("theme", "")
        confirm = app.get("confirm_stop", True)
        return cls(theme=theme if isinstance(theme, str) else "",
                   confirm_stop=confirm if isinstance(confirm, bool) else True)

    def save(self) -> str:
        """Written whole into a new file then renamed over the old (a crash leaves one or the other); "" or why not."""
        import json

        folder = config_folder()
        path = os.path.join(folder, FILE)
        text = ("# machine-tui's app settings (the app rewrites this file when you change a setting in it)\n[app]\n"
                f"theme = {json.dumps(self.theme)}\n"
                f"confirm_stop = {'true' if self.confirm_stop else 'false'}  # stop and kill ask first\n")
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            tmp = f"{path}.{os.getpid()}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except OSError as err:
            return f"{path}: {err.strerror or err}"
        return ""


def why_unreadable(err: BaseException) -> str:
    if isinstance(err, UnicodeDecodeError):
        return f"not UTF-8 text (byte {err.object[err.start]:#04x} at {err.start})"
    if isinstance(err, OSError):
        return (err.strerror or str(err)).lower()
    return str(err)
