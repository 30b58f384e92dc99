"""Consent for devices, in Chromium (issue 9): the notebook's code may turn a viewer's
camera or microphone off, like a host's mute, and on again where code turned it off; a
device the person turned off themselves stays off until they accept the notebook's
request."""

from __future__ import annotations

import time

from support import probes
from support.meeting import Meeting
from support.mesh import frames_advance, wait_for_frames_to_advance, wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until
from support.timeouts import TIMEOUT

# The microphone is muted by disabling its track (unmuting needs no new prompt).
MICROPHONE_JS = f"""() => {probes.CONFERENCE_JS}.localStream.getAudioTracks()
    .map((t) => ({{ state: t.readyState, enabled: t.enabled }}))"""


def seen_by(other: Participant, person: Participant, device: str) -> bool | None:
    """``device`` of ``person`` as ``other``'s kernel sees it (None while not listed)."""
    peers = other.value("{p['id']: p for p in w.peers}")
    record = peers.get(person.peer_id)
    return None if record is None else bool(record[device])


def wait_seen(other: Participant, person: Participant, device: str, on: bool) -> None:
    wait_until(
        lambda: seen_by(other, person, device) is on,
        TIMEOUT,
        f"{other.name}'s kernel to see {person.name}'s {device} {'on' if on else 'off'}",
    )


def wait_kernel(person: Participant, device: str, on: bool) -> None:
    """The viewer's own kernel: with one viewer, ``w.camera``/``w.microphone`` are its."""
    wait_until(
        lambda: person.value(f"w.{device}") is on,
        TIMEOUT,
        f"{person.name}'s w.{device} to be {on}",
    )


def request_shown(person: Participant, device: str) -> bool:
    return person.page.locator(f'.nbc-request[data-device="{device}"]').is_visible()


def test_code_turns_the_camera_off_and_on_but_only_asks_the_person(meeting: Meeting) -> None:
    ada, bob = meeting.join(meeting.room(), ["ada", "bob"])
    wait_for_full_mesh([ada, bob])

    # Off from code, like a host's mute: the camera is released, bob sees it off.
    ada.run("w.camera = False")
    wait_until(lambda: probes.live_camera_tracks(ada) == 0, TIMEOUT, "ada's camera to stop")
    wait_seen(bob, ada, "camera", False)
    assert not frames_advance(bob, ada.peer_id, over=1.0), "bob still decodes ada's camera"
    assert ada.value("w.camera") is False

    # On from code: code turned it off, so code may turn it on; frames flow again.
    ada.run("w.camera = True")
    wait_until(lambda: probes.live_camera_tracks(ada) == 1, TIMEOUT, "ada's camera to restart")
    wait_seen(bob, ada, "camera", True)
    wait_for_frames_to_advance(bob, ada.peer_id)
    assert not request_shown(ada, "camera")

    # Ada turns her camera off herself; the kernel hears of it (one viewer: two-way).
    ada.page.locator('.nbc-button[data-action="camera"]').click()
    wait_kernel(ada, "camera", False)
    assert probes.live_camera_tracks(ada) == 0
    # Code asks for it on: it stays off, and ada is asked.
    ada.run("w.camera = True")
    wait_until(lambda: request_shown(ada, "camera"), TIMEOUT, "ada to be asked")
    request = ada.page.locator('.nbc-request[data-device="camera"]')
    assert "The notebook asks you to turn on your camera." in request.inner_text()
    time.sleep(1.0)  # time enough for a camera to start, were it going to
    assert probes.live_camera_tracks(ada) == 0
    assert seen_by(bob, ada, "camera") is False
    wait_kernel(ada, "camera", False)  # what the viewer has, not what code asked
    # She agrees: on, and bob decodes her camera again.
    request.locator('[data-action="accept-camera"]').click()
    wait_until(lambda: probes.live_camera_tracks(ada) == 1, TIMEOUT, "ada's camera to start")
    wait_seen(bob, ada, "camera", True)
    wait_for_frames_to_advance(bob, ada.peer_id)
    wait_kernel(ada, "camera", True)
    assert not request_shown(ada, "camera")


def test_a_muted_person_is_asked_and_may_decline(meeting: Meeting) -> None:
    ada, bob = meeting.join(meeting.room(), ["ada", "bob"])
    wait_for_full_mesh([ada, bob])

    # Muted by code, unmuted by code.
    ada.run("w.microphone = False")
    wait_seen(bob, ada, "microphone", False)
    assert ada.js(MICROPHONE_JS) == [{"state": "live", "enabled": False}]
    ada.run("w.microphone = True")
    wait_seen(bob, ada, "microphone", True)
    assert ada.js(MICROPHONE_JS) == [{"state": "live", "enabled": True}]

    # Muted by herself: code's unmute becomes a request, which she declines.
    ada.page.locator('.nbc-button[data-action="microphone"]').click()
    wait_kernel(ada, "microphone", False)
    ada.run("w.microphone = True")
    wait_until(lambda: request_shown(ada, "microphone"), TIMEOUT, "ada to be asked")
    assert ada.js(MICROPHONE_JS) == [{"state": "live", "enabled": False}]
    ada.page.locator('.nbc-request [data-action="decline-microphone"]').click()
    wait_until(lambda: not request_shown(ada, "microphone"), TIMEOUT, "the request to go")
    assert ada.js(MICROPHONE_JS) == [{"state": "live", "enabled": False}]
    assert seen_by(bob, ada, "microphone") is False
    wait_kernel(ada, "microphone", False)
