"""The signaling round trip: a ``ping`` is answered at once with a ``pong`` of its id,
on the socket that sent it only, joined or not; malformed ids and floods are refused."""

from __future__ import annotations

from nbconference.protocol import PING_BURST, ping_message
from support.signaling_fixtures import Connect


async def test_a_ping_is_answered_with_its_id_before_and_after_the_join(
    standalone_connect: Connect,
) -> None:
    ada, bob = await standalone_connect(), await standalone_connect()
    await ada.send(ping_message("before-join_1"))
    assert await ada.recv() == {"type": "pong", "id": "before-join_1"}
    await ada.join("lab")
    await bob.join("lab")
    await ada.expect("peer-joined")
    await bob.send(ping_message("p2"))
    assert await bob.recv() == {"type": "pong", "id": "p2"}
    await ada.silent(0.3)  # nothing of it reaches the room


async def test_a_ping_needs_a_short_plain_id(standalone_connect: Connect) -> None:
    client = await standalone_connect()
    for frame in (
        {"type": "ping"},
        {"type": "ping", "id": ""},
        {"type": "ping", "id": 7},
        {"type": "ping", "id": "x" * 33},
        {"type": "ping", "id": 'a"b'},
    ):
        await client.send(frame)
        error = await client.expect_error("bad-message")
        assert "'id'" in error["message"], error
    await client.send(ping_message("x" * 32))
    assert await client.recv() == {"type": "pong", "id": "x" * 32}


async def test_pings_are_rate_limited_per_socket(standalone_connect: Connect) -> None:
    flooder, other = await standalone_connect(), await standalone_connect()
    for n in range(PING_BURST):
        await flooder.send(ping_message(f"n{n}"))
    for n in range(PING_BURST):
        assert await flooder.recv() == {"type": "pong", "id": f"n{n}"}
    await flooder.send(ping_message("one-too-many"))
    error = await flooder.expect_error("rate-limited")
    assert "pings" in error["message"]
    # Another socket has a bucket of its own.
    await other.send(ping_message("fine"))
    assert await other.recv() == {"type": "pong", "id": "fine"}
