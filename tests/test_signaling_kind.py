"""A participant's kind: a recorder says so in its join, the server
carries ``kind`` in its record, refuses kinds it does not know, and no later frame can
change or strip it; a recorder counts against the room's cap like anyone else. Proven
against the Jupyter extension and ``nbconference serve`` (across two servers with Redis:
test_redis_kind.py)."""

from __future__ import annotations

from typing import Any

import pytest

from nbconference.protocol import PEER_KINDS, RECORDER_KIND
from support.signaling_fixtures import Connect


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    return {"reconnect_grace_seconds": 3.0, "max_peers_per_room": 3}


async def test_a_recorder_is_announced_as_one_and_people_carry_no_kind(connect: Connect) -> None:
    ada, rec, bob = await connect(), await connect(), await connect()
    await ada.join("lab", "Ada")
    welcome = await rec.join("lab", "Recorder", kind=RECORDER_KIND)
    assert welcome["peer"]["kind"] == "recorder"  # its own record says so too
    assert "kind" not in welcome["peers"][0]
    joined = (await ada.expect("peer-joined"))["peer"]
    assert joined["id"] == rec.id and joined["kind"] == "recorder"
    # A late joiner sees the recorder in its welcome at once.
    welcome = await bob.join("lab", "Bob")
    kinds = {p["id"]: p.get("kind") for p in welcome["peers"]}
    assert kinds == {ada.id: None, rec.id: "recorder"}


@pytest.mark.parametrize("kind", ["spy", "", "RECORDER", 1, None, ["recorder"], {"k": 1}])
async def test_an_unknown_kind_is_refused_with_a_clear_error(connect: Connect, kind: Any) -> None:
    watcher, stranger = await connect(), await connect()
    await watcher.join("lab", "Ada")
    await stranger.send({"type": "join", "room": "lab", "name": "x", "kind": kind})
    error = await stranger.expect_error("bad-message")
    assert "'kind' must be 'participant' or 'recorder'" in error["message"], error
    await watcher.silent(0.3)  # nobody joined


async def test_participant_is_the_default_kind_and_may_be_said(connect: Connect) -> None:
    assert PEER_KINDS == ("participant", "recorder")
    ada, bob = await connect(), await connect()
    await ada.join("lab", "Ada", kind="participant")
    welcome = await bob.join("lab", "Bob")
    assert "kind" not in welcome["peers"][0]


async def test_no_frame_can_strip_or_change_a_kind(connect: Connect) -> None:
    ada, rec = await connect(), await connect()
    await ada.join("lab", "Ada")
    await rec.join("lab", "Recorder", kind="recorder")
    await ada.expect("peer-joined")
    # A state frame carries presence only: "kind" in it is ignored, not applied.
    await rec.send({"type": "state", "state": {"camera": True, "kind": "participant"}})
    state = await ada.expect("peer-state", id=rec.id)
    assert state["state"] == {"camera": True}
    # Resuming after a drop with a join that claims another kind keeps the first one.
    rec.drop()
    again = await connect()
    welcome = await again.join("lab", "Recorder", resume=rec.resume, kind="participant")
    assert welcome["resumed"] is True and welcome["id"] == rec.id
    assert welcome["peer"]["kind"] == "recorder"
    # What a newcomer hears of it, after all that: still a recorder.
    cyd = await connect()
    welcome = await cyd.join("lab", "Cyd")
    (record,) = [p for p in welcome["peers"] if p["id"] == rec.id]
    assert record["kind"] == "recorder" and record["state"] == {"camera": True}
    # A participant cannot become a recorder by resuming either (nor sneak out of it).
    ada.drop()
    back = await connect()
    welcome = await back.join("lab", "Ada", resume=ada.resume, kind="recorder")
    assert welcome["resumed"] is True and "kind" not in welcome["peer"]


async def test_a_recorder_counts_against_the_room_cap(connect: Connect) -> None:
    """docs/protocol.md: a recorder takes a place like a person (every sender encodes
    and uploads one more stream for it), so a full room cannot be recorded."""
    people = [await connect() for _ in range(3)]
    for n, person in enumerate(people):
        await person.join("lab", f"P{n}")
        for earlier in people[:n]:
            await earlier.expect("peer-joined")
    rec = await connect()
    await rec.send({"type": "join", "room": "lab", "name": "Recorder", "kind": "recorder"})
    error = await rec.expect_error("room-full")
    assert "full (3 peers)" in error["message"]
    # With a place free, the recorder gets in, and then the room is full for people.
    await people[2].send({"type": "leave"})
    for person in people[:2]:
        await person.expect("peer-left", id=people[2].id)
    rec = await connect()
    await rec.join("lab", "Recorder", kind="recorder")
    late = await connect()
    await late.send({"type": "join", "room": "lab", "name": "Late"})
    await late.expect_error("room-full")
