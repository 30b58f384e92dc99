"""A supervised Janus for the SFU tests, what its process listens on, and aiortc peers
that publish to and subscribe from a VideoRoom through the server's own client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import VideoStreamTrack

from nbconference.protocol.sfu import (
    sfu_answer_message,
    sfu_publish_message,
    sfu_subscribe_message,
)
from nbconference.server.janus import JanusClient, JanusConfig, JanusHandle, write_config

from .client import Client
from .processes import free_port

JANUS = shutil.which("janus")
# A folder whose `janus` runs the real one unless told it is gone (see the script there).
JANUS_GATE = Path(__file__).parent / "janus_gate"
needs_janus = pytest.mark.skipif(
    JANUS is None, reason="the SFU tests need Janus: apt-get install janus"
)


def loopback_config() -> JanusConfig:
    """Loopback only, and an RTP range of its own so parallel runs do not collide."""
    first = 20000 + (free_port() % 200) * 100
    return JanusConfig(rtp_port_range=f"{first}-{first + 99}")


def loopback_configs(count: int, **secrets: str) -> list[JanusConfig]:
    """``count`` loopback configs with RTP ranges apart, and the same ``secrets``
    (``api_secret``, ``admin_key``) if given: instances one server may use together."""
    configs: list[JanusConfig] = []
    while len(configs) < count:
        config = replace(loopback_config(), **secrets)
        if all(c.rtp_port_range != config.rtp_port_range for c in configs):
            configs.append(config)
    return configs


class ExistingJanus:
    """A Janus that nobody supervises, as an existing instance is to our server: a plain
    process with a generated ``config``. ``await start()``, then :meth:`kill` (SIGKILL, it
    stays dead) or :meth:`stop`."""

    def __init__(self, config: JanusConfig) -> None:
        self.config = config
        self.directory = Path(tempfile.mkdtemp(prefix="nbc-existing-janus-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, timeout: float = 10.0) -> ExistingJanus:
        assert JANUS is not None
        jcfg = write_config(self.config, self.directory)
        with open(self.directory / "janus.log", "ab") as log:
            self.process = subprocess.Popen(
                [JANUS, "-C", str(jcfg), "-F", str(self.directory), "--disable-colors"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                client = await JanusClient.connect(self.url, self.config.api_secret, 2.0)
                await client.info()
                await client.close()
                return self
            except Exception:
                if loop.time() > deadline or self.process.poll() is not None:
                    raise
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the instance is gone, and nobody starts it again."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.asynccontextmanager
async def existing_instances(count: int, **secrets: str) -> AsyncIterator[list[ExistingJanus]]:
    """``count`` Janus instances of loopback_configs (with ``secrets``), started one after
    the other, all stopped on the way out (those started, if one fails to start)."""
    started: list[ExistingJanus] = []
    try:
        for config in loopback_configs(count, **secrets):
            started.append(ExistingJanus(config))
            await started[-1].start()
        yield started
    finally:
        for janus in started:
            janus.stop()


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _address(hex_address: str) -> str:
    host, port = hex_address.split(":")
    if len(host) == 8:
        ip = ".".join(str(int(host[i : i + 2], 16)) for i in (6, 4, 2, 0))
    else:
        ip = "[" + host + "]"
    return f"{ip}:{int(port, 16)}"


def listening(pid: int) -> list[str]:
    """The TCP addresses process ``pid`` listens on, and its UDP sockets' addresses."""
    inodes = _socket_inodes(pid)
    found = []
    for table, proto in (("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp")):
        with open(f"/proc/{pid}/net/{table}") as rows:
            for row in list(rows)[1:]:
                cols = row.split()
                local, state, inode = cols[1], cols[3], cols[9]
                if inode in inodes and (proto == "udp" or state == "0A"):
                    found.append(f"{proto} {_address(local)}")
    return found


def picture(colour: tuple[int, int, int]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """A 160x120 picture of one colour, for a KernelPeer's ``publish_frames``."""
    image = np.empty((120, 160, 3), np.uint8)
    image[...] = colour
    return image


def is_colour(image: np.ndarray[Any, np.dtype[np.uint8]], colour: tuple[int, int, int]) -> bool:
    """The middle of a received ``picture`` is about ``colour``."""
    return bool(np.abs(image[60, 80].astype(int) - colour).max() < 30)


def rtc() -> RTCPeerConnection:
    """An aiortc peer that asks no STUN server."""
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


async def publish(handle: JanusHandle, room: str, pc: RTCPeerConnection) -> str:
    """Join ``room`` as a publisher of aiortc's test video (black frames); return the feed id once
    Janus says the PeerConnection is up (``webrtcup``)."""
    joined, _ = await handle.message(
        {"request": "join", "ptype": "publisher", "room": room, "display": "pub"},
        wait_event=True,
    )
    pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    offer = {"type": "offer", "sdp": pc.localDescription.sdp}
    data, answer = await handle.message({"request": "publish", "audio": False}, jsep=offer)
    assert data.get("configured") == "ok", data
    assert answer is not None, data
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
    while (await handle.next_event())["janus"] != "webrtcup":
        pass
    return str(joined["id"])


async def subscribe(handle: JanusHandle, room: str, feed: str, pc: RTCPeerConnection) -> None:
    """Subscribe ``pc`` to ``feed`` in ``room`` and start the media."""
    data, offer = await handle.message(
        {"request": "join", "ptype": "subscriber", "room": room, "streams": [{"feed": feed}]},
        wait_event=True,
    )
    assert data.get("videoroom") == "attached" and offer is not None, data
    await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], offer["type"]))
    await pc.setLocalDescription(await pc.createAnswer())
    answer = {"type": "answer", "sdp": pc.localDescription.sdp}
    started, _ = await handle.message({"request": "start"}, jsep=answer)
    assert started.get("started") == "ok", started


class Recording(Client):
    """A client that keeps every frame it receives, to scan them for secrets."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.received: list[dict[str, Any]] = []

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        message = await super().recv(timeout)
        self.received.append(message)
        return message


async def publish_camera(client: Recording) -> tuple[Any, str]:
    """Publish aiortc's test video with the ``sfu-publish`` frame: (its connection, mid)."""
    pc = rtc()
    pc.addTrack(VideoStreamTrack())
    await pc.setLocalDescription(await pc.createOffer())
    mid = pc.getTransceivers()[0].mid
    assert mid is not None
    await client.send(sfu_publish_message(pc.localDescription.sdp, [(mid, "camera")]))
    answer = await client.next_of("sfu-answer")
    await pc.setRemoteDescription(RTCSessionDescription(answer["jsep"]["sdp"], "answer"))
    return pc, mid


async def subscribe_to(client: Recording, subscriber: Any, feed: str, mid: str) -> Any:
    """Subscribe ``client`` to ``feed``'s ``mid`` with the ``sfu-subscribe`` frame, over
    the aiortc connection ``subscriber``; the track, once a first frame came through."""
    tracks: asyncio.Queue[Any] = asyncio.Queue()
    subscriber.on("track", tracks.put_nowait)
    await client.send(sfu_subscribe_message([(feed, mid)]))
    offer = await client.next_of("sfu-offer")
    await subscriber.setRemoteDescription(RTCSessionDescription(offer["jsep"]["sdp"], "offer"))
    await subscriber.setLocalDescription(await subscriber.createAnswer())
    await client.send(sfu_answer_message(subscriber.localDescription.sdp))
    track = await asyncio.wait_for(tracks.get(), 10)
    await asyncio.wait_for(track.recv(), 15)
    return track
