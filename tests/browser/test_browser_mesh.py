"""A room of three in real JupyterLab pages: everyone sees and hears everyone, the kernel
knows who is there, and a closed tab leaves the call at once."""

from __future__ import annotations

import time

from support import probes
from support.meeting import Meeting
from support.mesh import wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until

NAMES = ["ada", "bob", "cy"]

# The peer has no connection and no tile left on this page.
GONE_JS = f"""
(id) => !{probes.CONFERENCE_JS}.peers.has(id)
  && !document.querySelector(`.nbc-tile[data-peer-id="${{id}}"]`)
"""


def wait_for_kernel_peers(person: Participant, others: list[Participant]) -> None:
    """The kernel's ``w.peers`` comes to list exactly ``others``, each connected."""
    expected = {(o.peer_id, o.identity()["display_name"], "connected") for o in others}

    def listed() -> set[tuple[str, str, str]]:
        return {(p["id"], p["name"], p["connection"]) for p in person.value("w.peers")}

    wait_until(lambda: listed() == expected, 30, f"{person.name}'s w.peers to be {expected}")


def test_three_participants_see_and_hear_each_other_until_one_closes_the_tab(
    meeting: Meeting,
) -> None:
    people = meeting.join(meeting.room(), NAMES)
    ada, bob, cy = people
    assert len({p.peer_id for p in people}) == 3

    wait_for_full_mesh(people)
    for person in people:
        others = [p for p in people if p is not person]
        wait_for_kernel_peers(person, others)
        assert person.value("[w.status, w.peer_id]") == ["joined", person.peer_id]
        remote = {t["peerId"] for t in probes.tiles(person) if not t["local"]}
        assert remote == {o.peer_id for o in others}

    # Closing a context runs no beforeunload: the others learn it from cy's socket.
    closed_at = time.monotonic()
    cy.close()
    for person in (ada, bob):
        person.page.wait_for_function(GONE_JS, arg=cy.peer_id, polling=50, timeout=10_000)
    elapsed = time.monotonic() - closed_at
    assert elapsed <= 2.0, f"cy was still in the call {elapsed:.1f} s after closing the tab"
    for person, other in ((ada, bob), (bob, ada)):
        wait_for_kernel_peers(person, [other])
    wait_for_full_mesh([ada, bob])
