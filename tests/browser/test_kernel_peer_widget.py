"""The real ConferenceWidget in JupyterLab and KernelPeers in one room.

Uses the browser tests' harness (JupyterLab, Chromium with fake devices, widget
notebooks). The KernelPeers run in a subprocess (support.kernel_peers), because the sync
Playwright API the harness uses owns this thread's event loop.
"""

from __future__ import annotations

from typing import Any

import pytest

from nbconference.protocol import scale_for
from support import probes
from support.kernel_peers import KernelPeers
from support.meeting import Meeting
from support.mesh import encodes, frames_advance, link_record, sent_height
from support.pages import Participant
from support.polling import wait_until
from support.timeouts import TIMEOUT

pytest.importorskip("aiortc")


def test_widgets_show_the_kernel_peer_as_a_tile(meeting: Meeting) -> None:
    """One widget is in the room before the kernel peer (the widget offers) and one joins
    after it (the kernel peer offers): both show the kernel as a tile and decode its
    video, and the kernel peer receives both cameras."""
    room = meeting.room()
    (ada,) = meeting.join(room, ["ada"])
    kernel = KernelPeers(meeting.lab.signaling_url, meeting.lab.token, room)
    try:
        kernel_id = kernel.join("kernel")
        kernel.on_frame("kernel")
        (bob,) = meeting.join(room, ["bob"])

        for person in (ada, bob):
            wait_until(
                lambda p=person: _decodes(p, kernel_id),
                TIMEOUT,
                f"{person.name} to decode the kernel peer",
            )
            tile = next(t for t in probes.tiles(person) if t["peerId"] == kernel_id)
            assert tile["microphone"] == "off" and tile["camera"] is None, tile
        for person in (ada, bob):
            shapes = wait_until(
                lambda p=person: kernel.frame_shapes("kernel", p.peer_id),
                TIMEOUT,
                f"the kernel peer to receive {person.name}'s camera",
            )
            assert all(len(shape) == 3 and shape[2] == 3 for shape in shapes), shapes
    finally:
        kernel.close()
    assert kernel.reported()[-1] == {"left": "kernel", "status": "left"}
    assert kernel.process.returncode == 0


def test_a_kernel_peer_sends_what_a_tile_shows_and_asks_for_what_it_reads(
    meeting: Meeting,
) -> None:
    """The kernel peer honours the browser's requests on its own sends (numpy frames
    scaled per link, none while the tile is hidden); it asks the browser for nothing
    while it reads nothing, and for the whole camera once it reads it."""
    room = meeting.room()
    (ada,) = meeting.join(room, ["ada"])
    kernel = KernelPeers(meeting.lab.signaling_url, meeting.lab.token, room)
    try:
        kernel_id = kernel.join("kernel", size=(1280, 720), fps=10)
        wait_until(lambda: _decodes(ada, kernel_id), TIMEOUT, "ada to decode the kernel peer")

        # Ada's tile is smaller than 720: the kernel scales its frames for her link.
        tile = probes.tile_height(ada, kernel_id)
        expected = 720 / scale_for(720, tile)
        assert 0 < tile < 720 and expected < 720, tile
        size = wait_until(
            lambda: (s := probes.media(ada)[kernel_id].camera_size)[1] == expected and s,
            TIMEOUT,
            f"ada to decode the kernel's frames {expected:g} high (tile {tile})",
        )
        assert size == (round(1280 * expected / 720) & ~1, expected)
        assert kernel.links("kernel")[ada.peer_id]["shows_us"] == tile

        # Ada's tab is hidden: she asks for 0, and the kernel sends her no frames.
        probes.set_hidden(ada, True)
        wait_until(lambda: _shows(kernel, ada) == 0, TIMEOUT, "ada to ask the kernel for 0")
        assert not frames_advance(ada, kernel_id, 1.0), "frames from the kernel while hidden"
        sent = kernel.links("kernel")[ada.peer_id]["frames_sent"]
        ada.page.wait_for_timeout(1000)
        assert kernel.links("kernel")[ada.peer_id]["frames_sent"] == sent
        probes.set_hidden(ada, False)
        wait_until(lambda: frames_advance(ada, kernel_id, 0.5), TIMEOUT, "the kernel's frames")

        # The kernel reads nothing: it asks ada for 0, and ada encodes nothing for it.
        wait_until(
            lambda: not encodes(ada, kernel_id), TIMEOUT, "ada to stop encoding for the kernel"
        )
        # It reads ada: it asks for the whole camera, and gets 640x360 (not a tile's size).
        kernel.read("kernel", ada.peer_id)
        shapes = wait_until(
            lambda: kernel.frame_shapes("kernel", ada.peer_id),
            TIMEOUT,
            "the kernel peer to receive ada's camera",
        )
        assert shapes[0] == (360, 640, 3), shapes
        assert encodes(ada, kernel_id)
        assert sent_height(ada, kernel_id) == 360
        # The kernel's record of that link says what ada sends it, and that nothing limits it.
        wanted = {"requested_height": 4320, "send_height": 360, "send_limit": None}
        wait_until(
            lambda: link_record(ada, kernel_id, list(wanted)) == wanted,
            TIMEOUT,
            "ada's stats record",
        )
    finally:
        kernel.close()


def _decodes(person: Participant, kernel_id: str) -> bool:
    media = probes.media(person).get(kernel_id)
    return media is not None and media.decoding_video


def _shows(kernel: KernelPeers, person: Participant) -> Any:
    return kernel.links("kernel").get(person.peer_id, {}).get("shows_us")
