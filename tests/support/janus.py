"""A supervised Janus for the SFU tests, what its process listens on, and aiortc peers
that publish to and subscribe from a VideoRoom through the server's own client."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import VideoStreamTrack

from nbconference.server.janus import JanusConfig, JanusHandle

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
