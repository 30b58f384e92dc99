"""Perfect negotiation between two real aiortc links whose offers are made to cross.

The links talk through a pipe the test controls instead of the signaling server, so the
glare is certain rather than a race: both sides offer, and only then are the offers
delivered, crosswise.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest

from nbconference.peer.link import IceSettings, PeerLink
from nbconference.peer.publishing import VideoPublisher
from support.polling import eventually

pytest.importorskip("aiortc")


class Side:
    """One end: a link, its published video, what it sent and what it received."""

    def __init__(self, peer_id: str, other_id: str, colour: int) -> None:
        self.outbox: list[dict[str, Any]] = []
        self.frames: list[Any] = []
        self.video = VideoPublisher()
        self.video.push(np.full((120, 160, 3), colour, np.uint8))
        self.link = PeerLink(
            other_id,
            polite=peer_id > other_id,
            ice=IceSettings(),
            outgoing_video=self.video.track,
            send=self.outbox.append,
            on_media=lambda _, kind, frame: kind == "camera" and self.frames.append(frame),
        )


@pytest.fixture
async def sides() -> AsyncIterator[tuple[Side, Side]]:
    polite, impolite = Side("b", "a", 200), Side("a", "b", 50)
    yield polite, impolite
    await asyncio.gather(polite.link.close(), impolite.link.close())


async def relay(one: Side, other: Side) -> None:
    """Deliver whatever each side sends to the other, as the server would."""
    while True:
        for source, target in ((one, other), (other, one)):
            while source.outbox:
                target.link.handle_signal(source.outbox.pop(0))
        await asyncio.sleep(0.01)


async def frames_both_ways(one: Side, other: Side) -> None:
    while not (one.frames and other.frames):
        await asyncio.sleep(0.05)


async def test_crossed_offers_end_in_media_both_ways(sides: tuple[Side, Side]) -> None:
    polite, impolite = sides
    polite.link.offer()
    impolite.link.offer()
    await eventually(lambda: polite.outbox and impolite.outbox, 10, "both offers")
    assert "description" in polite.outbox[0] and "description" in impolite.outbox[0]

    relaying = asyncio.create_task(relay(polite, impolite))
    try:
        await asyncio.wait_for(frames_both_ways(polite, impolite), 15)
    finally:
        relaying.cancel()
    assert polite.link.collisions == 1 and impolite.link.collisions == 1
    assert polite.link.pc.connectionState == impolite.link.pc.connectionState == "connected"
    # Each side decodes the other's picture: the impolite side's offer won.
    assert abs(int(polite.frames[-1].to_ndarray(format="rgb24").mean()) - 50) < 15
    assert abs(int(impolite.frames[-1].to_ndarray(format="rgb24").mean()) - 200) < 15
