"""Widgets in JupyterLab using ``nbconference serve`` (``signaling_url`` + ``token``)
instead of the Jupyter server's extension, as on a page without our Jupyter server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from browser.harness.meeting import Meeting
from browser.harness.mesh import wait_for_full_mesh
from browser.harness.processes import wait_until
from browser.harness.signal_probe import room_members
from browser.harness.standalone import StandaloneSignaling, running_standalone


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneSignaling]:
    with running_standalone(tmp_path_factory.mktemp("serve")) as server:
        yield server


def test_two_participants_through_the_standalone_server(
    meeting: Meeting, standalone: StandaloneSignaling
) -> None:
    room = meeting.room()
    ada, bob = meeting.join(
        room, ["ada", "bob"], signaling_url=standalone.url, token=standalone.token
    )
    wait_for_full_mesh([ada, bob])

    for person, other in ((ada, bob), (bob, ada)):
        wait_until(
            lambda person=person, other=other: (
                [p["id"] for p in person.value("w.peers")] == [other.peer_id]
            ),
            30,
            f"{person.name}'s w.peers",
        )
    # The call went through the standalone server, not through Lab's own extension.
    members = room_members(standalone.url, standalone.token, room)
    assert sorted(p["id"] for p in members) == sorted([ada.peer_id, bob.peer_id])
    assert room_members(meeting.lab.signaling_url, meeting.lab.token, room) == []
