"""Rooms past the mesh, in real JupyterLab pages and a real Janus that the extension
starts and supervises: with ``mesh_max_peers = 2`` the third join moves the room to the
SFU, every page then holds one publisher and one subscriber connection and decodes the
other two, and the first two see at most 3 s of frozen video across the move."""

from __future__ import annotations

import functools

from support import probes
from support.janus import loopback_config, needs_janus
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import MEDIA_TIMEOUT, wait_for_frames_to_advance, wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until

pytestmark = needs_janus

LAB_ARGS = [
    "--NBConference.sfu=janus",
    "--NBConference.mesh_max_peers=2",
    f"--NBConference.janus_rtp_port_range={loopback_config().rtp_port_range}",
]
# The move may freeze a camera this long at most (the promise).
MAX_FREEZE_S = 3.0


def open_people(meeting: Meeting, room: str, names: list[str]) -> list[Participant]:
    notebooks = [(name, widget_cells(room, name)) for name in names]
    people = meeting.open(notebooks, init_script=probes.COUNT_CONNECTIONS_JS)
    for person in people:
        wait_for_join(person)
    return people


def on_the_sfu(person: Participant, others: list[Participant]) -> bool:
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


def kernel_vias(person: Participant) -> bool:
    """The kernel's ``w.stats`` has a record per peer, each through the SFU."""
    vias = person.value("[r.get('via') for r in w.stats.values()]")
    return bool(vias) and set(vias) == {"sfu"}


def test_the_third_join_moves_the_room_to_the_sfu_and_video_goes_on(meeting: Meeting) -> None:
    room = meeting.room()
    ada, bob = open_people(meeting, room, ["ada", "bob"])
    wait_for_full_mesh([ada, bob])
    assert [probes.plane(p) for p in (ada, bob)] == ["mesh", "mesh"]
    assert [probes.connected_connections(p) for p in (ada, bob)] == [1, 1]
    for person in (ada, bob):
        probes.start_freeze_monitor(person)

    (cy,) = open_people(meeting, room, ["cy"])
    people = [ada, bob, cy]
    for person in people:
        others = [p for p in people if p is not person]
        wait_until(
            functools.partial(on_the_sfu, person, others),
            MEDIA_TIMEOUT,
            f"{person.name} on the SFU, decoding {[o.name for o in others]}",
            interval=0.25,
        )
        for other in others:
            wait_for_frames_to_advance(person, other.peer_id)
        # The kernel hears which plane carries each peer.
        wait_until(
            functools.partial(kernel_vias, person),
            10,
            f"{person.name}'s w.stats to say every peer comes through the SFU",
        )

    freezes = {
        (ada.name, bob.name): probes.worst_freeze(ada, bob.peer_id),
        (bob.name, ada.name): probes.worst_freeze(bob, ada.peer_id),
    }
    print(f"longest freeze across the move: {freezes}")
    assert all(seconds <= MAX_FREEZE_S for seconds in freezes.values()), freezes
    # Still exactly one publisher and one subscriber each: no mesh link came back.
    assert [probes.connected_connections(p) for p in people] == [2, 2, 2]
