"""Janus, the SFU, as nbconference starts it: our own config, the supervisor, the server's
client of its JSON API, and media through a VideoRoom between two aiortc peers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest
from aiortc.mediastreams import MediaStreamError
from tornado.websocket import websocket_connect
from traitlets import TraitError

from nbconference.server.config import SignalingSettings
from nbconference.server.janus import (
    JanusClient,
    JanusError,
    JanusMissing,
    JanusProcess,
)
from nbconference.server.janus.config import JanusConfig, parse_port_range, write_config
from support.janus import (
    JANUS,
    JANUS_GATE,
    listening,
    loopback_config,
    needs_janus,
    publish,
    rtc,
    subscribe,
)
from support.polling import eventually

pytestmark = needs_janus


@pytest.fixture
async def janus(tmp_path: Path) -> AsyncIterator[JanusProcess]:
    """A started Janus with a generated config in ``tmp_path``; stopped by pid after."""
    process = JanusProcess(loopback_config(), directory=tmp_path / "janus")
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest.fixture
async def client(janus: JanusProcess) -> AsyncIterator[JanusClient]:
    connected = await JanusClient.connect(janus.url, janus.config.api_secret)
    try:
        yield connected
    finally:
        await connected.close()


def test_config_has_no_packaged_secret_no_demo_rooms_one_transport(tmp_path: Path) -> None:
    one, other = JanusConfig(), JanusConfig()
    assert one.api_secret != other.api_secret and one.admin_key != other.admin_key
    jcfg = write_config(one, tmp_path / "conf")
    assert oct((tmp_path / "conf").stat().st_mode & 0o777) == "0o700"
    text = jcfg.read_text()
    assert "janusoverlord" not in text and "admin_secret" not in text
    assert f'api_secret = "{one.api_secret}"' in text
    assert 'rtp_port_range = "20000-20999"' in text
    videoroom = (tmp_path / "conf" / "janus.plugin.videoroom.jcfg").read_text()
    # One section only, "general": no rooms.
    assert [line for line in videoroom.splitlines() if line.endswith("{")] == ["general: {"]
    assert "string_ids = true" in videoroom and one.admin_key in videoroom
    written = sorted(p.name for p in (tmp_path / "conf").iterdir())
    assert written == [
        "janus.jcfg",
        "janus.plugin.videoroom.jcfg",
        "janus.transport.websockets.jcfg",
    ]
    with pytest.raises(ValueError, match="FIRST-LAST"):
        JanusConfig(rtp_port_range="20000")


def test_a_deployment_sets_where_janus_gathers_and_what_it_advertises(tmp_path: Path) -> None:
    """Loopback candidates only by default (one machine); the settings name the
    interface browsers reach and the public address behind 1:1 NAT."""
    default = write_config(JanusConfig(), tmp_path / "one").read_text()
    assert 'ice_enforce_list = "127.0.0.1"' in default and "nat_1_1_mapping" not in default
    settings = SignalingSettings(
        sfu="janus", janus_ice_enforce_list="eth0", janus_nat_1_1_mapping="203.0.113.7"
    )
    config = JanusConfig(
        ice_enforce_list=settings.janus_ice_enforce_list,
        nat_1_1_mapping=settings.janus_nat_1_1_mapping,
    )
    deployed = write_config(config, tmp_path / "two").read_text()
    assert 'ice_enforce_list = "eth0"' in deployed
    assert 'nat_1_1_mapping = "203.0.113.7"' in deployed
    with pytest.raises(TraitError, match="'my-vm' is not an IP address"):
        SignalingSettings(janus_nat_1_1_mapping="203.0.113.7,my-vm")


async def test_janus_starts_with_only_our_transport_and_plugin(
    janus: JanusProcess, client: JanusClient
) -> None:
    info = await client.info()
    assert list(info["transports"]) == ["janus.transport.websockets"]
    assert list(info["plugins"]) == ["janus.plugin.videoroom"]
    assert info["api_secret"] is True
    assert janus.pid is not None
    tcp = [address for address in listening(janus.pid) if address.startswith("tcp")]
    assert tcp == [f"tcp 127.0.0.1:{janus.config.ws_port}"]


async def test_a_request_without_the_api_secret_is_refused(janus: JanusProcess) -> None:
    socket = await websocket_connect(janus.url, subprotocols=["janus-protocol"])
    try:
        await socket.write_message(json.dumps({"janus": "create", "transaction": "t1"}))
        reply = json.loads(await socket.read_message() or "{}")
    finally:
        socket.close()
    assert reply["janus"] == "error" and reply["error"]["code"] == 403, reply
    wrong = await JanusClient.connect(janus.url, "not-the-secret")
    try:
        with pytest.raises(JanusError, match="403") as refused:
            await wrong.create()
    finally:
        await wrong.close()
    assert "secret" in refused.value.reason


async def test_a_named_room_is_created_with_the_admin_key_listed_and_destroyed(
    janus: JanusProcess, client: JanusClient
) -> None:
    session = await client.create()
    handle = await session.attach()
    with pytest.raises(JanusError, match="Missing mandatory element \\(admin_key\\)"):
        await handle.message({"request": "create", "room": "lab"})
    key = janus.config.admin_key
    created, _ = await handle.message(
        {"request": "create", "room": "lab", "admin_key": key, "publishers": 50}
    )
    assert created == {"videoroom": "created", "room": "lab", "permanent": False}
    listed, _ = await handle.message({"request": "list"})
    assert [(r["room"], r["max_publishers"], r["record"]) for r in listed["list"]] == [
        ("lab", 50, False)
    ]
    destroyed, _ = await handle.message({"request": "destroy", "room": "lab"})
    assert destroyed["videoroom"] == "destroyed"
    listed, _ = await handle.message({"request": "list"})
    assert listed["list"] == []
    await handle.detach()
    await session.destroy()


async def test_frames_go_from_a_publisher_to_a_subscriber_through_janus(
    janus: JanusProcess, client: JanusClient
) -> None:
    session = await client.create()
    admin = await session.attach()
    await admin.message({"request": "create", "room": "lab", "admin_key": janus.config.admin_key})
    sender, receiver = rtc(), rtc()
    frames: list[object] = []
    readers: list[asyncio.Future[None]] = []

    @receiver.on("track")
    def on_track(track: object) -> None:
        async def read() -> None:
            with contextlib.suppress(MediaStreamError):  # the receiver closed
                while True:
                    frames.append(await track.recv())  # type: ignore[attr-defined]

        readers.append(asyncio.ensure_future(read()))

    try:
        feed = await publish(await session.attach(), "lab", sender)
        await subscribe(await session.attach(), "lab", feed, receiver)
        await eventually(lambda: len(frames) >= 30, 15, "30 frames through Janus")
        # Media ports stay within the configured range. (Janus skips loopback in its ICE
        # gathering, so its candidates are this machine's own addresses, not 127.0.0.1.)
        assert janus.pid is not None
        first, last = parse_port_range(janus.config.rtp_port_range)
        udp = [int(a.rsplit(":", 1)[1]) for a in listening(janus.pid) if a.startswith("udp")]
        assert udp and all(first <= port <= last for port in udp), (udp, first, last)
    finally:
        await sender.close()
        await receiver.close()
        await asyncio.gather(*readers)
        await session.destroy()


async def test_a_killed_janus_is_restarted_and_answers_again(janus: JanusProcess) -> None:
    first = janus.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)

    async def answers() -> bool:
        if janus.pid in (None, first) or janus.restarts != 1:
            return False
        probe = await JanusClient.connect(janus.url, janus.config.api_secret, 1.0)
        try:
            return (await probe.info())["janus"] == "server_info"
        finally:
            await probe.close()

    await eventually(answers, 10, "Janus restarted (once) and answering")


async def test_a_janus_that_will_not_start_again_is_retried_with_backoff_until_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Through a gate that fails every start while a file exists: the supervisor keeps
    trying, no faster than its backoff allows (here up to 1 s), logs each failed start
    once (the first with Janus' log tail), starts Janus once it can, and stop() ends it
    during its backoff with nothing left behind."""
    assert JANUS is not None
    gone = tmp_path / "janus-gone"
    monkeypatch.setenv("NBC_REAL_JANUS", JANUS)
    monkeypatch.setenv("NBC_JANUS_GONE", str(gone))
    caplog.set_level(logging.WARNING, logger="nbconference.janus")
    janus = JanusProcess(
        loopback_config(),
        binary=str(JANUS_GATE / "janus"),
        directory=tmp_path / "janus",
        max_backoff=1.0,
    )
    await janus.start()
    try:
        gone.touch()
        os.kill(janus.pid or 0, signal.SIGKILL)
        # Tries 0.5, 1.5, 2.5, 3.5 and 4.5 s after the kill (each failure takes a little).
        await asyncio.sleep(5.0)
        failed = janus.failed_starts
        said = [r.getMessage() for r in caplog.records if "will not start" in r.getMessage()]
        print(f"{failed} failed starts in 5 s; the first said: {said[0] if said else None}")
        assert 3 <= failed <= 5, failed
        assert len(said) == failed, said
        assert "janus (test gate): will not start" in said[0]  # Janus' log tail
        assert janus.pid is None and not _janus_children()

        gone.unlink()
        await eventually(lambda: janus.restarts == 1, 5, "Janus started again")
        assert janus.pid is not None
        assert f"after {janus.failed_starts} failed starts" in caplog.text

        gone.touch()
        os.kill(janus.pid or 0, signal.SIGKILL)
        await eventually(lambda: janus.failed_starts > failed, 5, "a failed start")
        loop = asyncio.get_running_loop()
        stopping = loop.time()
        await janus.stop()
        stopped_s = loop.time() - stopping
        after = janus.failed_starts
        await asyncio.sleep(1.5)
        assert janus.failed_starts == after, "it went on trying after stop()"
        assert stopped_s < 1.0 and janus.pid is None and not _janus_children(), stopped_s
    finally:
        await janus.stop()


def _janus_children() -> list[psutil.Process]:
    """The janus processes this test process has started that are still there."""
    return [p for p in psutil.Process().children(recursive=True) if p.name() == "janus"]


async def test_a_missing_binary_gives_one_clear_error(tmp_path: Path) -> None:
    process = JanusProcess(binary=str(tmp_path / "no-such-janus"), directory=tmp_path / "j")
    with pytest.raises(JanusMissing) as missing:
        await process.start()
    assert "apt-get install janus" in str(missing.value)
    assert process.pid is None
