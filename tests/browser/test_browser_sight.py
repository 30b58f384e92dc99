"""Keeping the call in sight (issue 9): a floating view when the widget's cell is scrolled
away, and a pop-out window (Document Picture-in-Picture) that the call moves into and
comes back from."""

from __future__ import annotations

from typing import Any

import pytest

from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until
from support.timeouts import TIMEOUT

# Enough cells below the widget that scrolling to the last one hides it.
FILLER = [f"x_{n} = {n}" for n in range(60)]

# Whether the <video> of the floating view plays, and what it shows.
FLOAT_JS = """
() => {
  const float = document.querySelector(".nbc-float");
  if (!float) return null;
  const video = float.querySelector("video");
  return {
    inPanel: float.closest(".jp-NotebookPanel") !== null,
    peerId: float.dataset.peerId ?? "",
    name: float.querySelector(".nbc-float-name")?.textContent ?? "",
    playing: !!video && video.readyState >= 2 && video.videoWidth > 0 && !video.paused,
    time: video ? video.currentTime : 0,
  };
}
"""

# Where the call's element is: in this page's output, or in the pop-out window.
WHERE_JS = """
() => {
  const pip = globalThis.documentPictureInPicture?.window ?? globalThis.__standIn?.window;
  const away = pip?.document.querySelector(".nbc-root");
  const videos = [...(away ?? document).querySelectorAll(".nbc-root video")];
  return {
    here: !!document.querySelector(".jp-OutputArea .nbc-root"),
    placeholder: !!document.querySelector(".nbc-popped-out"),
    away: !!away,
    playing: videos.filter((v) => v.srcObject && v.readyState >= 2 && !v.paused).length,
  };
}
"""

# A stand-in Document Picture-in-Picture: the "window" is a same-origin iframe, which the
# test closes the way a browser closes its picture-in-picture window (pagehide).
STAND_IN_JS = """
() => {
  const standIn = {
    window: null,
    async requestWindow() {
      const frame = document.createElement("iframe");
      frame.style.cssText = "position: fixed; left: 0; top: 0; width: 480px; height: 360px";
      document.body.append(frame);
      frame.contentWindow.close = () => {
        frame.contentWindow.dispatchEvent(new Event("pagehide"));
        frame.remove();
        standIn.window = null;
      };
      standIn.window = frame.contentWindow;
      return frame.contentWindow;
    },
  };
  Object.defineProperty(window, "documentPictureInPicture", {
    value: standIn, configurable: true,
  });
  window.__standIn = standIn;
}
"""


def scroll_to_bottom(person: Participant) -> None:
    person.page.locator(".jp-Cell").last.scroll_into_view_if_needed()


def float_state(person: Participant) -> dict[str, Any] | None:
    state: dict[str, Any] | None = person.js(FLOAT_JS)
    return state


def test_a_floating_view_keeps_the_call_in_sight(meeting: Meeting) -> None:
    room = meeting.room()
    ada, bob = meeting.open(
        [("ada", widget_cells(room, "ada") + FILLER), ("bob", widget_cells(room, "bob"))]
    )
    for person in (ada, bob):
        wait_for_join(person)
    wait_for_full_mesh([ada, bob])
    # Run All leaves the notebook scrolled to its last cell: bring the call into view.
    ada.page.locator(".nbc-root").scroll_into_view_if_needed()
    wait_until(lambda: float_state(ada) is None, TIMEOUT, "no floating view while in sight")

    scroll_to_bottom(ada)
    shown = wait_until(
        lambda: (s := float_state(ada)) and s["playing"] and s, TIMEOUT, "the floating view"
    )
    assert shown["inPanel"] and shown["peerId"] == bob.peer_id, shown
    assert shown["name"] == bob.identity()["display_name"]
    later = wait_until(
        lambda: (s := float_state(ada)) and s["time"] > shown["time"] and s,
        TIMEOUT,
        "bob's video to play on in the floating view",
    )
    assert later["playing"]

    # Its buttons work: ada mutes from the floating view, and bob's kernel hears of it.
    ada.page.locator('.nbc-float .nbc-button[data-action="microphone"]').click()
    wait_until(
        lambda: [p["microphone"] for p in bob.value("w.peers")] == [False],
        TIMEOUT,
        "bob to see ada muted",
    )
    assert ada.value("w.microphone") is False

    # "Show call" brings the cell back, and the floating view goes.
    ada.page.locator('.nbc-float .nbc-button[data-action="show"]').click()
    wait_until(lambda: float_state(ada) is None, TIMEOUT, "the floating view to go")


@pytest.mark.parametrize("kind", ["stand-in", "real"])
def test_the_call_pops_out_and_comes_back(meeting: Meeting, kind: str) -> None:
    room = meeting.room()
    (ada,) = meeting.open([("ada", widget_cells(room, "ada") + FILLER)])
    (bob,) = meeting.open([("bob", widget_cells(room, "bob"))])
    for person in (ada, bob):
        wait_for_join(person)
    wait_for_full_mesh([ada, bob])
    if kind == "stand-in":
        ada.js(STAND_IN_JS)
    elif not ada.js("() => 'documentPictureInPicture' in window"):
        pytest.skip("this Chromium offers no Document Picture-in-Picture")

    ada.page.locator('.nbc-root .nbc-button[data-action="popout"]').click()
    where = wait_until(
        lambda: (w := ada.js(WHERE_JS))["away"] and w["playing"] >= 2 and w,
        TIMEOUT,
        "the call to play in its own window",
    )
    assert where["placeholder"] and not where["here"], where
    # Popped out counts as in sight: scrolling the notebook brings no floating view.
    scroll_to_bottom(ada)
    ada.page.wait_for_timeout(1000)
    assert float_state(ada) is None

    # Closing the window (as its own close button does) brings the call back, playing.
    ada.js(
        "() => (globalThis.documentPictureInPicture?.window ?? globalThis.__standIn.window).close()"
    )
    where = wait_until(
        lambda: (w := ada.js(WHERE_JS))["here"] and w["playing"] >= 2 and w,
        TIMEOUT,
        "the call to come back and play in the notebook",
    )
    assert not where["placeholder"] and not where["away"], where
    assert ada.value("w.status") == "joined" and bob.value("len(w.peers)") == 1
