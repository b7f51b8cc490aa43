"""What the drill-down reads from a machine's engine (core/containers.py over core/engine_client.py), against the
loopback TLS engine of tests/helpers/fakedocker.py: lists, CPU from two samples, actions and the engine's own errors,
logs demultiplexed and followed, streamed stats, a shell by exec, kept-alive connections."""

from __future__ import annotations

import asyncio
import os

import pytest
from fakedocker import FakeDocker
from fakeengine import FakeEngine
from machine_tui.core import certs
from machine_tui.core.engine import EngineError
from machine_tui.core.engine_client import EngineClient
from machine_tui.core.errors import MachineError
from machine_tui.core.service import containers
from vmrig import free_port


@pytest.fixture
def engine(store):
    os.makedirs(f"{store}/certs", mode=0o700)
    files = [f"{store}/certs/{f}" for f in ("ca.pem", "ca-key.pem", "cert.pem", "key.pem")]
    certs.bootstrap(*files, lambda _: None)
    docker = FakeDocker()
    port = free_port()
    with FakeEngine(store, "127.0.0.1", port, docker=docker, hostname="box"):
        client = EngineClient("box", f"tcp://127.0.0.1:{port}", files[0], files[2], files[3], timeout=5)
        yield client, docker
        client.close()


def test_containers_with_ports_and_cpu_from_the_second_sample(engine):
    client, docker = engine
    docker.add("web", "nginx:1.27", ports=[{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                                           {"PrivatePort": 443, "Type": "tcp"}])
    docker.add("old", running=False)

    async def go():
        contents = await containers.list_containers(client)
        first = list(contents.containers)
        await asyncio.sleep(0.2)
        return first, await containers.list_containers(client, contents)

    first, second = asyncio.run(go())
    web = {c.name: c for c in first}["web"]
    assert web.ports == "0.0.0.0:8080->80/tcp, 443/tcp"
    assert web.state == "running" and web.cpu is None  # one sample is not a rate
    assert web.memory == 52_428_800 - 10_485_760  # the page cache left out, as docker stats does
    again = {c.name: c for c in second.containers}
    assert again["web"].cpu == pytest.approx(25, abs=3)  # a quarter of one CPU
    assert again["old"].state == "exited" and again["old"].cpu is None
    # one kept-alive connection served the lists and the samples: no handshake per request
    assert len(client._idle) >= 1


def test_images_volumes_info(engine):
    client, docker = engine

    async def go():
        return (await containers.list_images(client), await containers.list_volumes(client),
                await containers.engine_info(client))

    images, volumes, info = asyncio.run(go())
    assert images[0]["RepoTags"] == ["busybox:latest"]
    assert volumes[0]["Name"] == "data"
    assert info["Name"] == "box" and info["ServerVersion"] == "20.10.24"


def test_actions_and_the_engines_own_error(engine):
    client, docker = engine
    c = docker.add("web")

    async def go():
        await containers.container_action(client, c.id, "stop")
        assert not c.running
        with pytest.raises(EngineError, match="is not running"):
            await containers.container_action(client, c.id, "kill")
        await containers.container_action(client, c.id, "start")
        assert c.running
        await containers.container_action(client, c.id, "remove")  # forced: a running one goes too
        assert c.id not in docker.containers
        with pytest.raises(EngineError, match="No such container"):
            await containers.container_action(client, c.id, "start")

    asyncio.run(go())


@pytest.mark.parametrize("tty", [False, True])
def test_logs_tail_then_follow_until_the_container_stops(engine, tty):
    client, docker = engine
    c = docker.add("web", tty=tty)
    for i in range(5):
        c.write(f"line {i}\n".encode(), stream=1 + i % 2)

    async def go():
        got = b""

        async def later():
            await asyncio.sleep(0.3)
            c.write(b"after follow\n")
            await asyncio.sleep(0.2)
            c.set_running(False)

        writer = asyncio.ensure_future(later())
        async for data in containers.follow_logs(client, c.id, tail=2):
            got += data
        await writer
        return got

    assert asyncio.run(asyncio.wait_for(go(), 10)) == b"line 3\nline 4\nafter follow\n"


def test_stats_stream_gives_cpu_per_sample(engine):
    client, docker = engine
    c = docker.add("web")

    async def go():
        samples = []
        async for sample in containers.follow_stats(client, c.id):
            samples.append(sample)
            if len(samples) == 3:
                break
        return samples

    samples = asyncio.run(asyncio.wait_for(go(), 10))
    assert samples[0]["cpu_percent"] is None and samples[2]["cpu_percent"] > 0
    assert samples[1]["memory_in_use"] == 52_428_800 - 10_485_760


def test_exec_shell_echoes_runs_and_resizes(engine):
    client, docker = engine
    c = docker.add("web")

    async def go():
        session = await containers.ExecSession.open(client, c.id, 100, 30)
        out = b""
        while b"# " not in out:
            out += await session.read()
        session.write(b"echo hello from inside\r")
        while b"hello from inside\r\n" not in out:
            out += await session.read()
        session.resize(120, 40)
        session.write(b"exit\r")
        while data := await session.read():
            out += data
        return session, out

    session, out = asyncio.run(asyncio.wait_for(go(), 10))
    assert out.startswith(f"root@{c.id[:12]}:/# ".encode())
    assert session.exit_status == 0
    ex = next(iter(docker.execs.values()))
    assert ex["body"]["Tty"] and ex["body"]["AttachStdin"]
    assert ("100", "30") in ex["resized"]


def test_an_engine_that_is_not_there_is_one_line(store, engine):
    client, _ = engine
    gone = EngineClient("gone", f"tcp://127.0.0.1:{free_port()}", *client.files, timeout=2)
    with pytest.raises(MachineError) as err:
        asyncio.run(containers.list_containers(gone))
    assert str(err.value).startswith("Cannot reach the engine of gone at 127.0.0.1:")
    assert "connection refused" in str(err.value) and "\n" not in str(err.value)


def test_an_error_page_that_is_not_the_engines_is_one_line_not_markup():
    from machine_tui.core.engine_client import error_message

    html = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>" \
           "<hr><center>nginx</center></body></html>\n" * 20
    said = error_message(html, 502, "Bad Gateway")
    assert said == "HTTP 502 Bad Gateway (an HTML page: something other than the Docker engine answered)"
    assert error_message({"message": "No such container:\n abc"}, 404, "Not Found") == "No such container: abc"
    assert error_message(None, 500, "Internal Server Error") == "HTTP 500 Internal Server Error"
    assert len(error_message("x " * 500, 500, "Internal Server Error")) == 200
