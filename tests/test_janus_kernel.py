"""KernelPeers and a Recorder follow their room onto the SFU: real aiortc peers, a real
Janus supervised by the standalone server, and the move decided by the server."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nbconference.peer import KernelPeer, Recorder
from nbconference.server.standalone import StandaloneServer
from support.janus import loopback_config, needs_janus
from support.polling import eventually

pytest.importorskip("aiortc")
pytestmark = needs_janus

RED = (220, 40, 40)


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    rtp = loopback_config().rtp_port_range
    return {"sfu": "janus", "mesh_max_peers": 2, "janus_rtp_port_range": rtp}


async def join(standalone: StandaloneServer, peers: list[KernelPeer], name: str) -> KernelPeer:
    peer = await KernelPeer.join("lab", name=name, url=standalone.url, token=standalone.token)
    peers.append(peer)
    return peer


def red() -> np.ndarray[Any, np.dtype[np.uint8]]:
    image = np.empty((120, 160, 3), np.uint8)
    image[...] = RED
    return image


def tall_red() -> np.ndarray[Any, np.dtype[np.uint8]]:
    """720 lines (narrow, to encode fast): through the SFU it goes as 360."""
    image = np.empty((720, 96, 3), np.uint8)
    image[...] = RED
    return image


async def test_a_kernel_peer_follows_its_room_onto_the_sfu(
    standalone: StandaloneServer, peers: list[KernelPeer]
) -> None:
    watcher = await join(standalone, peers, "watcher")
    sender = await join(standalone, peers, "sender")
    sender.publish_frames(tall_red, fps=15)
    assert (watcher.media, sender.media) == ("mesh", "mesh")
    direct = await asyncio.wait_for(watcher.next_frame(sender.id), 15)
    assert watcher.stats[sender.id]["via"] == "direct"
    assert direct.image.shape[0] == 720  # the watcher asks for the whole picture

    arrivals: list[float] = []
    watcher.on_frame(lambda peer_id, _: arrivals.append(time.monotonic()))
    moved = time.monotonic()
    third = await join(standalone, peers, "third")  # past mesh_max_peers: the room moves
    assert third.media == "sfu"
    await eventually(lambda: watcher.media == sender.media == "sfu", 10, "the move heard")
    await eventually(
        lambda: (
            watcher.stats.get(sender.id, {}).get("frames_received", 0) > 10
            and watcher.stats[sender.id]["via"] == "sfu"
        ),
        20,
        "the sender's frames through the SFU",
    )
    frame = await asyncio.wait_for(watcher.next_frame(sender.id), 10)
    assert frame.image.shape[:2] == (360, 48), "one layer, at most SFU_VIDEO_HEIGHT lines"
    # Make before break: the mesh link carried the video until the SFU did.
    during = [t for t in arrivals if t >= moved]
    frozen = max(b - a for a, b in itertools.pairwise([moved, *during]))
    print(f"the move froze the watcher's video for at most {frozen:.2f} s")
    assert frozen < 3.0, frozen
    assert np.abs(frame.image[180, 24].astype(int) - RED).max() < 30, frame.image[180, 24]
    assert watcher.stats[sender.id]["connection"] == "connected"
    # Its mesh links are gone (make before break), and no new one is made.
    await eventually(
        lambda: all(p.link is None for p in watcher.links.values()), 10, "mesh links closed"
    )
    assert all(p.link is None for p in third.links.values())
    plane = standalone.registry.sfu
    assert plane is not None and plane.rooms["lab"][sender.id].live
    print("stats through the SFU:", watcher.stats[sender.id])


async def test_a_recorder_records_a_room_on_the_sfu(
    standalone: StandaloneServer, peers: list[KernelPeer], tmp_path: Path
) -> None:
    first = await join(standalone, peers, "first")
    recorder = await Recorder.start(
        "lab", tmp_path, url=standalone.url, token=standalone.token, name="rec"
    )
    try:
        second = await join(standalone, peers, "second")
        assert second.media == "mesh"  # a recorder does not count
        third = await join(standalone, peers, "third")
        assert third.media == "sfu"
        for peer in (first, second):
            peer.publish_frames(red, fps=15)
        await eventually(lambda: recorder.media == "sfu", 10, "the recorder heard the move")

        def through_sfu() -> bool:
            stats = recorder.stats
            return all(
                stats.get(p, {}).get("via") == "sfu" and stats[p]["frames_received"] > 5
                for p in (first.id, second.id)
            )

        # One subscriber connection carries both cameras.
        await eventually(through_sfu, 30, "both cameras reaching the recorder through the SFU")
        before = {t["peer_id"]: t["frames"] for t in recorder.tracks() if t["kind"] == "camera"}

        def recorded() -> set[str]:
            return {
                t["peer_id"]
                for t in recorder.tracks()
                if t["kind"] == "camera" and t["frames"] > before.get(t["peer_id"], 0) + 15
            }

        await eventually(
            lambda: recorded() >= {first.id, second.id}, 30, "both cameras recorded on"
        )
        # Nobody keeps a mesh link to the recorder: senders upload no extra copy for it.
        await eventually(
            lambda: all(p.links[recorder.id].link is None for p in (first, second)),
            10,
            "the senders' links to the recorder closed",
        )
    finally:
        await recorder.stop()


BLUE = (40, 40, 220)
# Frames (15 a second) a receiver may show of the old picture when a mid changes feeds.
KEY_FRAME_WITHIN = 8


def blue() -> np.ndarray[Any, np.dtype[np.uint8]]:
    image = np.empty((120, 160, 3), np.uint8)
    image[...] = BLUE
    return image


def subscribed(standalone: StandaloneServer, peer: KernelPeer) -> set[str]:
    """The peer ids whose streams Janus sends ``peer``'s subscriber connection."""
    plane = standalone.registry.sfu
    assert plane is not None
    state = plane.rooms["lab"].get(peer.id)
    if state is None:
        return set()
    ours = {s.feed: pid for pid, s in plane.rooms["lab"].items() if s.feed}
    return {ours.get(feed, feed) for feed, _ in state.carried.values()}


