import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
FIXTURES = os.path.join(SHARED, "fixtures", "docker-machine")


def clean_env(store: str | None = None, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MACHINE_", "DOCKER_")) and k != "USER"}
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    env["SHELL"] = "/bin/bash"
    env["MACHINE_TUI_LOG_DIR"] = (store.rstrip("/") + "-logs") if store else "/tmp/machine-tui-test-logs"
    if store:
        env["MACHINE_STORAGE_PATH"] = store
    env.update(extra)
    return env


def run_cli(args, env, stdin_text=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "machine_tui.tui.cli", *args], env=env, capture_output=True, text=True,
        input=stdin_text if stdin_text is not None else "", timeout=timeout,
    )


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "store"
    return str(path)


@pytest.fixture
def cli(store):
    def _run(*args, stdin=None, **env_extra):
        return run_cli(list(args), clean_env(store, **env_extra), stdin)

    return _run
