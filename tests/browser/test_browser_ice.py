"""Real ICE trouble.

- One participant's whole browser is frozen (SIGSTOP) long enough for the other's
  connection to go ``disconnected``. The awake side waits its grace period, restarts ICE
  (a new ufrag), and when the frozen browser resumes, media flows again on the same peer
  connection, with no one leaving the room.
- A browser with no route at all (no ICE candidates): both sides say why, and that a TURN
  server is what is missing.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

import psutil
import pytest
from playwright.sync_api import Browser, Playwright

from support.lab import JupyterLab
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import wait_for_frames_to_advance, wait_for_full_mesh
from support.pages import Participant, launch_chromium
from support.polling import wait_until
from support.probes import CONFERENCE_JS

# Chromium calls a link `disconnected` after about 5 s without ICE responses; the widget
# then waits 3 s before restarting ICE. The freeze lasts until that restart is seen.
RESTART_TIMEOUT = 30.0
# The widget explains a link still unconnected after 15 s (NO_PATH_MS in js/peer.js).
NO_PATH_TIMEOUT = 45.0


def chromium_processes() -> set[int]:
    return {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "chromium"}


@contextlib.contextmanager
def frozen(root: psutil.Process) -> Iterator[None]:
    """SIGSTOP a browser and all its processes (network, renderers); SIGCONT after."""
    processes = [root, *root.children(recursive=True)]
    for process in processes:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGCONT)


def link(participant: Participant, peer_id: str) -> dict[str, str | None]:
    """The ICE ufrag we last offered or answered with, the connection state, and the mark
    :func:`mark` left on the RTCPeerConnection (gone if it was replaced)."""
    script = f"""(id) => {{
      const pc = {CONFERENCE_JS}.peers.get(id)?.pc;
      const sdp = pc?.localDescription?.sdp ?? "";
      return {{ ufrag: (sdp.match(/a=ice-ufrag:(\\S+)/) ?? [])[1] ?? null,
               state: pc?.connectionState ?? null, mark: pc?.testMark ?? null }};
    }}"""
    result: dict[str, str | None] = participant.js(script, peer_id)
    return result


def mark(participant: Participant, peer_id: str) -> None:
    participant.js(f"(id) => {{ {CONFERENCE_JS}.peers.get(id).pc.testMark = 'first'; }}", peer_id)


@pytest.fixture
def second_browser(playwright: Playwright) -> Iterator[tuple[Browser, psutil.Process]]:
    """Another Chromium, so that freezing it leaves the first one running."""
    before = chromium_processes()
    other = launch_chromium(playwright)
    try:
        # Its main process is the new chromium started by Playwright's driver (not by
        # another chromium, as a late child of the first browser would be).
        new = [psutil.Process(pid) for pid in chromium_processes() - before]
        (root,) = [p for p in new if psutil.Process(p.ppid()).name() != "chromium"]
        yield other, root
    finally:
        other.close()


def test_frozen_peer_comes_back_through_an_ice_restart(
    browser: Browser,
    second_browser: tuple[Browser, psutil.Process],
    jupyter_lab: JupyterLab,
    request: pytest.FixtureRequest,
) -> None:
    other, other_root = second_browser
    here = Meeting(browser, jupyter_lab, f"{request.node.name}-a")
    there = Meeting(other, jupyter_lab, f"{request.node.name}-b")
    try:
        room = here.room()
        (ada,) = here.join(room, ["ada"])
        (bob,) = there.join(room, ["bob"])
        wait_for_full_mesh([ada, bob])
        mark(ada, bob.peer_id)
        mark(bob, ada.peer_id)
        before = link(ada, bob.peer_id)
        assert before["state"] == "connected" and before["ufrag"] and before["mark"] == "first"

        states: set[str | None] = set()

        def restarted() -> bool:
            now = link(ada, bob.peer_id)
            states.add(now["state"])
            return now["ufrag"] != before["ufrag"]

        with frozen(other_root):
            wait_until(restarted, RESTART_TIMEOUT, "ada to restart ICE towards frozen bob")
        assert states & {"disconnected", "failed"}, states

        # The same peer connection carries media again, both ways; nobody left.
        wait_for_frames_to_advance(ada, bob.peer_id)
        wait_for_frames_to_advance(bob, ada.peer_id)
        wait_until(
            lambda: link(ada, bob.peer_id)["state"] == "connected", 30, "ada's link to reconnect"
        )
        assert [p["id"] for p in ada.value("w.peers")] == [bob.peer_id]
        assert [p["id"] for p in bob.value("w.peers")] == [ada.peer_id]
        assert link(ada, bob.peer_id)["mark"] == link(bob, ada.peer_id)["mark"] == "first"
        uncaught = here.uncaught_errors() + there.uncaught_errors()
        assert not uncaught, "uncaught errors in the pages:\n" + "\n".join(uncaught)
    finally:
        here.close()
        there.close()


# Bob's page may only use relayed candidates, and no TURN server exists: the browser has
# no ICE candidates at all, as behind a firewall that blocks every route to it.
NO_ROUTE_JS = """
(() => {
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = function (config) {
    return new Original({ ...config, iceTransportPolicy: "relay" });
  };
  window.RTCPeerConnection.prototype = Original.prototype;
})();
"""


def test_a_peer_out_of_reach_is_explained(meeting: Meeting) -> None:
    room = meeting.room()
    (ada,) = meeting.join(room, ["ada"])
    (bob,) = meeting.open([("bob", widget_cells(room, "bob"))], init_script=NO_ROUTE_JS)
    wait_for_join(bob)

    def problem(viewer: Participant) -> str:
        peers = viewer.value("w.peers")
        return str(peers[0]["problem"]) if len(peers) == 1 else ""

    for viewer, other in (
        (ada, bob.identity()["display_name"]),
        (bob, ada.identity()["display_name"]),
    ):
        text = wait_until(
            lambda viewer=viewer: problem(viewer),
            NO_PATH_TIMEOUT,
            f"{viewer.name} to explain why {other} is out of reach",
        )
        assert f"Cannot connect to {other}" in text and "TURN server" in text, text
    badge = ada.page.locator(f'.nbc-tile[data-peer-id="{bob.peer_id}"] .nbc-connection')
    assert badge.inner_text() == "no network path"
    assert "TURN server" in (badge.get_attribute("title") or "")
    assert ada.value("w.status") == bob.value("w.status") == "joined"
