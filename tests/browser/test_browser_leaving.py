"""Leaving and failures, in real pages: a signaling socket that drops resumes without
touching the media; ``w.close()`` releases the camera, the microphone, every peer
connection and the socket; a full room says so."""

from __future__ import annotations

from typing import Any

from support.meeting import Meeting, widget_cells
from support.mesh import wait_for_frames_to_advance, wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until
from support.probes import CONFERENCE_JS
from support.timeouts import TIMEOUT

LAB_ARGS = ["--NBConference.max_peers_per_room=2"]


def kernel_peer_ids(person: Participant) -> list[str]:
    return [p["id"] for p in person.value("w.peers")]


def keep_conference(person: Participant) -> None:
    """Hold on to the page's conference, its peer connections and its signaling session's
    test hook, to look at them after the widget let go of them; mark the connections, to
    tell them from new ones."""
    person.js(
        f"""() => {{
          const conference = {CONFERENCE_JS};
          const pcs = [...conference.peers.values()].map((s) => s.pc);
          for (const pc of pcs) pc.testMark = "first";
          const tracks = conference.localStream.getTracks();
          const signaling = conference.signaling.testHook;
          window.__kept = {{ conference, pcs, tracks, signaling, sockets: signaling.sockets }};
        }}"""
    )


def kept(person: Participant) -> dict[str, Any]:
    state: dict[str, Any] = person.js(
        """() => {
          const { conference, pcs, tracks, signaling, sockets } = window.__kept;
          const current = [...conference.peers.values()].map((s) => s.pc);
          return {
            status: conference.status,
            same_connections: current.length === pcs.length
              && current.every((pc) => pc.testMark === "first"),
            connections: pcs.map((pc) => pc.connectionState),
            tracks: tracks.map((t) => t.readyState),
            socket: signaling.readyState,  // of its latest socket; 1: OPEN, 3: CLOSED
            new_socket: signaling.sockets > sockets,
          };
        }"""
    )
    return state


def test_dropped_signaling_resumes_without_touching_media(meeting: Meeting) -> None:
    ada, bob = meeting.join(meeting.room(), ["ada", "bob"])
    wait_for_full_mesh([ada, bob])
    keep_conference(bob)
    bob_id = bob.peer_id

    # Not a clean close (4001): the server keeps bob's place for the grace window.
    bob.js(f"() => {CONFERENCE_JS}.signaling.testHook.drop(4001)")
    wait_until(
        lambda: (s := kept(bob))["new_socket"] and s["status"] == "joined",
        TIMEOUT,
        "bob's widget to reconnect and rejoin",
    )
    state = kept(bob)
    # The same session, on a new socket, with the same peer connections.
    assert state["socket"] == 1 and state["same_connections"], state
    # The kernel hears of the page's status over the widget's comm: wait for it.
    wait_until(lambda: bob.value("w.status") == "joined", TIMEOUT, "bob's w.status joined")
    assert bob.value("w.peer_id") == bob_id  # resumed, not a newcomer
    assert kernel_peer_ids(ada) == [bob_id] and kernel_peer_ids(bob) == [ada.peer_id]
    assert ada.value("w.status") == "joined"
    wait_for_frames_to_advance(ada, bob_id)
    wait_for_frames_to_advance(bob, ada.peer_id)
    # Signaling works again: a change of state reaches ada through the new socket.
    bob.run("w.camera = False")
    wait_until(
        lambda: [p["camera"] for p in ada.value("w.peers")] == [False],
        TIMEOUT,
        "ada to see bob's camera off",
    )


def test_closing_the_widget_releases_everything_and_others_see_it_leave(
    meeting: Meeting,
) -> None:
    ada, bob = meeting.join(meeting.room(), ["ada", "bob"])
    wait_for_full_mesh([ada, bob])
    keep_conference(bob)
    assert kept(bob)["tracks"] == ["live", "live"]  # microphone and camera

    bob.run("w.close()")
    wait_until(lambda: kernel_peer_ids(ada) == [], TIMEOUT, "ada to see bob leave")
    state = wait_until(
        lambda: (s := kept(bob))["socket"] == 3 and s,
        TIMEOUT,
        "bob's signaling socket to close",
    )
    # Camera and microphone released (the camera light goes off), links closed.
    assert state["tracks"] == ["ended", "ended"], state
    assert state["connections"] == ["closed"], state
    assert (
        bob.js("() => [...document.querySelectorAll('video')].filter((v) => v.srcObject).length")
        == 0
    )


def test_a_full_room_says_so(meeting: Meeting) -> None:
    room = meeting.room()
    ada, bob = meeting.join(room, ["ada", "bob"])
    (cy,) = meeting.open([("cy", widget_cells(room, "cy"))])
    status = wait_until(
        lambda: (s := cy.value("[w.status, w.error]"))[0] == "error" and s,
        TIMEOUT,
        "cy's widget to give up",
    )
    assert "full" in status[1], status
    shown = cy.page.locator(".nbc-root").inner_text()
    assert "full" in shown, shown
    assert sorted(kernel_peer_ids(ada)) == [bob.peer_id]
    assert sorted(kernel_peer_ids(bob)) == [ada.peer_id]


def test_clearing_the_output_leaves_after_a_grace(meeting: Meeting) -> None:
    """The widget's only view is gone (outputs cleared): after NO_VIEW_GRACE_MS (5 s) the
    call ends, rather than leaving a ghost with a live camera that nobody can see."""
    ada, bob = meeting.join(meeting.room(), ["ada", "bob"])
    wait_for_full_mesh([ada, bob])
    keep_conference(bob)

    bob.page.locator('.lm-MenuBar-itemLabel:text-is("Edit")').click()
    bob.page.locator(
        '.lm-Menu-item:has(.lm-Menu-itemLabel:text-is("Clear Outputs of All Cells"))'
    ).click()
    assert bob.page.locator(".nbc-root").count() == 0
    assert kernel_peer_ids(ada) == [bob.peer_id]  # not at once: a view may come back
    wait_until(lambda: kernel_peer_ids(ada) == [], TIMEOUT, "ada to see bob leave")
    wait_until(lambda: bob.value("w.status") == "left", TIMEOUT, "bob's w.status left")
    state = kept(bob)
    assert state["tracks"] == ["ended", "ended"] and state["socket"] == 3, state
