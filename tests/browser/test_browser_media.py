"""Camera and screen share in real JupyterLab pages: what one participant turns on or off
(from Python or with a button) is what the others decode and see."""

from __future__ import annotations

import time
from typing import Any

from support import probes
from support.meeting import Meeting
from support.mesh import frames_advance, wait_for_frames_to_advance, wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until
from support.timeouts import TIMEOUT


def tile_of(viewer: Participant, peer_id: str, screen: bool = False) -> dict[str, Any] | None:
    found = [
        tile
        for tile in probes.tiles(viewer)
        if tile["peerId"] == peer_id and tile["screen"] == screen and not tile["local"]
    ]
    return found[0] if found else None


def peer_in_kernel(viewer: Participant, peer_id: str) -> dict[str, Any] | None:
    """The entry for ``peer_id`` in the viewer's ``w.peers``."""
    peers: list[dict[str, Any]] = viewer.value("w.peers")
    return next((p for p in peers if p["id"] == peer_id), None)


def screen_frames(viewer: Participant, peer_id: str) -> int:
    got = probes.media(viewer).get(peer_id)
    return sum(got.screen_frames.values()) if got else 0


def screen_advances(viewer: Participant, peer_id: str, over: float = 0.5) -> bool:
    before = screen_frames(viewer, peer_id)
    time.sleep(over)
    return screen_frames(viewer, peer_id) > before


def test_camera_turned_off_from_python_is_seen_by_peers(meeting: Meeting) -> None:
    ada, bob = meeting.join(meeting.room(), ["ada", "bob"])
    wait_for_full_mesh([ada, bob])

    ada.run("w.camera = False")
    wait_until(
        lambda: (tile_of(bob, ada.peer_id) or {}).get("camera") == "off",
        TIMEOUT,
        "bob's tile of ada to say camera off",
    )
    assert bob.page.locator(f'.nbc-tile[data-peer-id="{ada.peer_id}"] .nbc-cam-off').count()
    wait_until(
        lambda: (peer_in_kernel(bob, ada.peer_id) or {}).get("camera") is False,
        TIMEOUT,
        "bob's w.peers to say ada's camera is off",
    )
    # Off means released (the camera light goes out) and no frames reach bob any more.
    wait_until(lambda: probes.live_camera_tracks(ada) == 0, TIMEOUT, "ada's camera released")
    wait_until(
        lambda: not frames_advance(bob, ada.peer_id, over=1.0),
        10,
        "bob to stop decoding ada's camera",
        interval=0,
    )
    assert ada.value("w.camera") is False

    ada.run("w.camera = True")
    wait_until(
        lambda: (tile := tile_of(bob, ada.peer_id)) is not None and tile["camera"] is None,
        TIMEOUT,
        "bob's tile of ada to show the camera again",
    )
    wait_for_frames_to_advance(bob, ada.peer_id)
    wait_until(
        lambda: (peer_in_kernel(bob, ada.peer_id) or {}).get("camera") is True,
        TIMEOUT,
        "bob's w.peers to say ada's camera is on",
    )
    assert probes.live_camera_tracks(ada) == 1
    # Media the other way was never disturbed.
    wait_for_frames_to_advance(ada, bob.peer_id)


def test_controls_work_from_the_keyboard(meeting: Meeting) -> None:
    ada, bob = meeting.join(meeting.room(), ["ada", "bob"])
    wait_for_full_mesh([ada, bob])
    mic = ada.page.locator('.nbc-root button[data-action="microphone"]')
    assert mic.get_attribute("aria-pressed") == "true"

    mic.focus()
    ada.page.keyboard.press("Space")
    wait_until(lambda: ada.value("w.microphone") is False, TIMEOUT, "ada's w.microphone off")
    assert mic.get_attribute("aria-pressed") == "false"
    wait_until(
        lambda: (peer_in_kernel(bob, ada.peer_id) or {}).get("microphone") is False,
        TIMEOUT,
        "bob to see ada muted",
    )
    ada.page.keyboard.press("Enter")
    wait_until(lambda: ada.value("w.microphone") is True, TIMEOUT, "ada's w.microphone on")

    # Tab moves along the toolbar: the microphone's device menu, then the camera button.
    focused = []
    for _ in range(2):
        ada.page.keyboard.press("Tab")
        focused.append(ada.page.evaluate("() => document.activeElement?.dataset.action"))
    assert focused == ["microphone-menu", "camera"], focused
    ada.page.keyboard.press("Space")
    wait_until(lambda: ada.value("w.camera") is False, TIMEOUT, "ada's w.camera off")
    wait_until(
        lambda: (tile_of(bob, ada.peer_id) or {}).get("camera") == "off",
        TIMEOUT,
        "bob's tile of ada to say camera off",
    )


