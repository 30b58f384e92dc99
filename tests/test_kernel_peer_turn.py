"""KernelPeers (aiortc) through a real coturn, with ``ice_transport_policy = "relay"``:
their only candidates are the relay's, they allocate with the credentials the server
minted for them, and a peer that joined before its first credentials expired still
connects to a newcomer after that, with the renewed ones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from nbconference.peer import KernelPeer
from nbconference.server.standalone import StandaloneServer
from support.coturn import Coturn, needs_coturn, running_coturn

pytest.importorskip("aiortc")
pytestmark = needs_coturn

TTL = 5
CONNECT_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def coturn() -> Iterator[Coturn]:
    with running_coturn() as server:
        yield server


@pytest.fixture
def nbc_settings(coturn: Coturn) -> dict[str, Any]:
    return {
        "turn_urls": [coturn.url],
        "turn_secret": coturn.secret,
        "turn_ttl_seconds": TTL,
        "ice_transport_policy": "relay",
    }


async def join(standalone: StandaloneServer, peers: list[KernelPeer], name: str) -> KernelPeer:
    peer = await KernelPeer.join("lab", name=name, url=standalone.url, token=standalone.token)
    peers.append(peer)
    colour = 40 + 80 * len(peers)
    peer.publish_frames(lambda: np.full((120, 160, 3), colour, np.uint8), fps=10)
    return peer


def local_candidate_types(peer: KernelPeer, other: KernelPeer) -> set[str]:
    """The types of the ICE candidates ``peer`` gathered for its link to ``other``."""
    link = peer.links[other.id].link
    assert link is not None
    transports = {t.sender.transport.transport for t in link.pc.getTransceivers()}
    return {c.type for t in transports for c in t.iceGatherer.getLocalCandidates()}


async def receive_from(receiver: KernelPeer, sender: KernelPeer) -> None:
    async for _ in receiver.frames(sender.id):
        return


async def test_kernel_peers_meet_only_through_the_relay_even_after_expiry(
    standalone: StandaloneServer, peers: list[KernelPeer], coturn: Coturn
) -> None:
    before = coturn.allocations()
    ada = await join(standalone, peers, "ada")
    first = next(s for s in ada._mesh.ice.servers if "username" in s)
    # Bob comes after Ada's first credentials expired: her link to him must use the
    # renewed ones, or coturn refuses her allocation.
    await asyncio.sleep(max(0.0, int(first["username"].split(":")[0]) + 1.1 - time.time()))
    renewed = next(s for s in ada._mesh.ice.servers if "username" in s)
    assert renewed["username"] != first["username"]
    started = time.monotonic()
    bob = await join(standalone, peers, "bob")
    await asyncio.wait_for(
        asyncio.gather(receive_from(bob, ada), receive_from(ada, bob)), CONNECT_TIMEOUT
    )
    print(f"relayed KernelPeers: media both ways {time.monotonic() - started:.2f} s after join")
    assert local_candidate_types(ada, bob) == {"relay"}
    assert local_candidate_types(bob, ada) == {"relay"}
    assert coturn.allocations() >= before + 2
