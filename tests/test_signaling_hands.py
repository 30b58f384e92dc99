"""Toggling a hand costs the room what toggling a camera does: a member's newer state
replaces the older one still waiting for a reader, whoever lowered the hand, so a burst
of toggles reaches another member as a few frames, and a member that stopped reading
gets the last state, not every toggle (nor is it closed for being behind)."""

from __future__ import annotations

from typing import Any

import pytest

from support.client import Client
from support.signaling_fixtures import Connect
from support.toggles import TOGGLES, fill_until_refused, shown, states_of, toggle
from support.traffic import drain

FIELDS = ["camera", "hand"]


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    # The victim of the second test reads nothing while its buffers are filled: it must
    # not be closed as stalled meanwhile on a busy machine.
    return {"reconnect_grace_seconds": 3.0, "send_timeout_seconds": 60.0}


async def pair(connect: Connect, room: str) -> tuple[Client, Client]:
    a, b = await connect(), await connect()
    await a.join(room, "Ada")
    await b.join(room, "Bob")
    await a.expect("peer-joined")
    return a, b


async def processed(client: Client) -> list[dict[str, Any]]:
    """Everything ``client`` receives until the server has handled all it sent so far
    (a signal to nobody, answered in order, marks the point)."""
    await client.signal("nobody")
    frames = []
    while (frame := await client.recv())["type"] != "error":
        frames.append(frame)
    assert frame["code"] == "unknown-peer", frame
    return frames


@pytest.mark.parametrize("field", FIELDS)
async def test_a_burst_of_toggles_reaches_another_member_as_a_few_frames(
    connect: Connect, field: str
) -> None:
    a, b = await pair(connect, "burst")
    await toggle(a, field)
    own = states_of(await processed(a), a.id)
    got = states_of(await drain(b, quiet=0.5), a.id)
    # Unmerged, it was one frame per lowered hand: half the toggles.
    assert 1 <= len(got) <= TOGGLES // 50, f"{len(got)} frames for {TOGGLES} toggles"
    assert shown(got[-1]["state"], field)
    if field == "hand":
        # Its own client learns the stamp of its raised hand, merged the same way.
        assert 1 <= len(own) <= TOGGLES // 50 and own[-1]["state"] == got[-1]["state"]
    else:
        assert own == []


@pytest.mark.parametrize("field", FIELDS)
async def test_a_member_that_stops_reading_gets_the_last_state_not_every_toggle(
    connect: Connect, field: str
) -> None:
    a, victim = await pair(connect, "slow")
    filler = await connect()
    await filler.join("slow", "Cy")
    await a.expect("peer-joined")
    await victim.expect("peer-joined")
    # The victim reads no more: the kernel's buffers and then its mailbox fill with
    # signals, so everything from here waits in its mailbox.
    await fill_until_refused(filler, victim)
    await toggle(a, field)
    await processed(a)
    frames = await drain(victim, quiet=1.0)  # fails if the server closed it
    states = states_of(frames, a.id)
    assert 1 <= len(states) <= 2, f"{len(states)} frames for {TOGGLES} toggles"
    assert shown(states[-1]["state"], field)
    assert any(f["type"] == "signal" for f in frames)


async def test_who_lowered_a_hand_still_reaches_a_member_that_stopped_reading(
    connect: Connect, host_connect: Connect
) -> None:
    """A hand lowered by a host is kept apart from the peer's other states (the room
    is told who lowered it), but only its last one waits: it cannot fill a mailbox
    either."""
    a, victim = await pair(connect, "teach")
    teacher = await host_connect()
    await teacher.join("teach", "Cy")
    await a.expect("peer-joined")
    await victim.expect("peer-joined")
    await fill_until_refused(teacher, victim)
    for _ in range(50):
        await a.send({"type": "state", "state": {"hand": True}})
        await teacher.expect("peer-state", id=a.id)
        await teacher.send({"type": "lower-hand", "peer": a.id})
        await teacher.expect("peer-state", id=a.id, by=teacher.id)
    await a.send({"type": "state", "state": {"hand": True}})
    own = states_of(await processed(a), a.id)
    assert own[-1]["state"]["hand"] > 0
    states = states_of(await drain(victim, quiet=1.0), a.id)
    assert len(states) == 2, f"{len(states)} frames for 50 hands lowered"
    assert states[0]["by"] == teacher.id and states[0]["state"]["hand"] is False
    assert states[1]["state"] == own[-1]["state"] and "by" not in states[1]