def test_screen_share_reaches_everyone_and_stops_cleanly(meeting: Meeting) -> None:
    ada, bob, cy = meeting.join(meeting.room(), ["ada", "bob", "cy"])
    wait_for_full_mesh([ada, bob, cy])
    share_button = ada.page.locator('.nbc-root button[data-action="screen"]')

    share_button.click()
    for viewer in (bob, cy):
        wait_until(
            lambda viewer=viewer: tile_of(viewer, ada.peer_id, screen=True),
            TIMEOUT,
            f"{viewer.name} to show ada's screen",
        )
        wait_until(
            lambda viewer=viewer: screen_advances(viewer, ada.peer_id),
            TIMEOUT,
            f"{viewer.name} to decode ada's screen",
            interval=0,
        )
        wait_until(
            lambda viewer=viewer: (peer_in_kernel(viewer, ada.peer_id) or {}).get("screen"),
            TIMEOUT,
            f"{viewer.name}'s w.peers to say ada shares",
        )
    wait_until(lambda: ada.value("w.sharing_screen") is True, TIMEOUT, "ada's sharing_screen")
    assert share_button.get_attribute("aria-pressed") == "true"
    # The screen comes beside the camera, not instead of it.
    assert frames_advance(bob, ada.peer_id)

    share_button.click()
    for viewer in (bob, cy):
        wait_until(
            lambda viewer=viewer: tile_of(viewer, ada.peer_id, screen=True) is None,
            TIMEOUT,
            f"{viewer.name} to remove ada's screen tile",
        )
        wait_until(
            lambda viewer=viewer: (
                (peer_in_kernel(viewer, ada.peer_id) or {}).get("screen") is False
            ),
            TIMEOUT,
            f"{viewer.name}'s w.peers to say ada stopped sharing",
        )
    wait_until(lambda: ada.value("w.sharing_screen") is False, TIMEOUT, "ada stops sharing")
    wait_until(
        lambda: not screen_advances(bob, ada.peer_id, over=1.0),
        10,
        "bob to stop decoding ada's screen",
        interval=0,
    )
    for viewer in (bob, cy):
        wait_for_frames_to_advance(viewer, ada.peer_id)


def test_simultaneous_screen_shares_recover_from_glare(meeting: Meeting) -> None:
    ada, bob = meeting.join(meeting.room(), ["ada", "bob"])
    wait_for_full_mesh([ada, bob])

    # Both share while neither's offer can leave the page: the offers must cross.
    for person in (ada, bob):
        person.js(probes.HOLD_SIGNALS_JS)
    for person in (ada, bob):
        probes.call(person, "startScreenShare")
    for person, other in ((ada, bob), (bob, ada)):
        wait_until(
            lambda person=person, other=other: (
                probes.signaling_state(person, other.peer_id) == "have-local-offer"
            ),
            TIMEOUT,
            f"{person.name} to have made an offer to {other.name}",
        )
    held = [person.js(probes.RELEASE_SIGNALS_JS) for person in (ada, bob)]
    assert all(held), f"no offer was held back: {held}"

    for viewer, sharer in ((ada, bob), (bob, ada)):
        wait_until(
            lambda viewer=viewer, sharer=sharer: screen_advances(viewer, sharer.peer_id),
            TIMEOUT,
            f"{viewer.name} to decode {sharer.name}'s screen after the collision",
            interval=0,
        )
        assert tile_of(viewer, sharer.peer_id, screen=True)
        wait_for_frames_to_advance(viewer, sharer.peer_id)
        wait_until(
            lambda viewer=viewer, sharer=sharer: (
                probes.signaling_state(viewer, sharer.peer_id) == "stable"
            ),
            TIMEOUT,
            f"{viewer.name}'s connection to {sharer.name} to settle",
        )
        assert viewer.value("w.sharing_screen") is True
        assert probes.media(viewer)[sharer.peer_id].connection == "connected"
