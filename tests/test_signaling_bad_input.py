"""Every class of bad input gets a readable ``error`` frame, the socket stays usable,
nothing reaches another room and nothing is dropped without the sender being told."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from support.client import Client
from support.signaling_fixtures import Connect

LIMIT = 4096


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    return {
        "max_message_bytes": LIMIT,
        "max_peers_per_room": 3,
        "messages_per_second": 50.0,
        "message_burst": 40,
        "reconnect_grace_seconds": 3.0,
    }


async def lab_and_observer(connect: Connect) -> tuple[Client, Client, Client]:
    """``a`` and ``b`` in lab, ``x`` watching from another room."""
    a, b, x = await connect(), await connect(), await connect()
    await a.join("lab")
    await b.join("lab")
    await a.expect("peer-joined")
    await x.join("other")
    return a, b, x


async def still_usable(a: Client, b: Client, x: Client) -> None:
    await a.signal(b, {"candidate": {"after": "error"}})
    await b.expect("signal", **{"from": a.id, "data": {"candidate": {"after": "error"}}})
    await b.silent(0.0)
    await x.silent(0.0)


BAD_FRAMES: list[tuple[str, str | bytes, str]] = [
    ("not json", "{type: signal", "bad-message"),
    ("not an object", "[1, 2, 3]", "bad-message"),
    ("a bare string", '"join"', "bad-message"),
    ("no type", '{"to": "x"}', "bad-message"),
    ("type not a string", '{"type": 7}', "bad-message"),
    ("unknown type", '{"type": "dance"}', "bad-message"),
    ("signal without to", '{"type": "signal", "data": {"candidate": {}}}', "bad-message"),
    ("to not a string", '{"type": "signal", "to": 5, "data": {"candidate": {}}}', "bad-message"),
    ("empty to", '{"type": "signal", "to": "", "data": {"candidate": {}}}', "bad-message"),
    ("signal without data", '{"type": "signal", "to": "B"}', "bad-message"),
    ("data not an object", '{"type": "signal", "to": "B", "data": "sdp"}', "bad-message"),
    ("data with neither", '{"type": "signal", "to": "B", "data": {"x": 1}}', "bad-message"),
    ("state not an object", '{"type": "state", "state": true}', "bad-message"),
    ("state flag not bool", '{"type": "state", "state": {"camera": "on"}}', "bad-message"),
    ("second join", '{"type": "join", "room": "lab"}', "already-joined"),
    ("binary frame", b"\x00\x01binary", "bad-message"),
    ("NaN is not JSON", '{"type": "signal", "to": "B", "data": {"candidate": NaN}}', "bad-message"),
    (
        "deep nesting",
        '{"type": "signal", "to": "B", "data": {"candidate": ' + "[" * 1500 + "]" * 1500 + "}}",
        "bad-message",
    ),
    ("just too large", "x" * (LIMIT + 1), "too-large"),
    ("too large in bytes", '"' + "é" * (LIMIT // 2 + 1) + '"', "too-large"),
    (
        "to an unknown peer",
        '{"type": "signal", "to": "nobody", "data": {"candidate": {}}}',
        "unknown-peer",
    ),
    ("to oneself", '{"type": "signal", "to": "A", "data": {"candidate": {}}}', "unknown-peer"),
]


@pytest.mark.parametrize(
    ("frame", "code"), [f[1:] for f in BAD_FRAMES], ids=[f[0] for f in BAD_FRAMES]
)
async def test_bad_frame_is_answered_and_socket_stays_usable(
    connect: Connect, frame: str | bytes, code: str
) -> None:
    a, b, x = await lab_and_observer(connect)
    if isinstance(frame, str):
        frame = frame.replace('"B"', json.dumps(b.id)).replace('"A"', json.dumps(a.id))
    await a.send(frame)
    await a.expect_error(code)
    await still_usable(a, b, x)


async def test_bad_join_then_good_join(connect: Connect) -> None:
    a = await connect()
    for frame in (
        {"type": "join", "room": "no spaces"},
        {"type": "join", "room": ""},
        {"type": "join", "room": "r" * 65},
        {"type": "join", "room": 5},
        {"type": "join"},
        {"type": "join", "room": "lab", "name": 5},
        {"type": "join", "room": "lab", "name": "n" * 65},
        {"type": "join", "room": "lab", "resume": 5},
        {"type": "join", "room": "lab", "state": {"camera": 1}},
    ):
        await a.send(frame)
        await a.expect_error("bad-message")
    await a.join("lab")


async def test_messages_before_join_are_refused(connect: Connect) -> None:
    a = await connect()
    for kind in ("signal", "state", "leave"):
        message: dict[str, Any] = {"type": kind, "state": {}, "to": "x", "data": {"candidate": {}}}
        await a.send(message)
        await a.expect_error("not-joined")
    await a.join("lab")


async def test_signal_to_a_peer_of_another_room(connect: Connect) -> None:
    a, b, x = await lab_and_observer(connect)
    await a.signal(x)
    assert (await a.expect_error("unknown-peer"))["peer"] == x.id
    await x.signal(a)
    assert (await x.expect_error("unknown-peer"))["peer"] == a.id
    await still_usable(a, b, x)


async def test_errors_name_the_peer_they_concern_and_only_then(connect: Connect) -> None:
    a, b, x = await lab_and_observer(connect)
    await a.signal("nobody")
    error = await a.expect_error("unknown-peer")
    assert error["peer"] == "nobody", "clients read the target from 'peer', not the text"
    await a.signal(a.id)
    assert (await a.expect_error("unknown-peer"))["peer"] == a.id
    await a.send("not json")
    assert "peer" not in await a.expect_error("bad-message")
    await a.send({"type": "join", "room": "lab"})
    assert "peer" not in await a.expect_error("already-joined")
    await still_usable(a, b, x)


async def test_full_room_refuses_the_next_peer(connect: Connect) -> None:
    a, b, x = await lab_and_observer(connect)
    c, d = await connect(), await connect()
    await c.join("lab")
    await d.send({"type": "join", "room": "lab", "name": "late"})
    error = await d.expect_error("room-full")
    assert "3" in error["message"]
    await a.expect("peer-joined")
    await b.expect("peer-joined")
    await a.silent(0.1)  # the refused peer was never announced
    await d.join("overflow")  # the refused socket can go elsewhere
    c.close()
    await a.expect("peer-left", id=c.id)
    await b.expect("peer-left", id=c.id)
    await d.send({"type": "leave"})
    await d.join("lab")
    await a.expect("peer-joined")
    await b.expect("peer-joined")
    await still_usable(a, b, x)


async def test_flooding_is_rate_limited_and_counted(connect: Connect) -> None:
    a, b, x = await lab_and_observer(connect)
    sent = 60
    for i in range(sent):
        await a.signal(b, {"candidate": {"n": i}})
    refused = await drain(a, "error")
    relayed = await drain(b, "signal")
    assert {m["code"] for m in refused} == {"rate-limited"}
    assert refused, "60 messages at once must exceed a burst of 40"
    assert len(relayed) + len(refused) == sent, (len(relayed), len(refused))
    numbers = [m["data"]["candidate"]["n"] for m in relayed]
    assert numbers == sorted(numbers)
    await asyncio.sleep(0.1)  # the bucket refills at 50 per second
    await still_usable(a, b, x)


async def drain(client: Client, kind: str) -> list[dict[str, Any]]:
    """Every frame until the socket falls quiet; all must be of type ``kind``."""
    frames = []
    while True:
        try:
            frames.append(await client.expect(kind, timeout=0.3))
        except asyncio.TimeoutError:
            return frames


async def test_persistent_abuse_is_closed_with_1008(connect: Connect) -> None:
    a, b, x = await lab_and_observer(connect)
    for _ in range(60):
        await a.send("not json")
    errors = 0
    while True:
        try:
            message = await a.recv()
        except Exception as exc:  # the socket closed
            assert getattr(exc, "code", None) == 1008, exc
            break
        assert message["type"] == "error"
        errors += 1
    assert errors > 10
    await b.expect("peer-left", id=a.id, timeout=2.0)  # no grace window for abuse
    await x.silent(0.0)


async def test_frame_far_beyond_the_limit_closes_with_1009(connect: Connect) -> None:
    a, b, x = await lab_and_observer(connect)
    await a.send("x" * (4 * LIMIT + 1))
    code, _reason = await a.closed()
    assert code == 1009
    await b.silent(0.2)
    await x.silent(0.0)
