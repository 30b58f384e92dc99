"""Limits that protect the server and the room from one client: open sockets per
address, the rate of joins per socket, and state updates that change nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from support.client import Client
from support.polling import eventually
from support.signaling_fixtures import Connect


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    return {"reconnect_grace_seconds": 3.0, "max_sockets_per_address": 3, "max_queued_bytes": 4096}


async def test_standalone_caps_sockets_per_address(standalone_connect: Connect) -> None:
    held = [await standalone_connect() for _ in range(3)]
    with pytest.raises(HTTPClientError) as refused:
        await standalone_connect()
    assert refused.value.code == 429
    assert "Too many signaling sockets (3) for this address" in str(refused.value)
    await held[1].join("lab")  # those admitted work as usual
    held[0].close()

    async def reopened() -> Client | None:
        try:
            return await standalone_connect()
        except HTTPClientError:
            return None

    again = await eventually(reopened, 5, "a socket once another one closed")
    await again.join("lab")


async def test_joins_have_a_low_rate_limit_of_their_own(standalone_connect: Connect) -> None:
    witness, churner = await standalone_connect(), await standalone_connect()
    await witness.join("lab")
    for _ in range(3):  # join_burst
        await churner.join("lab")
        await churner.send({"type": "leave"})
    await churner.send({"type": "join", "room": "lab", "name": "again"})
    error = await churner.expect_error("rate-limited")
    assert "joins" in error["message"]
    seen = [await witness.recv() for _ in range(6)]
    assert [m["type"] for m in seen] == ["peer-joined", "peer-left"] * 3
    await witness.silent(0.3)
    # Other messages are not held back by it.
    await churner.send({"type": "state", "state": {}})
    await churner.expect_error("not-joined")


async def test_state_that_changes_nothing_is_not_broadcast(standalone_connect: Connect) -> None:
    ada, bob = await standalone_connect(), await standalone_connect()
    await ada.join("lab", state={"camera": True})
    await bob.join("lab")
    await ada.expect("peer-joined")
    for state in ({"camera": True}, {}, {"camera": True}, {"microphone": False}):
        await bob.send({"type": "state", "state": {"camera": False}})
        await ada.send({"type": "state", "state": state})
    # Bob's first state changed something, and so did Ada's microphone; nothing else did.
    assert await ada.expect("peer-state", id=bob.id, state={"camera": False})
    assert await bob.expect("peer-state", id=ada.id, state={"camera": True, "microphone": False})
    await ada.silent(0.3)
    await bob.silent(0.1)


async def test_a_peer_too_far_behind_its_room_leaves(standalone_connect: Connect) -> None:
    """Room events have no sender to tell: past twice max_queued_bytes of them, the
    absent peer could not be brought up to date, so it leaves at once."""
    witness, absent = await standalone_connect(), await standalone_connect()
    await witness.join("lab")
    await absent.join("lab")
    await witness.expect("peer-joined")
    absent.drop()
    await asyncio.sleep(0.2)
    gone = False
    for n in range(100):  # newcomers joining and leaving: ~150 bytes of events each
        churner = await standalone_connect()
        await churner.join("lab", f"n{n}")
        churner.close()
        while (message := await witness.recv()) != {"type": "peer-left", "id": churner.id}:
            gone |= message == {"type": "peer-left", "id": absent.id}
        if gone:
            break
    else:
        raise AssertionError("the absent peer stayed, however far behind it was")
    assert n > 10, "it left too early"
    again = await standalone_connect()
    assert (await again.join("lab", resume=absent.resume))["resumed"] is False
