"""Waiting for media to flow between participants, judged by what each page decodes."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

from . import probes
from .pages import Participant
from .polling import wait_until

MEDIA_TIMEOUT = 30.0


def receives_from(receiver: Participant, sender_ids: Sequence[str]) -> bool:
    """True when ``receiver`` decodes video and receives audio from every sender."""
    got = probes.media(receiver)
    return all(
        peer in got and got[peer].decoding_video and got[peer].audio_packets > 0
        for peer in sender_ids
    )


def wait_for_full_mesh(people: Sequence[Participant], timeout: float = MEDIA_TIMEOUT) -> None:
    """Every participant decodes video and receives audio from every other one."""
    for person in people:
        others = [p.peer_id for p in people if p is not person]
        try:
            wait_until(
                functools.partial(receives_from, person, others),
                timeout,
                f"{person.name} to receive media from {others}",
                interval=0.25,
            )
        except AssertionError as exc:
            exc.add_note(f"{person.name} receives: {probes.media(person)}")
            raise


def camera_frames(receiver: Participant, sender_id: str) -> int:
    """Camera frames ``receiver`` has decoded from ``sender_id`` (0 if not connected)."""
    got = probes.media(receiver).get(sender_id)
    return got.camera_frames if got else 0


def frames_advance(receiver: Participant, sender_id: str, over: float = 1.0) -> bool:
    """Whether ``receiver`` decodes new camera frames from ``sender_id`` within ``over`` s."""
    before = camera_frames(receiver, sender_id)
    time.sleep(over)
    return camera_frames(receiver, sender_id) > before


def wait_for_frames_to_advance(
    receiver: Participant, sender_id: str, timeout: float = MEDIA_TIMEOUT
) -> None:
    wait_until(
        lambda: frames_advance(receiver, sender_id, 0.5),
        timeout,
        f"{receiver.name} to decode new frames from {sender_id}",
        interval=0,
    )
