"""CLI behaviour beyond the captured sessions: filters, templates, timeouts, JSON, bad input."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys

from conftest import clean_env


def make(cli, name, url="tcp://127.0.0.1:1", *extra):
    r = cli("create", "-d", "none", "--url", url, *extra, name)
    assert r.returncode == 0, r.stderr
    return r


def test_ls_filters_and_natural_sort(cli):
    make(cli, "web10", "tcp://127.0.0.1:1", "--engine-label", "tier=Front")
    make(cli, "web2", "tcp://127.0.0.1:1", "--engine-label", "tier=back")
    make(cli, "db", "tcp://127.0.0.1:1", "--swarm-master", "--swarm-discovery", "token://t1")
    make(cli, "node1", "tcp://127.0.0.1:1", "--swarm", "--swarm-discovery", "token://t1")
    q = lambda *a: cli("ls", "-q", *a).stdout.split()
    assert q() == ["db", "node1", "web10", "web2"]  # -q: directory order
    rows = cli("ls").stdout.splitlines()[1:]
    assert [r.split()[0] for r in rows] == ["db", "node1", "web2", "web10"]  # table: natural sort
    assert q("--filter", "label=tier=front") == ["web10"]
    assert q("--filter", "name=^web") == ["web10", "web2"]
    assert q("--filter", "name=web2", "--filter", "name=db") == ["db", "web2"]  # same key: OR
    assert q("--filter", "name=web", "--filter", "label=tier=back") == ["web2"]  # keys: AND
    assert q("--filter", "swarm=db") == ["db", "node1"]
    assert q("--filter", "driver=NONE") == ["db", "node1", "web10", "web2"]
    assert q("--filter", "state=Running", "--filter", "name=db") == ["db"]
    swarm_col = {r.split()[0]: r for r in rows}
    assert "db (master)" in swarm_col["db"]


def test_ls_bad_input_is_one_line_and_exit_1(cli):
    make(cli, "a")
    r = cli("ls", "--filter", "foo=bar")
    assert (r.returncode, r.stderr) == (1, "Unsupported filter key 'foo'\n")
    r = cli("ls", "--filter", "nonsense")
    assert r.returncode == 1 and r.stderr == "Unsupported filter syntax.\n"
    r = cli("ls", "--format", "{{json .}}")
    assert (r.returncode, r.stderr) == (1, 'template: :1: function "json" not defined\n')
    r = cli("ls", "--format", "{{.Name")
    assert r.returncode == 1 and r.stderr == "template: :1: unclosed action\n"
    r = cli("ls", "--bogus")
    assert r.returncode == 1 and "flag provided but not defined: -bogus" in r.stderr


def test_ls_timeout_marks_only_the_slow_host(cli):
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)  # accepts TCP but never speaks TLS
    port = hole.getsockname()[1]
    try:
        make(cli, "slow", f"tcp://127.0.0.1:{port}")
        make(cli, "closed", "tcp://127.0.0.1:1")
        r = cli("ls", "-t", "1")
    finally:
        hole.close()
    rows = {l.split()[0]: l for l in r.stdout.splitlines()[1:]}
    # its state was known in time, only its engine was slow: the state stays (as `status` says it), the engine is named
    assert rows["slow"].split()[:5] == ["slow", "-", "none", "Running", f"tcp://127.0.0.1:{port}"]
    assert rows["slow"].endswith("Unknown   Unable to query docker version: no answer within 1 s")
    assert cli("status", "slow").stdout == "Running\n"
    assert "Running" in rows["closed"]
    r0 = cli("ls", "-t", "0")
    assert all(l.split()[2] == "Timeout" for l in r0.stdout.splitlines()[1:])


def test_ls_json_inspect_json_status_json(cli):
    make(cli, "a")
    rows = json.loads(cli("ls", "--json").stdout)
    assert rows[0]["Name"] == "a" and rows[0]["State"] == "Running" and rows[0]["DockerVersion"] == "Unknown"
    assert json.loads(cli("status", "--json", "a").stdout) == {"Name": "a", "State": "Running"}
    assert json.loads(cli("inspect", "--json", "a").stdout)["DriverName"] == "none"


def test_inspect_templates(cli):
    make(cli, "a")
    assert cli("inspect", "-f", "{{.DriverName}}", "a").stdout == "none\n"
    assert cli("inspect", "-f", "{{json .DriverName}}", "a").stdout == '"none"\n'
    pretty = cli("inspect", "-f", "{{prettyjson .HostOptions.SwarmOptions}}", "a").stdout
    assert pretty.startswith('{\n    "Address": "",\n')
    assert cli("inspect", "-f", "{{range .HostOptions.EngineOptions.ArbitraryFlags}}x{{end}}", "a").stdout == "\n"
    r = cli("inspect", "-f", "{{.Nope", "a")
    assert r.returncode == 1 and r.stderr.startswith("template parsing error:")


def test_create_bad_input_writes_nothing(cli, store):
    for args, msg in [
        (["create", "-d", "none", "--url", "tcp://x:1", ".bad"], "Invalid hostname specified"),
        (["create", "-d", "none", "--batch", "a", "../b"], "Error creating machine '../b'"),
        (["create", "-d", "none", "--url", "tcp://x:1", "a", "extra"], "Found extra arguments [extra]"),
        (["create", "-d", "none", "--count", "0", "--parallel", "0", "c"], "--parallel"),
        (["create", "-d", "generic", "g"], "requires the --generic-ip-address option"),
        (["create", "-d", "none", "--url", "tcp://x:1", "--swarm-discovery", "nope", "s"],
         "Swarm Discovery URL was in the wrong format: nope"),
    ]:
        r = cli(*args)
        assert r.returncode == 1, args
        assert msg in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert not os.path.exists(os.path.join(store, "machines"))
    r = cli("create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-key", "/no/key", "g")
    assert r.returncode == 3
    assert not os.path.exists(os.path.join(store, "machines", "g"))


def test_env_shell_detection_and_unset(cli):
    r = cli("env", "--unset", SHELL="/usr/bin/fish")
    assert r.stdout.startswith("set -e DOCKER_TLS_VERIFY;\n")
    r = cli("env", "--unset", SHELL="")
    assert r.returncode == 1 and r.stderr == "Error: Unknown shell\n"
    assert r.stdout.startswith("The default lines below are for a sh/bash shell")
    r = cli("env", "--unset", "--no-proxy", no_proxy="a.example")
    assert "unset no_proxy\n" in r.stdout
    r = cli("env", "-u", "somebody")
    assert r.stderr == "Error: Expected no machine name when the -u flag is present\n"


def test_rm_force_removes_a_broken_machine(cli, store):
    make(cli, "a")
    open(os.path.join(store, "machines", "a", "config.json"), "w").write("{broken")
    r = cli("rm", "-y", "a")
    assert r.returncode == 1 and os.path.isdir(os.path.join(store, "machines", "a"))
    r = cli("rm", "-f", "a")
    assert r.returncode == 0 and "Successfully removed a" in r.stdout
    assert not os.path.exists(os.path.join(store, "machines", "a"))


def test_rm_prompt_yes(cli, store):
    make(cli, "a")
    r = cli("rm", "a", stdin="y\n")
    assert r.stdout.endswith("Are you sure? (y/n): Successfully removed a\n")


def test_default_machine_is_used_without_a_name(cli):
    make(cli, "default", "tcp://127.0.0.1:9")
    assert cli("url").stdout == "tcp://127.0.0.1:9\n"
    assert cli("ip").stdout == "127.0.0.1:9\n"
    assert cli("status").stdout == "Running\n"


def test_debug_mirrors_log_to_stderr_and_log_is_private(cli, store):
    r = cli("--debug", "create", "-d", "none", "--url", "tcp://127.0.0.1:1", "a")
    assert "Creating machine..." in r.stderr
    log = os.path.join(store + "-logs", "machine-tui.log")
    assert oct(os.stat(log).st_mode & 0o777) == "0o600"
    assert "Creating machine" in open(log).read()


def test_a_plain_error_is_one_private_log_line_written_without_the_logging_module(cli, store):
    """A command that ends in an error a script expects (no such machine) says it in the log, as the logger
    would, without loading logging or platformdirs (some 40 ms of such a command's start)."""
    r = cli("status", "nosuch")
    assert r.returncode == 1
    log = os.path.join(store + "-logs", "machine-tui.log")
    assert oct(os.stat(log).st_mode & 0o777) == "0o600"
    [line] = [x for x in open(log).read().splitlines() if "nosuch" in x]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \d+ ERROR Docker machine \"nosuch\" does not exist\..*", line)
    code = ("import sys\nfrom machine_tui.cli.main import main\nsys.argv = ['machine-tui', 'status', 'nosuch']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nprint(sorted(m for m in ('logging', 'platformdirs') "
            "if m in sys.modules))")
    env = {**os.environ, "MACHINE_STORAGE_PATH": store, "MACHINE_TUI_LOG_DIR": store + "-logs"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


def test_redaction():
    from machine_tui.core.logfile import redact

    assert redact("key -----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY----- end") == "key <REDACTED> end"
    assert redact("--github-api-token=abc123 x") == "--github-api-token=<REDACTED> x"
    assert redact('"SecretKey": "s3cr3t"') == '"SecretKey": "<REDACTED>"'
    assert redact("create --amazonec2-secret-key s3 --amazonec2-session-token=t0 -d x") == \
        "create --amazonec2-secret-key <REDACTED> --amazonec2-session-token=<REDACTED> -d x"


def test_version_does_not_import_heavy_modules():
    import subprocess
    import sys

    code = (
        "import sys; from machine_tui.cli import main as cli; import io; out=io.StringIO();"
        "[cli.dispatch(a, out, io.StringIO()) for a in (['--version'], ['env','--unset','--shell','bash'], ['ls','-q'])];"
        "print(sorted(m for m in ('textual','rich','asyncssh','cryptography') if m in sys.modules))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean_env("/tmp/none-store-x"))
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_none_machines_have_no_ssh_and_say_so_at_once(cli):
    make(cli, "n1")
    for args in (["ssh", "n1"], ["provision", "n1"], ["regenerate-certs", "-f", "n1"], ["upgrade", "n1"],
                 ["scp", "/etc/hostname", "n1:/tmp/x"]):
        r = cli(*args)
        assert r.returncode == 1, args
        assert '"n1" uses the none driver, which has no SSH access' in r.stderr, (args, r.stderr)
        assert "(1/" not in r.stdout + r.stderr  # said at once, with none of docker-machine's 3 minutes of retries


def test_failed_generic_create_leaves_an_error_machine_that_rm_f_removes(cli, store, tmp_path):
    import subprocess

    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    r = cli("create", "-d", "generic", "--generic-ip-address", "127.0.0.1", "--generic-ssh-port", "1",
            "--generic-ssh-key", str(key), "down", MACHINE_WAIT_RETRIES="2")
    assert r.returncode == 1
    assert r.stderr.startswith("Error creating machine: ")
    assert "Waiting for Running (1/2): Stopped" in r.stdout
    assert "Maximum number of retries (2) exceeded" in r.stderr
    row = cli("ls").stdout.splitlines()[1]
    assert row.split()[:4] == ["down", "-", "generic", "Error"]
    assert "Error creating machine" in row
    assert cli("status", "down").stdout == "Error\n"
    r = cli("rm", "-f", "down")
    assert r.returncode == 0 and not os.path.exists(os.path.join(store, "machines", "down"))
