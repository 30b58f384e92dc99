"""Join, relay, state, leave and room isolation among real WebSocket clients, against
the Jupyter extension and the standalone server alike."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from nbconference.client import SignalingSession
from nbconference.server.rooms import RoomRegistry
from nbconference.server.standalone import StandaloneServer
from support.signaling_fixtures import Connect, three_in_lab


async def test_three_peers_join_relay_and_leave(connect: Connect) -> None:
    a, b, c = await three_in_lab(connect)

    offer = {"description": {"type": "offer", "sdp": "v=0 ..."}}
    await a.signal(b, offer)
    await b.expect("signal", **{"from": a.id, "data": offer})
    await c.signal(a, {"candidate": {"candidate": "x", "sdpMid": "0"}})
    await a.expect("signal", **{"from": c.id})
    await c.silent(0.1)

    await b.send({"type": "state", "state": {"screen": True}})
    for other in (a, c):
        await other.expect("peer-state", id=b.id, state={"screen": True})

    await c.send({"type": "leave"})
    for other in (a, b):
        await other.expect("peer-left", id=c.id)
    await c.signal(a)
    await c.expect_error("not-joined")
    # The socket that left may join again, as a new peer.
    await c.join("lab", "Cy again")
    for other in (a, b):
        assert (await other.expect("peer-joined"))["peer"]["id"] == c.id


async def test_signals_keep_their_order_per_sender(connect: Connect) -> None:
    a, b, c = await three_in_lab(connect)
    for i in range(200):
        await a.signal(c, {"candidate": {"n": i}})
        await b.signal(c, {"candidate": {"n": i}})
    seen: dict[str, list[int]] = {a.id: [], b.id: []}
    for _ in range(400):
        msg = await c.expect("signal")
        seen[msg["from"]].append(msg["data"]["candidate"]["n"])
    assert seen == {a.id: list(range(200)), b.id: list(range(200))}
    await c.silent(0.1)


async def test_from_is_stamped_by_the_server(connect: Connect) -> None:
    a, b, _ = await three_in_lab(connect)
    await a.send({"type": "signal", "to": b.id, "from": "forged", "data": {"candidate": {}}})
    await b.expect("signal", **{"from": a.id})


async def test_rooms_are_isolated(connect: Connect) -> None:
    a, b = await connect(), await connect()
    x, y = await connect(), await connect()
    await a.join("lab")
    await x.join("other")
    welcome = await b.join("lab")
    assert [p["id"] for p in welcome["peers"]] == [a.id]
    await a.expect("peer-joined")
    welcome = await y.join("other")
    assert [p["id"] for p in welcome["peers"]] == [x.id]
    await x.expect("peer-joined")

    await a.signal(x)
    await a.expect_error("unknown-peer")
    await a.send({"type": "state", "state": {"camera": False}})
    await b.expect("peer-state", id=a.id)
    a.close()
    await b.expect("peer-left", id=a.id)
    await x.silent(0.2)
    await y.silent(0.0)


async def test_closing_cleanly_leaves_at_once(connect: Connect) -> None:
    a, b, c = await three_in_lab(connect)
    c.close(1001)  # a closed tab
    for other in (a, b):
        await other.expect("peer-left", id=c.id, timeout=2.0)


async def test_a_python_session_leaves_at_once_with_frames_unread(
    standalone: StandaloneServer, standalone_connect: Connect
) -> None:
    """tornado hands a client one frame at a time: frames that nobody reads any more (the
    peer is leaving) held back the server's answer to our close, and leaving waited its
    whole bound of 2 s (seen in a CI run with three kernel peers leaving together)."""
    session = SignalingSession(standalone.url, standalone.token, "lab", "Ada", {}, timeout=5)
    await session.open()
    bob = await standalone_connect()
    await bob.join("lab", "Bob")
    for n in range(3):
        await bob.send({"type": "state", "state": {"camera": n % 2 == 0}})
    await bob.send({"type": "ping", "id": "p1"})
    await bob.expect("pong", id="p1")  # Ada's unread frames are on their way to her
    started = time.monotonic()
    await session.close()
    assert time.monotonic() - started < 1.0
    await bob.expect("peer-left", id=session.welcome["id"])


async def test_many_rooms_in_parallel(connect: Connect) -> None:
    pairs = []
    for i in range(10):
        first, second = await connect(), await connect()
        await first.join(f"room-{i}")
        await second.join(f"room-{i}")
        await first.expect("peer-joined")
        pairs.append((first, second))
    await asyncio.gather(
        *(f.signal(s, {"candidate": {"room": i}}) for i, (f, s) in enumerate(pairs))
    )
    for i, (first, second) in enumerate(pairs):
        await second.expect("signal", **{"from": first.id, "data": {"candidate": {"room": i}}})


def registry_of(request: pytest.FixtureRequest) -> RoomRegistry:
    if "standalone" in request.fixturenames:
        server: StandaloneServer = request.getfixturevalue("standalone")
        return server.registry
    app = request.getfixturevalue("jp_serverapp")
    extension = app.extension_manager.extension_points["nbconference"].app
    assert extension.registry is not None
    return extension.registry  # type: ignore[no-any-return]


async def test_server_sockets_send_without_delay(
    connect: Connect, request: pytest.FixtureRequest
) -> None:
    """Nagle's algorithm holds back small writes: every accepted socket turns it off."""
    a, b = await connect(), await connect()
    await a.join("lab")
    await b.join("lab")
    for peer in registry_of(request).local.values():
        stream = peer.transport.ws_connection.stream  # type: ignore[union-attr]
        assert stream.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
