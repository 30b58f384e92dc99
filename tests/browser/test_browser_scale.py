"""A mesh that scales (issue 12), in real JupyterLab pages: each link sends only what its
receiver shows. A tile out of sight (scrolled away, a hidden tab) stops its sender's
encoder for that link, and brings it back when it is in sight again; each link fits its
tile under the room's budget; "video off for me" leaves audio only; a screen share keeps
its resolution. The rooms are made of two pages and KernelPeers (support.kernel_peers),
which are cheap: a room of 6 pages would need the whole machine."""

from __future__ import annotations

import time

from nbconference.protocol import scale_for
from support import probes
from support.kernel_peers import KernelPeers
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import (
    encodes,
    frames_advance,
    frames_encoded,
    link_record,
    sent_height,
    wait_for_full_mesh,
)
from support.pages import Participant
from support.polling import wait_until
from support.timeouts import TIMEOUT

# The bound: a link stops (and starts again) within a second of the change.
WITHIN_S = 1.0
# Enough cells below the widget that scrolling to the last one hides it.
FILLER = [f"x_{n} = {n}" for n in range(60)]
# What the fake camera captures (CAMERA_CONSTRAINTS in js/media.js).
CAMERA_HEIGHT = 360

# The playing position of the grid tile showing ``peerId``'s camera (null: no picture).
TILE_TIME_JS = """(peerId) => {
  const video = document.querySelector(`.nbc-tile.nbc-remote[data-peer-id="${peerId}"] video`);
  return video && video.srcObject && video.readyState >= 2 ? video.currentTime : null;
}"""
FLOAT_JS = """() => {
  const float = document.querySelector(".nbc-float");
  const video = float?.querySelector("video");
  if (!float || !video) return null;
  const { width, height } = video.getBoundingClientRect();
  return {
    peerId: float.dataset.peerId ?? "",
    height: Math.round(Math.max(height, width * 9 / 16) * devicePixelRatio),
  };
}"""


def scroll(person: Participant, selector: str) -> float:
    """Scroll ``selector`` into view in ``person``'s page; returns when, on the page's
    clock (epoch ms, as getStats() timestamps), so that slow test steps do not count."""
    script = "(s) => { document.querySelector(s).scrollIntoView(); return Date.now(); }"
    at: float = person.js(script, selector)
    return at


def stop_delay(sender: Participant, receiver: Participant, since: float) -> float:
    """Wait for ``sender``'s camera encoder for ``receiver`` to stop (no new frame for
    half a second); returns how long after ``since`` (page clock, ms) its last packet
    reached the receiver, in seconds."""

    def stopped() -> bool:
        before = frames_encoded(sender, receiver.peer_id)
        time.sleep(0.5)
        return frames_encoded(sender, receiver.peer_id) == before

    wait_until(stopped, TIMEOUT, f"{sender.name} to stop encoding for {receiver.name}")
    received = probes.camera_clock(receiver, sender.peer_id)["received"]
    return (float(received["lastPacketAt"]) - since) / 1000


def resume_delay(sender: Participant, receiver: Participant, since: float, was: int) -> float:
    """Wait for ``sender`` to encode for ``receiver`` past ``was`` frames again; returns
    how long after ``since`` (page clock, ms) the first sample that shows it was taken, in
    seconds (an upper bound of the delay)."""
    sample = wait_until(
        lambda: (c := probes.camera_clock(sender, receiver.peer_id)["sent"])["frames"] > was and c,
        TIMEOUT,
        f"{sender.name} to encode for {receiver.name} again",
        interval=0.05,
    )
    return (float(sample["at"]) - since) / 1000


def tile_plays(viewer: Participant, peer_id: str) -> bool:
    before = viewer.js(TILE_TIME_JS, peer_id)
    time.sleep(0.5)
    after = viewer.js(TILE_TIME_JS, peer_id)
    return before is not None and after is not None and after > before


