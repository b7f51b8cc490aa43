"""`env`: the shell lines that point the docker client at a machine, in each shell's syntax."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing itself is not loaded: these modules are on the quick commands' path
if TYPE_CHECKING:
    from typing import Any

# shell: (set prefix, set delim, set suffix, unset prefix, unset delim, unset suffix, comment, hint template)
SHELLS = {
    "bash": ("export ", '="', '"\n', "unset ", "", "\n", "#", "eval $({argv})"),
    "fish": ("set -gx ", ' "', '";\n', "set -e ", "", ";\n", "#", "eval ({argv})"),
    "powershell": ("$Env:", ' = "', '"\n', "Remove-Item Env:\\\\", "", "\n", "#", "& {argv} | Invoke-Expression"),
    "cmd": ("SET ", "=", "\n", "SET ", "=", "\n", "REM", '\t@FOR /f "tokens=*" %i IN (\'{argv}\') DO @%i'),
    "tcsh": ("setenv ", ' "', '";\n', "unsetenv ", "", ";\n", ":", "eval `{argv}`"),
    "emacs": ('(setenv "', '" "', '")\n', '(setenv "', '" nil', ")\n", ";;",
              '(with-temp-buffer (shell-command "{argv}" (current-buffer)) (eval-buffer))'),
}
KNOWN_SHELLS = ("bash", "zsh", "sh", "fish", "powershell", "cmd", "tcsh", "emacs")

NO_SHELL_NOTICE = (
    "The default lines below are for a sh/bash shell, you can specify the shell you're using, "
    "with the --shell flag.\n\n"
)


class UnknownShell(Exception):
    pass


def detect_shell(explicit: str = "") -> str:
    """--shell wins; else basename($SHELL). Without $SHELL on Windows, the program that started this one, as
    docker-machine's shell_windows.go detects it: PowerShell (powershell or pwsh) or else cmd. Elsewhere
    docker-machine fails with no $SHELL (dm#2947), and so does this."""
    if explicit:
        return explicit
    shell = os.environ.get("SHELL", "")
    if shell:
        return os.path.basename(shell).removesuffix(".exe")
    if sys.platform == "win32":
        from ..hostos import parent_program

        started_by = parent_program()
        return "powershell" if started_by.startswith(("powershell", "pwsh")) else "cmd"
    raise UnknownShell()


def _syntax(shell: str) -> Any:
    return SHELLS.get(shell, SHELLS["bash"])  # unknown shells fall back to bash, as docker-machine does


def quote_argv(argv: list[str]) -> str:
    first = argv[0]
    if " " in first or "\\" in first:
        first = f'"{first}"'
    return " ".join([first] + list(argv[1:]))


def no_proxy_var() -> tuple[str, str]:
    if os.environ.get("no_proxy"):
        return "no_proxy", os.environ["no_proxy"]
    return "NO_PROXY", os.environ.get("NO_PROXY", "")


def render_set(shell: str, values: list[tuple[str, str]], argv: list[str]) -> str:
    pre, delim, suf, *_rest = _syntax(shell)
    out = "".join(f"{pre}{k}{delim}{v}{suf}" for k, v in values)
    return out + _hint(shell, argv)


def render_unset(shell: str, names: list[str], argv: list[str]) -> str:
    _, _, _, pre, delim, suf, *_ = _syntax(shell)
    out = "".join(f"{pre}{k}{delim}{suf}" for k in names)
    return out + _hint(shell, argv)


def _hint(shell: str, argv: list[str]) -> str:
    comment, template = _syntax(shell)[6:]
    return f"{comment} Run this command to configure your shell: \n{comment} {template.format(argv=quote_argv(argv))}\n"


def docker_env(host_url: str, cert_path: str, name: str, ip: str | None, no_proxy: bool) -> list[tuple[str, str]]:
    values = [
        ("DOCKER_TLS_VERIFY", "1"),
        ("DOCKER_HOST", host_url),
        ("DOCKER_CERT_PATH", cert_path),
        ("DOCKER_MACHINE_NAME", name),
    ]
    if no_proxy and ip is not None:
        var, existing = no_proxy_var()
        if not existing:
            value = ip
        elif ip in existing:
            value = existing
        else:
            value = f"{existing},{ip}"
        values.append((var, value))
    return values


UNSET_NAMES = ["DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH", "DOCKER_MACHINE_NAME"]
