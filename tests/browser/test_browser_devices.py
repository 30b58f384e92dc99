"""Devices in Chromium with three fake cameras: switching the camera mid-call reaches the
other side in under a second on the same link, with no new offer and no gap the other
way; the pre-join panel keeps everyone out of the call until their own click, in
JupyterLab with real-time collaboration and named Jupyter users.

What headless Chromium cannot drive (a device unplugged, a speaker through setSinkId) is
tested as the front end's rules in Node: tests/test_devices_js.py."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright

from support import devices, probes
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import (
    camera_frames,
    frames_advance,
    frames_encoded,
    wait_for_frames_to_advance,
    wait_for_full_mesh,
)
from support.pages import Participant, chromium_args, launch_chromium
from support.polling import wait_until
from support.timeouts import TIMEOUT

LAB_COLLABORATIVE = True
LAB_ARGS = ["--ServerApp.identity_provider_class=support.identity.NamedPeople"]

# Switching a camera must reach the other side within this (issue: under 1 s).
SWITCH_BUDGET_S = 1.0


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium with three fake cameras (and microphones, and speakers)."""
    chromium = launch_chromium(playwright, chromium_args(cameras=3))
    try:
        yield chromium
    finally:
        chromium.close()


def wait_frame(receiver: Participant, key: str) -> float:
    """Wait until ``receiver``'s watch saw a ``key`` ("plain" or "detailed") frame; its time."""
    at: float = wait_until(
        lambda: devices.watched(receiver)[key], TIMEOUT, f"{receiver.name} to decode a {key} frame"
    )
    return at


def test_switching_the_camera_reaches_the_other_side_on_the_same_link(meeting: Meeting) -> None:
    ada, bob = meeting.join(meeting.room(), ["ada", "bob"])
    wait_for_full_mesh([ada, bob])
    wait_for_frames_to_advance(bob, ada.peer_id)
    wait_for_frames_to_advance(ada, bob.peer_id)
    assert devices.camera_in_use(ada) == devices.DETAILED_CAMERA
    devices.watch_camera(bob, ada.peer_id)
    wait_frame(bob, "detailed")
    links = {"ada": devices.mark_links(ada, "before"), "bob": devices.mark_links(bob, "before")}
    sdp = {"ada": devices.negotiations(ada), "bob": devices.negotiations(bob)}
    bob_frames_at_ada = camera_frames(ada, bob.peer_id)

    # Ada picks her other camera in the camera button's menu.
    devices.watch_camera(bob, ada.peer_id)
    clicked = devices.choose_camera(ada, devices.PLAIN_CAMERA)
    try:
        plain_at = wait_frame(bob, "plain")
    except AssertionError as exc:
        exc.add_note(f"ada sends {devices.camera_in_use(ada)}; bob sees {devices.watched(bob)}")
        exc.add_note(f"ada's notices: {ada.page.locator('.nbc-notice').all_inner_texts()}")
        raise
    switch_s = (plain_at - clicked) / 1000
    print(
        f"camera switch: click to the other side's first frame of the new camera {switch_s:.3f} s"
    )
    assert switch_s < SWITCH_BUDGET_S, f"the switch took {switch_s:.3f} s"
    assert devices.camera_in_use(ada) == devices.PLAIN_CAMERA
    assert probes.live_camera_tracks(ada) == 1, "the first camera is released"

    # The same links, no new offer or answer on either side, still connected; and Bob's
    # camera kept reaching Ada through the switch.
    assert devices.mark_links(ada, "after") == links["ada"]
    assert devices.mark_links(bob, "after") == links["bob"]
    assert devices.negotiations(ada) == sdp["ada"]
    assert devices.negotiations(bob) == sdp["bob"]
    assert all(link["connection"] == "connected" for link in sdp["ada"].values())
    assert camera_frames(ada, bob.peer_id) > bob_frames_at_ada
    assert frames_advance(ada, bob.peer_id, over=0.5)

    # The kernel hears the camera in use and how many there are, not the lists.
    (record,) = wait_until(
        lambda: [
            d
            for d in ada.value("w.devices")
            if {"kind": "camera", "label": devices.PLAIN_CAMERA} in d["in_use"]
        ],
        TIMEOUT,
        "ada's w.devices to name her other camera",
    )
    assert record["id"] == ada.peer_id and record["counts"]["camera"] == 3
    assert record["counts"]["microphone"] >= 2 and set(record) == {"id", "name", "in_use", "counts"}

    # The notebook asks for the first camera back: Ada is asked, and her yes switches it.
    devices.watch_camera(bob, ada.peer_id)
    ada.run(f"w.camera_device = {devices.DETAILED_CAMERA!r}")
    ask = ada.page.locator('.nbc-request[data-device="camera-device"]')
    ask.wait_for(timeout=TIMEOUT * 1000)
    assert devices.DETAILED_CAMERA in ask.inner_text()
    time.sleep(0.5)  # time enough for a camera to switch, were it going to
    assert devices.camera_in_use(ada) == devices.PLAIN_CAMERA
    ada.page.locator('[data-action="accept-camera-device"]').click()
    wait_frame(bob, "detailed")
    assert devices.camera_in_use(ada) == devices.DETAILED_CAMERA
    assert devices.negotiations(ada) == sdp["ada"]

    # The choice is remembered in this browser: a new page of Ada's joins on it.
    remembered = ada.js("() => JSON.parse(localStorage.getItem('nbconference.devices'))")
    assert remembered["camera"]["label"] == devices.DETAILED_CAMERA


