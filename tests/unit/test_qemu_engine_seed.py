"""The QEMU driver hands machine-tui's own image its engine's seed through fw_cfg at the first boot only, and only
when the image says it knows how (its engine-seed file); a cloud image gets it in its cloud-init seed. That the guests
apply it is tests/vm/test_qemu_driver.py."""

from __future__ import annotations

import os

from machine_tui.core.drivers.qemu import QemuDriver
from machine_tui.core.provisioning.seed import EngineSeed


def driver_on_image(tmp_path, knows_the_seed: bool) -> QemuDriver:
    image = tmp_path / "image, built"  # a comma, which QEMU's options take only doubled
    image.mkdir()
    if knows_the_seed:
        (image / "engine-seed").write_text("dockerd=/usr/sbin/dockerd\nexecstart=/usr/sbin/dockerd -H fd://\n")
    store = tmp_path / "store"
    driver = QemuDriver(QemuDriver.new_config("q1", str(store)))
    driver.set_config_from_flags({"qemu-local-image": str(image), "qemu-accel": "tcg"})
    driver.ssh_key_setting = str(store / "machines" / "q1" / "id_rsa")
    driver.ssh_port_setting, driver.engine_port = 40022, 40376
    return driver


def fw_cfg(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == "-fw_cfg"]


async def test_the_first_boot_of_a_seed_aware_image_carries_the_engines_seed(tmp_path):
    driver = driver_on_image(tmp_path, knows_the_seed=True)
    asked = []

    async def seed_engine(url: str, dockerd: str, execstart: str) -> EngineSeed:
        asked.append((url, dockerd, execstart))
        return EngineSeed("q1", "/s/certs/ca.pem", "/s/m,q1/server.pem", "/s/m,q1/server-key.pem", "/s/m,q1/seed.conf")

    driver.seed_engine = seed_engine
    await driver._make_engine_seed()
    assert asked == [("tcp://127.0.0.1:40376", "/usr/sbin/dockerd", "/usr/sbin/dockerd -H fd://")]
    key = os.path.join(str(tmp_path), "store", "machines", "q1", "id_rsa.pub")
    assert fw_cfg(driver._command()) == [
        f"name=opt/rig/ssh_key,file={key}",
        "name=opt/machine/hostname,string=q1",
        "name=opt/machine/ca.pem,file=/s/certs/ca.pem",
        "name=opt/machine/server.pem,file=/s/m,,q1/server.pem",
        "name=opt/machine/server-key.pem,file=/s/m,,q1/server-key.pem",
        "name=opt/machine/engine.conf,file=/s/m,,q1/seed.conf",
    ]
    # a later boot (start, restart) is another driver object: no seed, provisioning's files stay as they are
    later = QemuDriver(driver.config)
    assert [e.split(",")[0] for e in fw_cfg(later._command())] == ["name=opt/rig/ssh_key"]


async def test_no_seed_for_an_older_image_or_a_create_that_does_not_provision(tmp_path):
    async def seed_engine(url: str, dockerd: str, execstart: str) -> EngineSeed:
        raise AssertionError("not asked")

    older = driver_on_image(tmp_path, knows_the_seed=False)
    older.seed_engine = seed_engine
    await older._make_engine_seed()
    assert older.engine_seed is None and len(fw_cfg(older._command())) == 1
    (tmp_path / "b").mkdir()
    unprovisioned = driver_on_image(tmp_path / "b", knows_the_seed=True)  # seed_engine is set only to provision
    await unprovisioned._make_engine_seed()
    assert unprovisioned.engine_seed is None and len(fw_cfg(unprovisioned._command())) == 1


async def test_a_cloud_images_seed_carries_the_engine_in_its_cloud_init_user_data(tmp_path):
    """No fw_cfg reader in a cloud image: the seed rides in the NoCloud ISO as a bootcmd script (run at boot by
    cloud-init, before Docker would start), the dockerd left for the guest to name."""
    import yaml

    store = tmp_path / "store"
    mdir = store / "machines" / "c1"
    mdir.mkdir(parents=True)
    (mdir / "id_rsa.pub").write_text("ssh-ed25519 AAAAC3Nza me\n")
    for name in ("ca.pem", "server.pem", "server-key.pem", "engine-seed.conf"):
        (mdir / name).write_text(f"{name} of c1\n")
    driver = QemuDriver(QemuDriver.new_config("c1", str(store)))
    driver.set_config_from_flags({"qemu-image-url": "http://127.0.0.1:9/cloud.qcow2", "qemu-accel": "tcg"})
    driver.ssh_key_setting = str(mdir / "id_rsa")
    driver.ssh_port_setting, driver.engine_port = 40022, 40376
    seed = EngineSeed("c1", *(str(mdir / n) for n in ("ca.pem", "server.pem", "server-key.pem", "engine-seed.conf")))
    asked = []

    async def seed_engine(url: str, dockerd: str, execstart: str) -> EngineSeed:
        asked.append((url, dockerd, execstart))
        return seed

    driver.seed_engine = seed_engine
    await driver._make_engine_seed()
    assert asked == [("tcp://127.0.0.1:40376", "", "")] and driver.engine_seed is seed
    iso = (mdir / "seed.iso").read_bytes()
    assert oct((mdir / "seed.iso").stat().st_mode & 0o777) == "0o600"  # it holds the engine's server key
    start = iso.index(b"#cloud-config")
    user_data = yaml.safe_load(iso[start:iso.index(b"\0", start)].decode())
    assert user_data["bootcmd"] == [seed.first_boot_script()]
    assert user_data["users"][0]["ssh_authorized_keys"] == ["ssh-ed25519 AAAAC3Nza me"]
    assert "-fw_cfg" not in driver._command()

    # a create that does not provision: the seed is only the user and key
    plain = QemuDriver(driver.config)
    await plain._make_engine_seed()
    iso = (mdir / "seed.iso").read_bytes()
    start = iso.index(b"#cloud-config")
    assert "bootcmd" not in yaml.safe_load(iso[start:iso.index(b"\0", start)].decode())
