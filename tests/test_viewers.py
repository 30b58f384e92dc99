"""The kernel's merge of what each browser viewing one widget reports (nbconference.viewers)."""

from __future__ import annotations

from typing import Any

from nbconference.viewers import Viewers

WIDGET = "w" * 32


def entry(peer_id: str, name: str, connection: str = "connected", **extra: Any) -> dict[str, Any]:
    return {
        "id": peer_id,
        "name": name,
        "camera": True,
        "microphone": True,
        "screen": False,
        "connection": connection,
        "problem": "",
        **extra,
    }


def viewer(peer_id: str, name: str, status: str = "joined", **extra: Any) -> dict[str, Any]:
    return {
        "id": peer_id,
        "name": name,
        "status": status,
        "camera": True,
        "microphone": True,
        "screen": False,
        "error": "",
        "verified": True,
        "username": name.lower(),
        **extra,
    }


def test_one_viewer_keeps_todays_meaning() -> None:
    room = Viewers(WIDGET)
    assert room.status() == "idle" and room.peer_id() == "" and room.peers() == []
    room.report("a", {**viewer("A", "Ada"), "peers": [entry("C", "Cy")]}, now=0)
    assert room.status() == "joined" and room.peer_id() == "A"
    assert [p["id"] for p in room.peers()] == ["C"]
    assert room.viewers()[0]["name"] == "Ada" and room.viewers()[0]["verified"] is True
    stats = room.report_stats("a", {"C": {"rtt_ms": 3.0}}, now=1)
    assert stats == {"C": {"rtt_ms": 3.0, "viewer": "A", "peer": "C"}}
    assert room.stats() == stats


def test_two_viewers_one_picture_whatever_order_they_report_in() -> None:
    room = Viewers(WIDGET)
    # A already sees B (tagged as a view of this widget) before B reports itself.
    a_sees = [entry("B", "Bob", widget=WIDGET), entry("C", "Cy", "connecting")]
    room.report("a", {**viewer("A", "Ada"), "peers": a_sees}, now=0)
    assert [p["id"] for p in room.peers()] == ["C"]
    room.report(
        "b",
        {
            **viewer("B", "Bob", "connecting"),
            "peers": [entry("A", "Ada", widget=WIDGET), entry("C", "Cy")],
        },
        now=0,
    )
    assert [v["id"] for v in room.viewers()] == ["A", "B"]
    (cy,) = room.peers()
    assert cy["id"] == "C" and cy["connection"] == "connected"  # the best of the two links
    assert room.peer_id() == "" and room.status() == "joined"
    # Reading again gives the same picture.
    assert room.peers() == [cy] and [v["id"] for v in room.viewers()] == ["A", "B"]


def test_no_viewer_replaces_anothers_stats() -> None:
    room = Viewers(WIDGET)
    room.report("a", {**viewer("A", "Ada"), "peers": [entry("C", "Cy")]}, now=0)
    room.report("b", {**viewer("B", "Bob"), "peers": [entry("C", "Cy")]}, now=0)
    room.report_stats("a", {"C": {"rtt_ms": 1.0}}, now=1)
    room.report_stats("b", {"C": {"rtt_ms": 9.0}}, now=1)
    assert room.stats() == {
        "A/C": {"rtt_ms": 1.0, "viewer": "A", "peer": "C"},
        "B/C": {"rtt_ms": 9.0, "viewer": "B", "peer": "C"},
    }


def test_viewers_that_go_are_dropped() -> None:
    room = Viewers(WIDGET, stale_after=5)
    room.report("a", {**viewer("A", "Ada"), "peers": []}, now=0)
    room.report("b", {**viewer("B", "Bob"), "peers": []}, now=0)
    room.report("c", {**viewer("C", "Cy"), "peers": []}, now=0)
    assert room.left_room("B") and [v["id"] for v in room.viewers()] == ["A", "C"]
    assert not room.left_room("someone-else")
    room.report("a", {**viewer("A", "Ada"), "peers": []}, now=4)
    assert not room.expire(now=5)
    assert room.expire(now=5.1) and [v["id"] for v in room.viewers()] == ["A"]
    assert room.gone("a") and room.status() == "left" and room.viewers() == []


def test_hostile_or_broken_reports_stay_bounded() -> None:
    room = Viewers(WIDGET)
    room.report("a", {"id": "A", "name": "x" * 10_000, "status": "pwned", "peers": "no"}, now=0)
    (record,) = room.viewers()
    assert len(record["name"]) == 200 and record["status"] == "connecting"
    assert room.peers() == []
    room.report("a", {"id": "A", "peers": [1, None, {"id": 5}, entry("C", "<b>Cy</b>")]}, now=0)
    assert [p["name"] for p in room.peers()] == ["<b>Cy</b>"]
    assert room.report_stats("nobody", {"C": {}}, now=0) == {}


def test_each_viewers_join_is_a_timeline_after_the_kernel_ran_the_cell() -> None:
    cell = 1_700_000_000_000.0
    viewers = Viewers(WIDGET)
    steps = {"rendered": 400, "target": 450, "welcome": 600, "media": 700, "offer": 2600}
    timeline = {phase: cell + ms for phase, ms in steps.items()}
    viewers.report("a", viewer("p1", "ada", timeline=timeline), 0.0)
    # A browser's word is not trusted: junk and a forged cell are left out.
    junk = {"rendered": "soon", "target": True, "cell": 0, "ice": cell + 900}
    viewers.report("b", viewer("p2", "bob", timeline=junk), 0.0)
    viewers.report("c", viewer("p3", "cy"), 0.0)
    ada, bob, cy = viewers.timelines(cell)
    assert ada["id"] == "p1" and ada["name"] == "ada"
    assert ada["started"] == cell / 1000
    assert ada["phases"] == {
        "cell": 0.0,
        "rendered": 0.4,
        "target": 0.45,
        "media": 0.7,
        "welcome": 0.6,
        "offer": 2.6,
        "ice": None,
        "frame": None,
    }
    # In time order, the longest step is the camera's being up to the first offer.
    assert ada["slowest"] == "media → offer"
    assert bob["phases"]["cell"] == 0.0 and bob["phases"]["ice"] == 0.9
    assert bob["phases"]["rendered"] is None and bob["phases"]["target"] is None
    assert bob["slowest"] == "cell → ice"
    assert cy["phases"]["cell"] == 0.0 and cy["slowest"] == ""