def test_join_with_camera_off_sends_no_video_and_prejoin_false_needs_no_click(
    meeting: Meeting,
) -> None:
    room = meeting.room()
    (bob,) = meeting.open([("bob", widget_cells(room, "bob", prejoin=False))])
    (ada,) = meeting.open([("ada", widget_cells(room, "ada", prejoin=True))])
    # prejoin=False: Bob is in with no click, and never saw a panel.
    wait_for_join(bob)
    assert not devices.prejoin_shown(bob)

    # Ada sees the panel: her camera's preview, and she is not in the call.
    devices.wait_for_prejoin(ada)
    preview = ada.page.locator(".nbc-prejoin-preview")
    wait_until(
        lambda: preview.evaluate("(v) => v.videoWidth > 0 && !v.paused"),
        TIMEOUT,
        "ada's preview to play her camera",
    )
    assert [r["status"] for r in probes.roots(ada)] == ["idle"]
    assert ada.value("w.peers") == [] and bob.value("w.peers") == []

    devices.click_prejoin(ada, "Join with camera off")
    wait_for_join(ada)
    wait_for_frames_to_advance(ada, bob.peer_id)
    wait_until(
        lambda: (m := probes.media(bob).get(ada.peer_id)) is not None and m.audio_packets > 0,
        TIMEOUT,
        "bob to hear ada",
    )
    assert not devices.prejoin_shown(ada)
    assert probes.live_camera_tracks(ada) == 0, "the preview's camera is released"
    assert camera_frames(bob, ada.peer_id) == 0
    assert not frames_advance(bob, ada.peer_id, over=1.0), "bob decodes ada's camera"
    assert frames_encoded(ada, bob.peer_id) == 0
    wait_until(lambda: ada.value("w.camera") is False, TIMEOUT, "ada's w.camera to be False")
    assert ada.value("w.microphone") is True


def test_a_collaborator_joins_only_after_their_own_click(meeting: Meeting) -> None:
    room = meeting.room()
    shared = meeting.notebook("shared", widget_cells(room, "label", prejoin=True))
    ada = meeting.visit(shared, "ada", run_all=True, person="ada")
    devices.wait_for_prejoin(ada)
    devices.click_prejoin(ada, "Join")
    wait_for_join(ada)

    # Grace opens the notebook Ada ran: the widget reaches her page; she clicks nothing.
    grace = meeting.visit(shared, "grace", person="grace")
    devices.wait_for_prejoin(grace)
    time.sleep(2.0)  # time enough to join, were her page going to
    assert [r["status"] for r in probes.roots(grace)] == ["idle"]
    assert ada.value("[v['name'] for v in w.viewers]") == ["Ada Lovelace"]
    assert probes.media(ada) == {}, "ada has a link to someone"

    # Her click, muted: she is in, as herself, with her camera on and her microphone off.
    devices.click_prejoin(grace, "Join muted")
    wait_for_join(grace)
    wait_for_full_mesh([ada, grace])
    wait_for_frames_to_advance(ada, grace.peer_id)
    viewers = wait_until(
        lambda: v if len(v := ada.value("w.viewers")) == 2 else None,
        TIMEOUT,
        "the shared kernel to see both viewers",
    )
    grace_record = next(v for v in viewers if v["id"] == grace.peer_id)
    assert grace_record["name"] == "Grace Hopper"
    assert grace_record["camera"] is True and grace_record["microphone"] is False

    # Reloading her page the same day joins at once: she joined this call in this browser.
    grace.page.reload()
    wait_for_join(grace)
    assert not devices.prejoin_shown(grace)
