"""``sfu = "janus"``: the standalone server starts its own supervised Janus and stops it,
and ``nbconference serve`` says in one line which package to install when it is missing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from nbconference.server.config import SignalingSettings
from nbconference.server.janus import JanusClient
from nbconference.server.standalone import start_server
from support.client import Client, connect_url
from support.janus import JANUS, JANUS_GATE, loopback_config, needs_janus
from support.polling import eventually
from support.processes import free_port, process_alive
from support.redis_fixtures import TOKEN, start_redis_standalone
from support.redis_server import RedisServer
from support.standalone import ServeProcess

SRC = Path(__file__).resolve().parents[1] / "src"


@needs_janus
async def test_serve_with_sfu_janus_starts_and_stops_its_own_janus() -> None:
    settings = SignalingSettings(sfu="janus", janus_rtp_port_range=loopback_config().rtp_port_range)
    running = await start_server(settings=settings, port=0)
    try:
        assert running.janus is not None and running.janus.pid is not None
        pid = running.janus.pid
        client = await JanusClient.connect(running.janus.url, running.janus.config.api_secret)
        try:
            assert (await client.info())["janus"] == "server_info"
        finally:
            await client.close()
    finally:
        await running.stop()
    await eventually(lambda: not process_alive(pid), 10, f"janus (pid {pid}) stopped")


async def test_serve_without_sfu_starts_no_janus() -> None:
    running = await start_server(settings=SignalingSettings(), port=0)
    try:
        assert running.janus is None
    finally:
        await running.stop()


@needs_janus
async def test_a_join_while_the_sfu_starts_waits_for_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The server listens before its Janus is up; a room joined meanwhile must not open on
    the mesh for want of it (with mesh_max_peers 0, every room is on the SFU)."""
    monkeypatch.setenv("PATH", f"{JANUS_GATE}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("NBC_REAL_JANUS", str(JANUS))
    monkeypatch.setenv("NBC_JANUS_DELAY", "2")
    range_ = loopback_config().rtp_port_range
    server = ServeProcess(
        *("--sfu", "janus", "--mesh-max-peers", "0", f"--janus-rtp-port-range={range_}"),
        log_dir=tmp_path,
    )
    try:
        await server.ready()
        client = Client(await connect_url(server.url_with_token))
        joining = asyncio.ensure_future(client.join("lab", timeout=30))
        await asyncio.sleep(0.5)
        assert "signaling on" not in server.output(), "Janus was up before the join"
        assert not joining.done(), "the join did not wait for the SFU"
        welcome = await asyncio.wait_for(joining, 30)
        assert welcome["media"] == "sfu"
        client.close()
    finally:
        server.stop()


@needs_janus
async def test_a_killed_serve_takes_its_janus_with_it() -> None:
    range_ = loopback_config().rtp_port_range
    server = ServeProcess("--sfu", "janus", f"--janus-rtp-port-range={range_}")
    janus: list[psutil.Process] = []
    try:
        await server.ready()  # Janus starts once the port is bound: it may still be coming

        def started() -> bool:
            janus[:] = psutil.Process(server.pid).children(recursive=True)
            return [p.name() for p in janus] == ["janus"]

        await eventually(started, 30, "the server's Janus to start")
        server.process.kill()  # SIGKILL: no shutdown code runs
        await eventually(
            lambda: not process_alive(janus[0].pid), 10, "Janus to end with its server"
        )
    finally:
        server.stop()
        for left in janus:  # only when the test failed: nothing outlives it
            with contextlib.suppress(psutil.NoSuchProcess):
                left.kill()


def test_serve_names_the_package_when_janus_is_missing(tmp_path: Path) -> None:
    # A PATH with no janus on it: the real lookup, nothing mocked.
    env = {**os.environ, "PATH": str(tmp_path), "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [
            *(sys.executable, "-m", "nbconference", "serve", "--sfu", "janus"),
            *("--port", str(free_port()), "--token", "t" * 32),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "apt-get install janus" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr


@needs_janus
async def test_serve_may_hold_an_sfu_with_redis(redis_server: RedisServer) -> None:
    """``nbconference serve`` is the trusted signaling: Redis between its replicas and an
    SFU together are allowed there (only a per-user Jupyter server refuses them)."""
    rtp = loopback_config().rtp_port_range
    running = await start_redis_standalone(redis_server.url, sfu="janus", janus_rtp_port_range=rtp)
    try:
        assert running.janus is not None and running.registry.sfu is not None
        client = Client(await connect_url(f"{running.url}?token={TOKEN}"))
        welcome = await client.join("lab")
        assert welcome["media"] == "mesh" and welcome["limits"]["max_peers_per_room"] == 50
        client.close()
    finally:
        await running.stop()
