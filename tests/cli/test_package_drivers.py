"""A driver from another Python package: one entry point in the `machine_tui.drivers` group makes it a driver like
the built-in ones (create, its --help, ls, rm); `drivers` lists every driver a create can name with where it comes
from, without importing any."""

from __future__ import annotations

import os

from conftest import clean_env, run_cli

DRIVER = '''
from machine_tui.core.drivers import Driver, Setting, State
from machine_tui.core.flags import Flag


class DemoDriver(Driver):
    name = "demo"
    summary = "a host somewhere else, reached at its URL"
    provisions = False
    flags = [Flag("demo-url", "URL of the host's Docker engine", env="DEMO_URL")]
    url = Setting("URL", str, flag="demo-url")

    async def state(self):
        return State.RUNNING

    async def get_url(self):
        return self.url
'''


def package(tmp_path):
    site = tmp_path / "site"
    (site / "demo_driver_pkg").mkdir(parents=True)
    (site / "demo_driver_pkg" / "__init__.py").write_text(DRIVER)
    info = site / "demo_driver_pkg-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-driver-pkg\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text("[machine_tui.drivers]\ndemo = demo_driver_pkg:DemoDriver\n"
                                           "broken = demo_driver_pkg.missing:Nothing\nnone = elsewhere:Other\n")
    return str(site)


def test_a_driver_from_another_package_creates_lists_and_removes(store, tmp_path):
    site = package(tmp_path)
    env = clean_env(store, PYTHONPATH=os.pathsep.join(filter(None, [site, os.environ.get("PYTHONPATH", "")])))
    listed = run_cli(["drivers"], env).stdout.splitlines()
    assert listed[0].split() == ["NAME", "ORIGIN", "VERSION"]
    assert any(line.split()[:5] == ["demo", "Python", "package", "demo-driver-pkg", "1.2.3"] for line in listed)
    assert [line.split()[:3] for line in listed if line.startswith("none ")] == [["none", "built", "in"]]  # kept
    assert "--demo-url" in run_cli(["create", "-d", "demo", "--help"], env).stdout
    r = run_cli(["create", "-d", "demo", "--demo-url", "tcp://127.0.0.1:1", "d1"], env)
    assert r.returncode == 0, r.stderr
    assert run_cli(["ls", "--format", "{{.Name}} {{.DriverName}} {{.State}} {{.URL}}"], env).stdout == \
        "d1 demo Running tcp://127.0.0.1:1\n"
    assert run_cli(["url", "d1"], env).stdout == "tcp://127.0.0.1:1\n"
    r = run_cli(["create", "-d", "broken", "b1"], env)
    assert r.returncode == 1 and r.stderr.startswith('Driver "broken" (from the Python package demo-driver-pkg) '
                                                     "cannot be loaded: No module named"), r.stderr
    assert run_cli(["rm", "-y", "d1"], env).returncode == 0
    assert run_cli(["ls", "-q"], env).stdout == ""


def test_drivers_names_plugin_binaries_on_path(store, tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    plugin = folder / "docker-machine-driver-fancy"
    plugin.write_text("#!/bin/sh\nexit 1\n")
    plugin.chmod(0o755)
    env = clean_env(store, PATH=f"{folder}{os.pathsep}{os.environ['PATH']}")
    rows = [line.split(None, 2) for line in run_cli(["drivers"], env).stdout.splitlines()]
    assert ["fancy", "plugin", f"binary {plugin}   -"] in rows, rows


def test_an_unknown_driver_is_said_in_docker_machines_words_and_a_broken_plugin_is_named(store, tmp_path):
    env = clean_env(store)
    r = run_cli(["create", "-d", "fancy", "f1"], env)
    assert (r.returncode, r.stderr) == (1, 'Driver "fancy" not found. Do you have the plugin binary '
                                           '"docker-machine-driver-fancy" accessible in your PATH?\n')
    folder = tmp_path / "bin"
    folder.mkdir()
    plugin = folder / "docker-machine-driver-fancy"
    plugin.write_text("#!/bin/sh\necho 'This is not a plugin' >&2\nexit 1\n")
    plugin.chmod(0o755)
    r = run_cli(["create", "-d", "fancy", "f1"], {**env, "PATH": f"{folder}{os.pathsep}{env['PATH']}"})
    assert (r.returncode, r.stderr) == (1, "docker-machine-driver-fancy exited (status 1) before it gave its "
                                           "address (is it a docker-machine driver plugin?): This is not a plugin\n"), r.stderr
    assert not os.path.exists(os.path.join(store, "machines", "f1"))
