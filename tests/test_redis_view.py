"""The per-room mirror of the Redis backend, fed by hand: the repairs a snapshot makes."""

from __future__ import annotations

from typing import Any

from nbconference.server.backends.redis_view import RoomView


def rec(peer_id: str, server: str = "other", **state: bool) -> dict[str, Any]:
    return {"info": {"id": peer_id, "name": peer_id, "state": state}, "server": server}


def test_a_repeated_join_is_not_announced_twice_but_a_new_state_is() -> None:
    view = RoomView("lab", "chan", "me")
    first = view.joined(rec("a"))
    assert first is not None and first.kind == "joined" and first.peer_id == "a"
    assert view.joined(rec("a")) is None
    changed = view.joined(rec("a", camera=True))
    assert changed is not None and changed.kind == "state"
    assert changed.state == {"camera": True}


def test_left_and_state_of_unknown_peers_are_ignored() -> None:
    view = RoomView("lab", "chan", "me")
    assert view.left("ghost") is None
    assert view.state("ghost", {"camera": True}) is None
    view.joined(rec("a"))
    left = view.left("a")
    assert left is not None and left.kind == "left"
    assert view.left("a") is None


def test_snapshot_adds_at_once_but_retires_only_after_patience() -> None:
    view = RoomView("lab", "chan", "me")
    view.reset([rec("a"), rec("mine", server="me")])
    assert set(view.remote) == {"a"}, "our own peers are not mirrored"
    # 'b' is in the snapshot and was missed: announced at once. 'a' is missing: not yet.
    events = view.sync([rec("b"), rec("mine", server="me")], now=100.0, patience=2.0)
    assert [(e.kind, e.peer_id) for e in events] == [("joined", "b")]
    assert view.sync([rec("b")], now=101.0, patience=2.0) == []
    events = view.sync([rec("b")], now=102.0, patience=2.0)
    assert [(e.kind, e.peer_id) for e in events] == [("left", "a")]


def test_a_peer_that_reappears_within_patience_is_kept() -> None:
    view = RoomView("lab", "chan", "me")
    view.reset([rec("a")])
    assert view.sync([], now=10.0, patience=2.0) == []
    assert view.sync([rec("a")], now=11.0, patience=2.0) == []
    assert view.sync([], now=12.5, patience=2.0) == [], "the clock restarts once it is back"
    assert "a" in view.remote
