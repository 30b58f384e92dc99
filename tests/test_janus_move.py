"""A room moves from the mesh to the SFU: the server decides, past mesh_max_peers
participants that send media, tells newcomers in ``welcome.media`` and those already in
the room with a ``media`` frame, and keeps the room on the SFU until it empties."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from nbconference.server.config import SignalingSettings
from nbconference.server.standalone import StandaloneServer, start_server
from support.client import Client, connect_url
from support.janus import loopback_config, needs_janus

TOKEN = "sfu-move-test-token-0123456789abcdef"


async def serve(**settings: Any) -> StandaloneServer:
    return await start_server(SignalingSettings(**settings), port=0, token=TOKEN)


@pytest.fixture
async def sfu_server() -> AsyncIterator[StandaloneServer]:
    rtp = loopback_config().rtp_port_range
    running = await serve(sfu="janus", mesh_max_peers=2, janus_rtp_port_range=rtp)
    try:
        yield running
    finally:
        await running.stop()


async def join(server: StandaloneServer, room: str, **extra: Any) -> tuple[Client, str]:
    """A client in ``room``, and the plane its welcome says the room uses."""
    client = Client(await connect_url(f"{server.url}?token={TOKEN}"))
    welcome = await client.join(room, **extra)
    return client, welcome["media"]


@needs_janus
async def test_the_third_join_moves_the_room_and_the_first_two_are_told(
    sfu_server: StandaloneServer,
) -> None:
    alice, alice_media = await join(sfu_server, "lab")
    bob, bob_media = await join(sfu_server, "lab")
    assert (alice_media, bob_media) == ("mesh", "mesh")
    await alice.expect("peer-joined")
    carol, carol_media = await join(sfu_server, "lab")
    assert carol_media == "sfu"
    for client in (alice, bob):
        # The move first, then the newcomer: no mesh offer is made to it.
        await client.expect("media", media="sfu")
        joined = await client.expect("peer-joined")
        assert joined["peer"]["id"] == carol.id
    await carol.silent()  # its welcome said it: no media frame for the one that tipped it
    # A fourth is told by its welcome alone; nobody is told again.
    _, dave_media = await join(sfu_server, "lab")
    assert dave_media == "sfu"
    for client in (alice, bob, carol):
        await client.expect("peer-joined")
        await client.silent()


@needs_janus
async def test_the_room_stays_on_the_sfu_until_it_empties(sfu_server: StandaloneServer) -> None:
    clients = [(await join(sfu_server, "lab"))[0] for _ in range(3)]
    await clients[0].send({"type": "leave"})
    await clients[1].send({"type": "leave"})
    # One left of three: still the SFU for whoever comes.
    again, media = await join(sfu_server, "lab")
    assert media == "sfu"
    await again.send({"type": "leave"})
    await clients[2].send({"type": "leave"})
    await clients[2].send({"type": "state", "state": {}})  # answered once the leave is done
    await clients[2].next_of("error", code="not-joined")
    # Empty now: the next first join starts a mesh, and a second stays in it.
    first, first_media = await join(sfu_server, "lab")
    _, second_media = await join(sfu_server, "lab")
    assert (first_media, second_media) == ("mesh", "mesh")
    await first.expect("peer-joined")
    await first.silent()


@needs_janus
async def test_a_recorder_does_not_count(sfu_server: StandaloneServer) -> None:
    await join(sfu_server, "lab")
    recorder, recorder_media = await join(sfu_server, "lab", kind="recorder")
    _, bob_media = await join(sfu_server, "lab")
    assert (recorder_media, bob_media) == ("mesh", "mesh")  # three in, two send media
    _, carol_media = await join(sfu_server, "lab")
    assert carol_media == "sfu"
    await recorder.expect("peer-joined")
    await recorder.expect("media", media="sfu")


async def test_without_an_sfu_a_room_never_moves() -> None:
    running = await serve(mesh_max_peers=2)
    try:
        joined = [await join(running, "lab") for _ in range(5)]
        assert [media for _, media in joined] == ["mesh"] * 5
        first = joined[0][0]
        for _ in range(4):
            await first.expect("peer-joined")
        await first.silent()
    finally:
        await running.stop()


def test_an_sfu_raises_the_default_room_cap_and_an_explicit_one_wins() -> None:
    assert SignalingSettings().max_peers_per_room == 8
    assert SignalingSettings(sfu="janus").max_peers_per_room == 50
    assert SignalingSettings(sfu="janus", max_peers_per_room=12).max_peers_per_room == 12
    assert SignalingSettings(max_peers_per_room=3).limits().max_peers_per_room == 3


async def test_a_full_mesh_room_says_that_an_sfu_lifts_the_cap() -> None:
    running = await serve(max_peers_per_room=2)
    try:
        await join(running, "lab")
        await join(running, "lab")
        third, _ = await join_refused(running, "lab")
        assert "full (2 peers)" in third["message"] and "SFU" in third["message"], third
    finally:
        await running.stop()


@needs_janus
async def test_with_an_sfu_fifty_fit_and_the_fifty_first_is_refused() -> None:
    rtp = loopback_config().rtp_port_range
    running = await serve(sfu="janus", janus_rtp_port_range=rtp, max_sockets_per_address=0)
    try:
        clients = [await join(running, "class") for _ in range(50)]
        assert clients[-1][1] == "sfu" and clients[0][1] == "mesh"
        refused, _ = await join_refused(running, "class")
        assert "full (50 peers)" in refused["message"] and "lifts" not in refused["message"]
    finally:
        await running.stop()


async def join_refused(server: StandaloneServer, room: str) -> tuple[dict[str, Any], Client]:
    """A join that the server refuses with room-full: its error frame."""
    client = Client(await connect_url(f"{server.url}?token={TOKEN}"))
    await client.send({"type": "join", "room": room, "name": "late"})
    return await client.expect_error("room-full"), client
