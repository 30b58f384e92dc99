"""Waiting for media to flow between participants, judged by what each page decodes."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import Any

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


def on_the_sfu(person: Participant, others: Sequence[Participant]) -> bool:
    """The page's call is on the SFU: two connected connections (publisher, subscriber)
    and every other camera decoded through the SFU."""
    if probes.plane(person) != "sfu" or probes.connected_connections(person) != 2:
        return False
    got = probes.media(person)
    return all(
        other.peer_id in got
        and got[other.peer_id].via == "sfu"
        and got[other.peer_id].decoding_video
        and got[other.peer_id].audio_packets > 0
        for other in others
    )


def wait_for_the_sfu(people: Sequence[Participant], timeout: float = MEDIA_TIMEOUT) -> None:
    """Every page's call is on the SFU, decoding every other's camera through it."""
    for person in people:
        others = [p for p in people if p is not person]
        wait_until(
            functools.partial(on_the_sfu, person, others),
            timeout,
            f"{person.name} on the SFU, decoding {[o.name for o in others]}",
            interval=0.25,
        )


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


def frames_encoded(sender: Participant, receiver_id: str) -> int:
    """Camera frames ``sender`` has encoded for its link to ``receiver_id``."""
    sent = probes.media(sender)[receiver_id].camera_sent
    return sent.frames_encoded if sent else 0


def encodes(sender: Participant, receiver_id: str, over: float = 0.5) -> bool:
    """Whether ``sender`` encodes new camera frames for ``receiver_id`` within ``over`` s."""
    before = frames_encoded(sender, receiver_id)
    time.sleep(over)
    return frames_encoded(sender, receiver_id) > before


def sent_height(sender: Participant, receiver_id: str) -> int:
    """The height ``sender`` encodes its camera at for ``receiver_id`` (0: none yet)."""
    sent = probes.media(sender)[receiver_id].camera_sent
    return sent.height if sent else 0


def link_record(person: Participant, peer_id: str, fields: Sequence[str]) -> dict[str, Any]:
    """Those ``fields`` of the kernel's stats record of ``person``'s link to ``peer_id``
    (``w.stats``; None for each while there is no record)."""
    record = person.value(f"w.stats.get({peer_id!r}) or {{}}")
    return {key: record.get(key) for key in fields}