def test_a_link_sends_only_while_its_tile_is_in_sight(meeting: Meeting) -> None:
    room = meeting.room()
    quiet = {"microphone": False}  # no speaker: the floating view shows the first peer
    ada, bob, cy = meeting.open(
        [
            ("ada", widget_cells(room, "ada", **quiet) + FILLER),
            ("bob", widget_cells(room, "bob", **quiet)),
            ("cy", widget_cells(room, "cy", **quiet)),
        ]
    )
    for person in (ada, bob, cy):
        wait_for_join(person)
    # Run All leaves ada's notebook scrolled to its last cell: bring the call into view.
    ada.page.locator(".nbc-root").scroll_into_view_if_needed()
    wait_for_full_mesh([ada, bob, cy])

    # Ada scrolls the call away: the floating view shows one of them; the other's tile is
    # out of sight, so that sender stops encoding for ada within a second.
    since = scroll(ada, ".jp-Cell:last-child")
    float_view = wait_until(lambda: ada.js(FLOAT_JS), TIMEOUT, "the floating view")
    shown, hidden = (bob, cy) if float_view["peerId"] == bob.peer_id else (cy, bob)
    assert float_view["peerId"] == shown.peer_id
    assert stop_delay(hidden, ada, since) <= WITHIN_S
    # The floating view counts as in sight: its peer goes on, at the floating view's size.
    assert frames_advance(ada, shown.peer_id)
    allowed = CAMERA_HEIGHT / scale_for(CAMERA_HEIGHT, float_view["height"])
    wait_until(
        lambda: 0 < sent_height(shown, ada.peer_id) <= allowed,
        TIMEOUT,
        f"{shown.name} to send ada at most {allowed:g} high (floating view)",
    )

    # Back in view: the hidden sender encodes again within a second, and the tile plays.
    was = frames_encoded(hidden, ada.peer_id)
    since = scroll(ada, ".nbc-root")
    assert resume_delay(hidden, ada, since, was) <= WITHIN_S
    wait_until(lambda: tile_plays(ada, hidden.peer_id), 5, f"{hidden.name}'s tile to play")

    # Ada's tab is hidden: nobody encodes for her; visible again, both do within a second.
    since = probes.set_hidden(ada, True)
    for sender in (bob, cy):
        assert stop_delay(sender, ada, since) <= WITHIN_S, sender.name
    was_sent = {sender.name: frames_encoded(sender, ada.peer_id) for sender in (bob, cy)}
    since = probes.set_hidden(ada, False)
    for sender in (bob, cy):
        assert resume_delay(sender, ada, since, was_sent[sender.name]) <= WITHIN_S, sender.name
    for sender in (bob, cy):
        wait_until(lambda s=sender: tile_plays(ada, s.peer_id), 5, f"{sender.name}'s tile")
    # Ada's own sending never depended on what she shows.
    assert all(frames_advance(other, ada.peer_id) for other in (bob, cy))


def test_video_off_for_me_keeps_audio_names_and_the_speaking_ring(meeting: Meeting) -> None:
    room = meeting.room()
    ada, bob = meeting.open(
        [
            ("ada", widget_cells(room, "ada", microphone=False)),
            ("bob", widget_cells(room, "bob")),  # the fake microphone beeps
        ]
    )
    for person in (ada, bob):
        wait_for_join(person)
    wait_for_full_mesh([ada, bob])

    ada.run("w.receive_video = False")
    wait_until(lambda: not frames_advance(ada, bob.peer_id, 1.0), TIMEOUT, "bob's video to stop")
    assert not encodes(bob, ada.peer_id), "bob still encodes his camera for ada"
    # Audio goes on, and ada still sends her video: the choice is hers alone.
    audio = probes.media(ada)[bob.peer_id].audio_packets
    wait_until(lambda: probes.media(ada)[bob.peer_id].audio_packets > audio, TIMEOUT, "bob's audio")
    assert frames_advance(bob, ada.peer_id)
    # Bob's tile shows who he is and rings while he speaks.
    tile = ada.page.locator(f'.nbc-tile.nbc-remote[data-peer-id="{bob.peer_id}"]')
    assert tile.get_attribute("data-incoming") == "off"
    assert tile.locator(".nbc-avatar").is_visible() and tile.locator("video").is_hidden()
    assert tile.locator(".nbc-name").text_content() == bob.identity()["display_name"]
    tile.and_(ada.page.locator(".nbc-speaking")).wait_for(timeout=TIMEOUT * 1000)
    assert ada.value("[w.receive_video, w.viewers[0]['receive_video']]") == [False, False]

    # The button brings it back, and the kernel hears of it (one viewer: two-way).
    ada.page.locator('.nbc-root .nbc-button[data-action="receive-video"]').click()
    wait_until(lambda: frames_advance(ada, bob.peer_id, 0.5), TIMEOUT, "bob's video again")
    wait_until(lambda: ada.value("w.receive_video") is True, TIMEOUT, "w.receive_video")
    assert tile.get_attribute("data-incoming") is None and tile.locator("video").is_visible()


