"""Joining in real JupyterLab pages: the page joins without waiting for its camera, and
every join's timeline reaches the kernel (``w.timeline``), step by step and in order."""

from __future__ import annotations

from typing import Any

from support import probes
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import camera_frames, wait_for_frames_to_advance, wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until

TIMEOUT = 60.0
PHASES = ("cell", "rendered", "target", "media", "welcome", "offer", "ice", "frame")
# The steps that follow one another; the camera (`media`) is not among them: it comes
# any time after the render.
CHAIN = ("cell", "rendered", "target", "welcome", "offer", "ice", "frame")

# A camera that takes as long as the test says: getUserMedia answers once the test calls
# window.__camera.release(). `asked` and `given` count the requests and the answers.
SLOW_CAMERA_JS = """
(() => {
  if (window !== window.top || window.__camera) return;
  const devices = navigator.mediaDevices;
  const get = devices.getUserMedia.bind(devices);
  let release = () => {};
  const released = new Promise((resolve) => { release = resolve; });
  const camera = { asked: 0, given: 0, release: () => release(undefined) };
  window.__camera = camera;
  devices.getUserMedia = async (constraints) => {
    camera.asked += 1;
    await released;
    const stream = await get(constraints);
    camera.given += 1;
    return stream;
  };
})();
"""

LOCAL_TRACKS_JS = """
() => [...globalThis.__nbconference.conferences.values()]
  .map((c) => c.localStream.getTracks().length)
"""


def complete_timeline(person: Participant) -> dict[str, Any] | None:
    """The kernel's record of the one viewer's join, once it has every phase."""
    records: list[dict[str, Any]] = person.value("w.timeline")
    if len(records) != 1:
        return None
    record = records[0]
    return record if all(record["phases"][p] is not None for p in PHASES) else None


def test_a_page_with_a_slow_camera_sees_the_others_first_and_is_seen_once_it_is_up(
    meeting: Meeting,
) -> None:
    room = meeting.room()
    (ada,) = meeting.join(room, ["ada"])
    (bob,) = meeting.open([("bob", widget_cells(room, "bob"))], init_script=SLOW_CAMERA_JS)
    wait_for_join(bob)
    # bob is in and decodes ada while the browser still has not handed over his camera.
    wait_until(lambda: camera_frames(bob, ada.peer_id) > 0, TIMEOUT, "bob to decode ada")
    camera = bob.js("() => window.__camera")
    assert camera["asked"] >= 1 and camera["given"] == 0, camera
    assert bob.js(LOCAL_TRACKS_JS) == [0]
    assert camera_frames(ada, bob.peer_id) == 0

    bob.js("() => window.__camera.release()")
    wait_until(lambda: camera_frames(ada, bob.peer_id) > 0, TIMEOUT, "ada to decode bob")
    wait_for_frames_to_advance(ada, bob.peer_id)
    assert bob.js(LOCAL_TRACKS_JS) == [2]
    wait_until(
        lambda: any(p["id"] == bob.peer_id and p["camera"] for p in ada.value("w.peers")),
        TIMEOUT,
        "ada's kernel to hear that bob's camera is on",
    )
    # bob's own timeline says so: his first frame came before his camera.
    record = wait_until(lambda: complete_timeline(bob), TIMEOUT, "bob's complete timeline")
    assert record["phases"]["frame"] < record["phases"]["media"], record
    assert not meeting.uncaught_errors()


def test_every_join_reaches_the_kernel_as_a_timeline_of_eight_phases_in_order(
    meeting: Meeting,
) -> None:
    people = meeting.join(meeting.room(), ["ada", "bob"])
    wait_for_full_mesh(people)
    for person in people:
        record = wait_until(
            lambda person=person: complete_timeline(person),
            TIMEOUT,
            f"{person.name}'s w.timeline to have every phase",
        )
        phases = record["phases"]
        assert list(phases) == list(PHASES)
        assert phases["cell"] == 0.0
        chain = [phases[p] for p in CHAIN]
        assert chain == sorted(chain), record
        assert phases["media"] >= phases["rendered"], record
        assert record["id"] == person.peer_id
        assert record["name"] == person.value("w.viewers")[0]["name"]
        assert " → " in record["slowest"]
        # The page's own record of the same join, which the kernel's comes from.
        (page,) = person.js(
            "() => [...globalThis.__nbconference.conferences.values()]"
            ".map((c) => c.snapshot().timeline)"
        )
        assert set(page) == set(PHASES)
        assert abs(page["cell"] / 1000 - record["started"]) < 0.01
    assert probes.media(people[0])[people[1].peer_id].decoding_video
