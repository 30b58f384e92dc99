"""Who is in a call: a widget shown twice is one participant, and rooms do not mix."""

from __future__ import annotations

import time
from typing import Any

from support import probes
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until
from support.signal_probe import room_members
from support.timeouts import TIMEOUT

# Per view (.nbc-root) of the page: whether its tile of a peer plays video.
VIEWS_PLAYING_JS = """
(peerId) => Array.from(document.querySelectorAll(".nbc-root")).map((root) => {
  const video = root.querySelector(`.nbc-tile[data-peer-id="${peerId}"] video`);
  return video ? { width: video.videoWidth, time: video.currentTime } : null;
})
"""


def views_play(person: Participant, peer_id: str) -> bool:
    """Every view on the page shows ``peer_id``'s video, and it moves."""
    before = person.js(VIEWS_PLAYING_JS, peer_id)
    time.sleep(0.5)
    after = person.js(VIEWS_PLAYING_JS, peer_id)
    pairs = zip(after, before, strict=True)
    return all(a and b and a["width"] > 0 and a["time"] > b["time"] for a, b in pairs)


def remote_tiles(person: Participant) -> list[dict[str, Any]]:
    return [t for t in probes.tiles(person) if not t["local"]]


def test_widget_displayed_twice_joins_once(meeting: Meeting) -> None:
    room = meeting.room()
    ada_cells = [*widget_cells(room, "ada"), "w"]
    ada, bob = meeting.open([("ada", ada_cells), ("bob", widget_cells(room, "bob"))])
    for person in (ada, bob):
        wait_for_join(person)
    wait_for_full_mesh([ada, bob])

    wait_until(lambda: len(probes.roots(ada)) == 2, TIMEOUT, "two views of ada's widget")
    roots = probes.roots(ada)
    assert roots[0]["instanceId"] == roots[1]["instanceId"]
    assert len(probes.conferences(ada)) == 1, "one model must mean one call"
    wait_until(lambda: views_play(ada, bob.peer_id), TIMEOUT, "both views to play bob", 0)

    # Seen from the others and from the server: ada is there once.
    assert [t["peerId"] for t in remote_tiles(bob)] == [ada.peer_id]
    assert [p["id"] for p in bob.value("w.peers")] == [ada.peer_id]
    members = room_members(meeting.lab.signaling_url, meeting.lab.token, room)
    assert sorted(p["id"] for p in members) == sorted([ada.peer_id, bob.peer_id])


def test_rooms_stay_apart(meeting: Meeting) -> None:
    room_a, room_b = meeting.room("a"), meeting.room("b")
    ada, bob, cy = meeting.open(
        [
            ("ada", widget_cells(room_a, "ada")),
            ("bob", widget_cells(room_a, "bob")),
            ("cy", widget_cells(room_b, "cy")),
        ]
    )
    for person in (ada, bob, cy):
        wait_for_join(person)
    wait_for_full_mesh([ada, bob])

    # Long enough for any cross-room offer to have arrived and been acted on.
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        assert set(probes.media(ada)) == {bob.peer_id}
        assert set(probes.media(bob)) == {ada.peer_id}
        assert probes.media(cy) == {}
        assert remote_tiles(cy) == []
        time.sleep(0.25)
    assert cy.value("w.peers") == []
    assert [p["id"] for p in ada.value("w.peers")] == [bob.peer_id]

    url, token = meeting.lab.signaling_url, meeting.lab.token
    assert sorted(p["id"] for p in room_members(url, token, room_a)) == sorted(
        [ada.peer_id, bob.peer_id]
    )
    assert [p["id"] for p in room_members(url, token, room_b)] == [cy.peer_id]