def test_each_link_fits_its_tile_the_room_and_a_screen_share(meeting: Meeting) -> None:
    room = meeting.room()
    ada, bob = meeting.join(room, ["ada", "bob"])
    wait_for_full_mesh([ada, bob])
    pairs = [(ada, bob), (bob, ada)]

    # A room of 2: each link as large as its tile (rounded up to a step) calls for.
    in_two = {s.name: _fits_tile(s, r, room_height=360, steady=True) for s, r in pairs}

    # Four KernelPeers join: a room of 6. They read nothing, so they ask for nothing.
    kernels = KernelPeers(meeting.lab.signaling_url, meeting.lab.token, room)
    try:
        names = ["k1", "k2", "k3", "k4"]
        ids = [kernels.join(name, size=(320, 180), fps=10) for name in names]
        for person in (ada, bob):
            wait_until(
                lambda p=person: all(probes.media(p).get(i, _NONE).decoding_video for i in ids),
                TIMEOUT,
                f"{person.name} to decode the four kernel peers",
            )
        for sender, receiver in pairs:
            in_six = _fits_tile(sender, receiver, room_height=270)
            assert in_six < in_two[sender.name], (sender.name, in_six, in_two)
        for person in (ada, bob):
            for kernel_id in ids:
                wait_until(
                    lambda p=person, k=kernel_id: not encodes(p, k),
                    TIMEOUT,
                    f"{person.name} to stop encoding for a kernel peer that reads nothing",
                )

        # Two leave: a room of 4, where ada shares her 1280x720 screen. Bob gets it 1280
        # wide; ada's camera links become thumbnails beside it.
        for name in names[:2]:
            kernels.leave(name)
        ada.page.locator('.nbc-root .nbc-button[data-action="screen"]').click()
        size = wait_until(
            lambda: _screen_size(bob, ada.peer_id), TIMEOUT, "bob to decode ada's screen"
        )
        wait_until(
            lambda: _screen_size(bob, ada.peer_id) == (1280, 720),
            TIMEOUT,
            f"ada's screen to arrive 1280x720 (first seen {size})",
        )
        wait_until(
            lambda: 0 < sent_height(ada, bob.peer_id) <= 180,
            TIMEOUT,
            "ada's camera for bob to scale down while she shares",
        )
        ada.page.locator('.nbc-root .nbc-button[data-action="screen"]').click()
    finally:
        kernels.close()

    # Everyone else left: back to a room of 2, and to the pictures of a room of 2.
    for sender, receiver in pairs:
        assert _fits_tile(sender, receiver, room_height=360, steady=True) == in_two[sender.name]


_NONE = probes.PeerMedia(None, 0, 0.0, {}, 0)


def _fits_tile(
    sender: Participant, receiver: Participant, room_height: int, steady: bool = False
) -> float:
    """The link from ``sender`` to ``receiver`` is encoded no higher than the receiver's
    tile rounded up to the next scale step, nor than the room allows (``steady``: it
    reaches that height, once the bandwidth estimate has ramped up), and the kernel's
    record of the link says which of the two limits it. Returns that height."""
    tile = probes.tile_height(receiver, sender.peer_id)
    by_tile = CAMERA_HEIGHT / scale_for(CAMERA_HEIGHT, tile)
    allowed = min(by_tile, room_height)

    def fits() -> int | None:
        height = sent_height(sender, receiver.peer_id)
        return height if 0 < height <= allowed and (height == allowed or not steady) else None

    wait_until(
        fits,
        TIMEOUT,
        f"{sender.name} to send {receiver.name} {'exactly' if steady else 'at most'} "
        f"{allowed:g} high (tile {tile}, room {room_height})",
    )
    reason = None if allowed >= CAMERA_HEIGHT else "receiver" if by_tile <= room_height else "room"
    wanted = {"send_max_height": round(allowed), "send_limit": reason}
    wait_until(
        lambda: link_record(sender, receiver.peer_id, list(wanted)) == wanted,
        TIMEOUT,
        f"{sender.name}'s stats record of the link to {receiver.name} to say {wanted}",
    )
    return allowed


def _screen_size(viewer: Participant, peer_id: str) -> tuple[int, int] | None:
    sizes = [s for s in probes.media(viewer)[peer_id].screen_sizes.values() if s[0] > 0]
    return sizes[0] if sizes else None
