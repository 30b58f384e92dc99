"""Breakout rooms in real JupyterLab pages (issue 22): a breakout of five into two groups.

Two Lab pages (Ada, who hosts, and Bob) and three KernelPeers (in a subprocess, standing
in for three more people to spare the two cores) meet in one room. Ada's notebook splits
them with ``await w.breakout(...)``: each page moves by itself, keeps its camera and
microphone, decodes only its group's video and plays only its group's voices, and shows
"In g1 (breakout, 1:59 left)". Ada visits the other group from her banner, goes back
to the main room, sees Bob ask for help from his group (a hand raised there) in her
queue and visits him from it; ``await w.end_breakout()`` brings all five back together,
where each page decodes the four others again and nothing of the groups is left.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from support import probes
from support.kernel_peers import KernelPeers
from support.meeting import Meeting, wait_for_join, widget_cells
from support.pages import Participant
from support.polling import wait_until
from support.probes import CONFERENCE_JS
from support.timeouts import TIMEOUT

pytest.importorskip("aiortc")

# What a page shows of a breakout, and what its call holds: the banner, the links, the
# voices it plays, and its own microphone and camera tracks.
BREAKOUT_JS = f"""
() => {{
  const root = document.querySelector(".nbc-root");
  const banner = root.querySelector(".nbc-breakout");
  const conference = {CONFERENCE_JS};
  return {{
    banner: banner.hidden ? "" : banner.querySelector(".nbc-breakout-text").textContent,
    status: root.querySelector(".nbc-status").textContent,
    links: [...conference.peers.keys()].sort(),
    voices: [...conference.audio.sinks.keys()].sort(),
    tracks: conference.localStream.getTracks().map((t) => t.id + ":" + t.readyState).sort(),
  }};
}}
"""


def shown(person: Participant) -> dict[str, Any]:
    said: dict[str, Any] = person.js(BREAKOUT_JS)
    return said


def decodes_only(person: Participant, ids: set[str]) -> bool:
    """``person`` has media from exactly ``ids`` (besides itself), and decodes each's
    video."""
    media = probes.media(person)
    return set(media) == ids and all(m.decoding_video for m in media.values())


def test_a_breakout_of_five_into_two_groups_and_back(meeting: Meeting) -> None:
    room = meeting.room()
    # Ada joins first: the room's first verified identity, its host.
    (ada,) = meeting.open([("ada", widget_cells(room, "ada"))])
    wait_for_join(ada)
    (bob,) = meeting.open([("bob", widget_cells(room, "bob"))])
    wait_for_join(bob)
    kernels = KernelPeers(meeting.lab.signaling_url, meeting.lab.token, room)
    try:
        k1, k2, k3 = (kernels.join(name, fps=10) for name in ("k1", "k2", "k3"))
        everyone = {ada.peer_id, bob.peer_id, k1, k2, k3}
        for person in (ada, bob):
            wait_until(
                lambda p=person: decodes_only(p, everyone - {p.peer_id}),
                TIMEOUT * 2,
                f"{person.name} to decode the four others",
            )
        tracks = {person.name: shown(person)["tracks"] for person in (ada, bob)}
        assert all(t.endswith(":live") for ts in tracks.values() for t in ts), tracks

        # Ada's notebook splits the room over the kernel's own socket.
        groups = {"g1": [ada.peer_id, k1], "g2": [bob.peer_id, k2, k3]}
        ada.run(f"await w.breakout({groups!r}, minutes=2)")
        for person, group, mates in ((ada, "g1", {k1}), (bob, "g2", {k2, k3})):
            wait_until(
                lambda p=person, m=mates: decodes_only(p, m),
                TIMEOUT * 2,
                f"{person.name} to decode only group {group}",
            )
            said = shown(person)
            assert re.match(rf"In {group} \(breakout, [12]:\d\d left\)", said["banner"]), said
            assert "groups are not recorded" in said["banner"], said
            assert f"breakout group {group}" in said["status"], said
            # Only its group's links and voices; the same camera and microphone, live.
            assert said["links"] == sorted(mates), said
            assert set(said["voices"]) <= mates, said
            assert said["tracks"] == tracks[person.name], said
        wait_until(lambda: ada.value("w.breakouts") == groups, TIMEOUT, "Ada's w.breakouts")
        # The kernel peers know their groups only.
        wait_until(lambda: set(kernels.links("k1")) == {ada.peer_id}, TIMEOUT, "k1's group")
        wait_until(lambda: set(kernels.links("k3")) == {bob.peer_id, k2}, TIMEOUT, "k3's group")

        # Ada visits g2 from her banner: her page moves, and decodes g2 (Bob's page her).
        ada.page.locator('.nbc-breakout [data-action="visit-group"][data-group="g2"]').click()
        wait_until(lambda: decodes_only(ada, {bob.peer_id, k2, k3}), TIMEOUT * 2, "Ada to visit g2")
        wait_until(lambda: decodes_only(bob, {ada.peer_id, k2, k3}), TIMEOUT * 2, "Bob to see Ada")
        assert shown(ada)["banner"].startswith("In g2 (breakout, "), shown(ada)
        wait_until(lambda: set(kernels.links("k1")) == set(), TIMEOUT, "k1 alone in g1")

        # Back in the main room, Ada hears Bob ask for help from g2: his hand, raised
        # there, is in her queue, and she visits g2 from it.
        ada.page.locator('.nbc-breakout [data-action="visit-group"][data-group=""]').click()
        wait_until(lambda: shown(ada)["links"] == [], TIMEOUT, "Ada alone in the main room")
        bob.page.locator('.nbc-button[data-action="hand"]').click()
        asking = ada.page.locator(f'.nbc-hands-queue li[data-peer-id="{bob.peer_id}"]')
        asking.wait_for(timeout=TIMEOUT * 1000)
        assert "(in g2, asks for help)" in asking.inner_text()
        asking.locator('[data-action="visit-group"]').click()
        wait_until(lambda: decodes_only(ada, {bob.peer_id, k2, k3}), TIMEOUT * 2, "Ada back in g2")

        # Ada's notebook ends it: all five are back together.
        ada.run("await w.end_breakout()")
        for person in (ada, bob):
            wait_until(
                lambda p=person: decodes_only(p, everyone - {p.peer_id}),
                TIMEOUT * 2,
                f"{person.name} to decode the four others again",
            )
            said = shown(person)
            assert said["banner"] == "" and "breakout group" not in said["status"], said
            assert said["links"] == sorted(everyone - {person.peer_id}), said
            assert said["tracks"] == tracks[person.name], said
        # Bob's hand stayed in g2: down in the main room, and his page's next state (his
        # camera off) does not raise it again.
        assert bob.js(f"() => {CONFERENCE_JS}.snapshot().local.hand") == 0
        bob.page.locator('.nbc-button[data-action="camera"]').click()
        wait_until(
            lambda: (
                [p["camera"] for p in ada.value("w.peers") if p["id"] == bob.peer_id] == [False]
            ),
            TIMEOUT,
            "Ada's kernel to see Bob's camera off",
        )
        assert ada.page.locator(".nbc-hands-queue li").count() == 0
        wait_until(lambda: ada.value("w.breakouts") == {}, TIMEOUT, "Ada's w.breakouts empty")

        # From Ada's page: "Split into 2 groups", dealt by the server (Ada, the host,
        # stays), then "End breakout now".
        start = ada.page.locator(".nbc-breakout-start")
        assert bob.page.locator(".nbc-breakout-start").is_hidden()
        start.locator("summary").click()
        start.locator('[data-action="start-breakout"]').click()
        wait_until(lambda: shown(bob)["banner"].startswith("In group-"), TIMEOUT, "Bob in a group")
        assert start.is_hidden() and shown(ada)["banner"].startswith("2 breakout groups are")
        ada.page.locator('.nbc-breakout [data-action="end-breakout"]').click()
        wait_until(
            lambda: decodes_only(bob, everyone - {bob.peer_id}),
            TIMEOUT * 2,
            "Bob back with the four others",
        )
    finally:
        kernels.close()
