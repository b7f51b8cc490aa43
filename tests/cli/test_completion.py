"""Shell completion, generated from the CLI's flag tables: the bash script is sourced and asked at each position
(compgen, as bash asks it on Tab); the zsh and fish scripts parse in their shells and answer there too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import clean_env, run_cli


@pytest.fixture
def completer(store, tmp_path):
    """complete(*words) -> what Tab offers after them (the last word is the one being completed)."""
    env = clean_env(store)
    for name in ("web1", "web2", "db"):
        assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", name], env).returncode == 0
    script = run_cli(["completion", "bash"], env)
    assert script.returncode == 0, script.stderr
    (tmp_path / "c.bash").write_text(script.stdout)
    # the program the script calls for machine names: this checkout's CLI, on the test's store
    program = tmp_path / "bin" / "machine-tui"
    program.parent.mkdir()
    program.write_text(f'#!/bin/sh\nexec {sys.executable} -m machine_tui.cli "$@"\n')
    program.chmod(0o755)

    def complete(*words: str) -> list[str]:
        quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in ("machine-tui", *words))
        probe = (f"source {tmp_path}/c.bash; COMP_WORDS=({quoted}); COMP_CWORD={len(words)}; _machine_tui; "
                 'printf "%s\\n" "${COMPREPLY[@]}"')
        env_path = dict(env, PATH=f"{program.parent}:{os.environ['PATH']}")
        out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=env_path, cwd=tmp_path,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        return sorted(filter(None, out.stdout.splitlines()))

    return complete


def test_commands_and_global_flags(completer):
    assert completer("st") == ["start", "status", "stop"]
    assert {"create", "ls", "swarm", "run", "completion", "regenerate-certs"} <= set(completer(""))
    assert completer("--st") == ["--storage-path"]
    assert completer("-s", "/tmp", "rest") == ["restart"]  # a global flag's value is skipped


def test_flags_of_the_command(completer):
    assert completer("ls", "--f") == ["--filter", "--format"]
    assert completer("rm", "-") == ["--force", "--y", "-f"]
    assert completer("env", "--sh") == ["--shell"]


def test_drivers_after_d_and_each_drivers_flags_once_given(completer):
    assert completer("create", "-d", "") == ["amazonec2", "digitalocean", "generic", "none", "openstack", "qemu",
                                            "virtualbox"]
    assert completer("create", "--driver", "q") == ["qemu"]
    qemu = completer("create", "-d", "qemu", "--qemu-")
    assert "--qemu-memory" in qemu and "--qemu-network" in qemu and not any("amazonec2" in f for f in qemu)
    assert "--amazonec2-instance-type" in completer("create", "--driver=amazonec2", "--amazonec2-i")
    # the common create flags are there whatever the driver
    assert "--engine-label" in completer("create", "-d", "generic", "--engine-l")
    # no driver yet: only the common ones
    assert not any(f.startswith("--qemu") for f in completer("create", "--"))


def test_shells_after_shell_and_machine_names_where_a_name_goes(completer):
    assert completer("env", "--shell", "") == ["bash", "cmd", "emacs", "fish", "powershell", "tcsh", "zsh"]
    assert completer("env", "--shell", "fish", "w") == ["web1", "web2"]
    assert completer("stop", "") == ["db", "web1", "web2"]
    assert completer("ssh", "d") == ["db"]
    assert completer("ssh", "db", "") == []  # then a command: no names
    assert not {"db", "web1", "web2"} & set(completer("inspect", "--format", ""))  # a value, not a name
    assert completer("completion", "") == ["bash", "fish", "zsh"]
    assert completer("swarm", "") == ["activate", "drain", "init", "join", "leave", "ls", "services"]
    assert completer("swarm", "join", "web1", "w") == ["web1", "web2"]
    assert "true" in completer("run", "web1", "--", "tru")  # after --, run's command
    assert completer("ls", "") == []  # ls takes no names


def test_a_store_given_by_s_is_the_one_listed(completer, tmp_path):
    other = tmp_path / "other-store"
    assert run_cli(["create", "-d", "none", "--url", "tcp://127.0.0.1:1", "elsewhere"],
                   clean_env(str(other))).returncode == 0
    assert completer("-s", str(other), "rm", "") == ["elsewhere"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_parse_and_answer(store, tmp_path, shell):
    binary = shutil.which(shell)
    assert binary, f"{shell} is needed for this test: apt-get install {shell} (scripts/install-test-deps does)"
    out = run_cli(["completion", shell], clean_env(store))
    assert out.returncode == 0, out.stderr
    path = tmp_path / f"c.{shell}"
    path.write_text(out.stdout)
    check = [binary, "-n", str(path)] if shell == "zsh" else [binary, "--no-execute", str(path)]
    assert subprocess.run(check, capture_output=True, text=True).returncode == 0
    if shell == "zsh":
        probe = f"source {path}; print -r -- ${{_comps[machine-tui]}}"
        assert "_machine_tui" in subprocess.run([binary, "-c", probe], capture_output=True, text=True).stdout
    else:
        probe = f"source {path}; complete -C 'machine-tui create -d qemu --qemu-netw'"
        assert subprocess.run([binary, "-c", probe], capture_output=True, text=True).stdout.startswith("--qemu-network")


def test_an_unknown_shell_is_one_line(store):
    out = run_cli(["completion", "tcsh"], clean_env(store))
    assert out.returncode == 1 and out.stderr.strip() == "Error: Unknown shell 'tcsh': use bash, zsh or fish"
