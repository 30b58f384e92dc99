"""A dropped socket keeps its peer for the grace window (2 s here) and may resume it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from nbconference.client import SignalingSession
from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.signaling_fixtures import Connect, three_in_lab

GRACE = 2.0


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    return {"reconnect_grace_seconds": GRACE}


async def test_resume_within_grace_keeps_id_and_delivers_what_was_sent_meanwhile(
    connect: Connect,
) -> None:
    a, b, c = await three_in_lab(connect)
    b.drop()
    await asyncio.sleep(0.1)
    # Sent while b is away: neither an error for the sender nor lost.
    await a.signal(b, {"candidate": {"n": 1}})
    await c.signal(b, {"candidate": {"n": 2}})
    await a.signal(b, {"candidate": {"n": 3}})
    await a.send({"type": "state", "state": {"camera": False}})
    await c.expect("peer-state", id=a.id)
    await a.silent(0.2)
    await c.silent(0.0)

    again = await connect()
    welcome = await again.join("lab", "Bob", resume=b.resume)
    assert welcome["id"] == b.id and welcome["resumed"] is True
    assert sorted(p["id"] for p in welcome["peers"]) == sorted([a.id, c.id])
    got = [await again.recv() for _ in range(4)]
    # In order per sender; two senders' sockets may be read in either order.
    from_a = [
        m["data"]["candidate"]["n"] if m["type"] == "signal" else m["type"]
        for m in got
        if m.get("from", m.get("id")) == a.id
    ]
    assert from_a == [1, 3, "peer-state"]
    assert [m["data"] for m in got if m.get("from") == c.id] == [{"candidate": {"n": 2}}]
    # Past the old grace window nobody hears that b left; b works as before.
    await asyncio.sleep(GRACE)
    for peer in (a, c, again):
        await peer.silent(0.0)
    await again.signal(a, {"candidate": {"n": 4}})
    await a.expect("signal", **{"from": b.id})
    await a.signal(b.id, {"candidate": {"n": 5}})
    await again.expect("signal", **{"from": a.id})


async def test_without_resume_the_peer_leaves_when_grace_passes(connect: Connect) -> None:
    a, b, c = await three_in_lab(connect)
    b.drop()
    dropped = time.monotonic()
    await a.expect("peer-left", id=b.id, timeout=GRACE + 2)
    assert time.monotonic() - dropped >= GRACE - 0.2
    await c.expect("peer-left", id=b.id)
    # The token died with the peer: a rejoin with it is a new peer.
    again = await connect()
    welcome = await again.join("lab", "Bob", resume=b.resume)
    assert welcome["id"] != b.id and welcome["resumed"] is False
    await a.expect("peer-joined")
    await a.signal(b.id)
    await a.expect_error("unknown-peer")


async def test_abnormal_close_code_also_gets_grace(connect: Connect) -> None:
    a, b, _ = await three_in_lab(connect)
    b.close(4001)
    dropped = time.monotonic()
    again = await connect()
    assert (await again.join("lab", resume=b.resume))["id"] == b.id
    await asyncio.sleep(GRACE + 0.3 - (time.monotonic() - dropped))
    await a.silent(0.0)


async def test_resume_replaces_a_socket_that_is_still_open(connect: Connect) -> None:
    a, b, _ = await three_in_lab(connect)
    again = await connect()
    assert (await again.join("lab", resume=b.resume))["id"] == b.id
    code, _reason = await b.closed()
    assert code == 4000
    await a.signal(b.id)
    await again.expect("signal", **{"from": a.id})
    await a.silent(GRACE + 0.3)  # the replaced socket does not take its peer away


async def test_resume_token_for_another_room_joins_afresh(connect: Connect) -> None:
    _a, b, _c = await three_in_lab(connect)
    b.drop()
    other = await connect()
    welcome = await other.join("elsewhere", resume=b.resume)
    assert welcome["id"] != b.id and welcome["resumed"] is False and welcome["peers"] == []


async def test_a_full_queue_for_an_absent_peer_is_reported_to_the_sender(
    connect: Connect,
) -> None:
    a, b, _ = await three_in_lab(connect)
    b.drop()
    await asyncio.sleep(0.1)
    for i in range(256):
        await a.signal(b.id, {"candidate": {"n": i}})
    await a.silent(0.1)
    # More refusals than the abuse threshold (50): a race, not abuse, so a stays open.
    for i in range(60):
        await a.signal(b.id, {"candidate": {"n": 256 + i}})
    for _ in range(60):
        assert (await a.expect_error("peer-unavailable"))["peer"] == b.id
    again: Client = await connect()
    await again.join("lab", resume=b.resume)
    got = [(await again.expect("signal"))["data"]["candidate"]["n"] for _ in range(256)]
    assert got == list(range(256))
    await again.silent(0.1)


async def test_state_flips_cannot_push_an_absent_peer_out(connect: Connect) -> None:
    """A member toggling its camera fills nobody's queue: a newer state of a peer
    replaces the older one still waiting, so the absent peer gets only the last."""
    a, b, c = await three_in_lab(connect)
    b.drop()
    await asyncio.sleep(0.1)
    for i in range(600):  # far more than the 256 messages kept for an absent peer
        await a.send({"type": "state", "state": {"camera": i % 2 == 0}})
    await a.send({"type": "state", "state": {"screen": True}})  # the last, unlike any other
    final = {"camera": False, "microphone": False, "screen": True}
    last: dict[str, object] = {}
    while last.get("state") != final:
        last = await c.expect("peer-state", id=a.id)
    await c.silent(0.2)
    again = await connect()
    assert (await again.join("lab", resume=b.resume))["resumed"] is True
    assert await again.expect("peer-state", id=a.id) == last
    await again.silent(0.2)
    await a.silent(0.1)  # and a was told of nothing: a state change has no failure


async def test_python_session_sends_held_signals_after_a_resume_only_and_its_state_always(
    standalone: StandaloneServer, standalone_connect: Connect
) -> None:
    bob = await standalone_connect()
    await bob.join("lab", "Bob")
    session = SignalingSession(standalone.url, standalone.token, "lab", "Ada", {}, timeout=5)
    try:
        ada = (await session.open())["id"]
        await bob.expect("peer-joined")

        session.drop()
        session.send({"type": "signal", "to": bob.id, "data": {"candidate": {"n": 1}}})
        welcome = await asyncio.wait_for(session.receive(), 5)
        assert welcome == session.welcome and welcome["type"] == "welcome"
        assert welcome["resumed"] is True and welcome["id"] == ada
        await bob.expect("signal", **{"from": ada, "data": {"candidate": {"n": 1}}})

        session.drop()
        session.send({"type": "signal", "to": bob.id, "data": {"candidate": {"n": 2}}})
        # A state the join does not carry (the session's dict stays {}): it changed while
        # the join was on its way.
        session.send({"type": "state", "state": {"camera": True}})
        await bob.expect("peer-left", id=ada, timeout=GRACE + 1)  # nobody came back in time
        welcome = await asyncio.wait_for(session.receive(), 5)
        assert welcome["resumed"] is False and welcome["id"] != ada, "back as a new peer"
        await bob.expect(
            "peer-joined",
            peer={"id": welcome["id"], "name": "Ada", "state": {}, "user": None, "color": None},
        )
        # The held signal was meant for the old peer's links: dropped; the state is ours.
        await bob.expect("peer-state", id=welcome["id"], state={"camera": True})
        await bob.silent(0.3)
    finally:
        await session.close()