async def test_a_kernel_peer_on_the_sfu_receives_only_what_it_reads(
    standalone: StandaloneServer, peers: list[KernelPeer]
) -> None:
    """A class of KernelPeers that only send must not decode each other: on the SFU a
    KernelPeer subscribes to a stream while an iterator or callback reads it, and drops
    it when none does; the mid Janus then reuses for another feed is told apart."""
    ada = await join(standalone, peers, "ada")
    bob = await join(standalone, peers, "bob")
    student = await join(standalone, peers, "student")  # the third: the room moves
    ada.publish_frames(red, fps=15)
    bob.publish_frames(blue, fps=15)
    student.publish_frames(red, fps=15)
    # ada reads everyone; so she receives everyone, the student included.
    seen: set[str] = set()
    ada.on_frame(lambda peer_id, _: seen.add(peer_id))
    await eventually(lambda: seen >= {bob.id, student.id}, 30, "ada decoding both others")
    await eventually(
        lambda: subscribed(standalone, ada) == {bob.id, student.id}, 10, "ada's subscription"
    )
    # The student reads nothing: no subscriber connection, nothing decoded.
    assert student.media == "sfu"
    assert student._sfu is not None and student._sfu.subscriber is None
    assert subscribed(standalone, student) == set()
    assert sum(student._sfu.frames.values()) == 0

    frame = await student.next_frame(ada.id, timeout=20)
    assert np.abs(frame.image[60, 80].astype(int) - RED).max() < 30, frame.image[60, 80]
    assert subscribed(standalone, student) == {ada.id}, "ada's camera, nobody else's"
    # The iterator is closed: the stream is dropped, and no more packets come.
    await eventually(lambda: subscribed(standalone, student) == set(), 10, "ada's camera dropped")
    await asyncio.sleep(0.5)  # packets in flight when Janus stopped sending
    counted = await packets_received(student)
    await asyncio.sleep(1.0)
    assert await packets_received(student) == counted, "packets after the unsubscribe"

    # bob's camera next: Janus reuses the freed mid, so the frames must be named as
    # bob's, and his picture must replace ada's at once (the server asks bob for a key
    # frame; else his delta frames would paint over ada's picture for seconds).
    stale = 0
    async with contextlib.aclosing(student.frames(bob.id)) as frames:
        while True:
            frame = await asyncio.wait_for(anext(frames), 20)
            assert frame.peer_id == bob.id
            if np.abs(frame.image[60, 80].astype(int) - BLUE).max() < 30:
                break
            stale += 1
            assert stale <= KEY_FRAME_WITHIN, "bob's frames kept showing another picture"
        assert subscribed(standalone, student) == {bob.id}
    print(f"{stale} frame(s) of the old picture before bob's key frame")


async def packets_received(peer: KernelPeer) -> int:
    """RTP packets that ``peer``'s SFU subscriber connection received, all streams."""
    assert peer._sfu is not None and peer._sfu.subscriber is not None
    report = await peer._sfu.subscriber.getStats()
    return sum(s.packetsReceived for s in report.values() if s.type == "inbound-rtp")
