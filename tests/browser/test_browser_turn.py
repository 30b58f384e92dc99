"""Chromium pages through a real coturn, on a Jupyter server with
``ice_transport_policy = "relay"`` and TURN credentials that expire after a few seconds.

- The pages meet only through the relay: the selected candidate pair's local candidate is
  coturn's, coturn logs the allocations, and ``w.stats`` and the quality badge say so.
- After a page's first credentials have expired, it still gets new relays: an ICE restart
  of a live link, and a link to a newcomer, both allocate with the renewed ones.
- A KernelPeer in the same room meets the pages through the relay as well.
- With coturn stopped, the pages do not connect, and say that the TURN server is out of
  reach.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from support import probes
from support.coturn import Coturn, needs_coturn
from support.kernel_peers import KernelPeers
from support.lab import JupyterLab, running_lab
from support.meeting import Meeting
from support.mesh import wait_for_frames_to_advance, wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until
from support.probes import CONFERENCE_JS
from support.timeouts import TIMEOUT

pytestmark = needs_coturn

# Short, so that the first credentials of a page have expired before the later steps.
TTL = 6
# The widget explains a link still unconnected after 15 s (NO_PATH_MS in js/peer.js).
NO_PATH_TIMEOUT = 45.0

# The selected candidate pair of the page's link to a peer, as Chromium reports it, with
# the TURN username its connection is configured with and its ICE ufrag.
LINK_JS = f"""
async (id) => {{
  const pc = {CONFERENCE_JS}.peers.get(id)?.pc;
  if (!pc) return null;
  const report = await pc.getStats();
  const byId = new Map();
  report.forEach((s) => byId.set(s.id, s));
  const transport = [...byId.values()].find((s) => s.type === "transport");
  const pair = byId.get(transport?.selectedCandidatePairId ?? "");
  const local = byId.get(pair?.localCandidateId ?? "");
  const remote = byId.get(pair?.remoteCandidateId ?? "");
  const turn = pc.getConfiguration().iceServers.find((s) => s.username);
  const sdp = pc.localDescription?.sdp ?? "";
  return {{
    state: pc.connectionState,
    policy: pc.getConfiguration().iceTransportPolicy,
    local: local?.candidateType ?? null,
    remote: remote?.candidateType ?? null,
    relayProtocol: local?.relayProtocol ?? null,
    username: turn?.username ?? null,
    ufrag: (sdp.match(/a=ice-ufrag:(\\S+)/) ?? [])[1] ?? null,
  }};
}}
"""


@pytest.fixture(scope="module")
def jupyter_lab(coturn: Coturn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """A Lab of this module's own, whose signaling hands out coturn credentials."""
    args = [
        f"--NBConference.turn_urls={coturn.url}",
        f"--NBConference.turn_secret={coturn.secret}",
        f"--NBConference.turn_ttl_seconds={TTL}",
        "--NBConference.ice_transport_policy=relay",
    ]
    with running_lab(tmp_path_factory.mktemp("lab"), args) as lab:
        yield lab


def link(person: Participant, peer_id: str) -> dict[str, Any]:
    result: dict[str, Any] | None = person.js(LINK_JS, peer_id)
    assert result is not None, f"{person.name} has no link to {peer_id}"
    return result


def expiry(username: str) -> int:
    return int(username.split(":")[0])


def relayed_records(person: Participant, others: list[Participant]) -> dict[str, Any] | None:
    """``w.stats`` once it has a route for each of ``others``."""
    stats: dict[str, Any] = person.value("w.stats")
    if all((stats.get(o.peer_id) or {}).get("route") for o in others):
        return stats
    return None


def test_pages_meet_only_through_coturn_and_renew_their_credentials(
    meeting: Meeting, coturn: Coturn
) -> None:
    before = coturn.allocations()
    room = meeting.room()
    ada, bob = meeting.join(room, ["ada", "bob"])
    joined = time.monotonic()
    wait_for_full_mesh([ada, bob])
    print(f"relayed pages: media both ways {time.monotonic() - joined:.2f} s after both joined")

    # Only through the relay, as Chromium itself reports the selected pair.
    for person, other in ((ada, bob), (bob, ada)):
        seen = link(person, other.peer_id)
        assert seen["state"] == "connected" and seen["policy"] == "relay", seen
        assert seen["local"] == "relay" and seen["relayProtocol"] == "udp", seen
    assert coturn.allocations() >= before + 2

    # The kernel and the tile say so too.
    stats = wait_until(lambda: relayed_records(ada, [bob]), TIMEOUT, "ada's w.stats route")
    record = stats[bob.peer_id]
    assert record["route"] == record["route_local"] == "relay", record
    assert record["route_protocol"] == "udp" and record["relay_protocol"] == "udp", record
    badge = ada.page.locator(f'.nbc-tile[data-peer-id="{bob.peer_id}"] .nbc-quality')
    badge.wait_for(timeout=TIMEOUT * 1000)
    assert "relayed through the TURN server" in (badge.get_attribute("title") or "")

    # Past the expiry of ada's first credentials, her link holds renewed ones...
    first = link(ada, bob.peer_id)
    wait_until(
        lambda: time.time() > expiry(first["username"]) + 1,
        2 * TTL,
        "the first credentials to expire",
    )
    wait_until(
        lambda: link(ada, bob.peer_id)["username"] != first["username"],
        TTL,
        "renewed credentials on ada's link",
    )
    # ...with which an ICE restart gets a new relay.
    allocated = coturn.allocations()
    ada.js(f"(id) => {CONFERENCE_JS}.peers.get(id).pc.restartIce()", bob.peer_id)
    wait_until(
        lambda: link(ada, bob.peer_id)["ufrag"] != first["ufrag"], TIMEOUT, "a new ICE ufrag"
    )
    wait_until(lambda: coturn.allocations() > allocated, TIMEOUT, "a relay for the restart")
    wait_for_frames_to_advance(bob, ada.peer_id)
    wait_for_frames_to_advance(ada, bob.peer_id)
    assert link(ada, bob.peer_id)["local"] == "relay"

    # A newcomer: ada's new link to him allocates with what she holds now.
    (cy,) = meeting.join(room, ["cy"])
    assert time.time() > expiry(first["username"])
    wait_for_full_mesh([ada, bob, cy])
    assert link(ada, cy.peer_id)["local"] == link(cy, ada.peer_id)["local"] == "relay"

    # A KernelPeer (aiortc) in the same room meets the pages through the relay too.
    allocated = coturn.allocations()
    kernels = KernelPeers(meeting.lab.signaling_url, meeting.lab.token, room)
    try:
        kai = kernels.join("kai")
        kernels.read("kai", ada.peer_id)
        kernels.wait_for(
            lambda r: r.get("frame") == "kai" and r.get("from") == ada.peer_id,
            "the KernelPeer to decode ada's camera",
        )
        wait_until(
            lambda: kai in (got := probes.media(ada)) and got[kai].decoding_video,
            TIMEOUT,
            "ada to decode the KernelPeer's video",
        )
        assert link(ada, kai)["local"] == "relay", link(ada, kai)
        assert coturn.allocations() > allocated
    finally:
        kernels.close()


def test_without_the_relay_pages_do_not_connect_and_say_why(
    meeting: Meeting, coturn: Coturn
) -> None:
    coturn.stop()
    room = meeting.room()
    ada, bob = meeting.join(room, ["ada", "bob"])

    def problem(viewer: Participant) -> str:
        peers = viewer.value("w.peers")
        return str(peers[0]["problem"]) if len(peers) == 1 else ""

    for viewer, other in ((ada, bob), (bob, ada)):
        name = other.identity()["display_name"]
        text = wait_until(
            lambda viewer=viewer: problem(viewer),
            NO_PATH_TIMEOUT,
            f"{viewer.name} to explain why {name} is out of reach",
        )
        assert f"Cannot connect to {name}, even through the TURN server" in text, text
        assert link(viewer, other.peer_id)["state"] != "connected"
    badge = ada.page.locator(f'.nbc-tile[data-peer-id="{bob.peer_id}"] .nbc-connection')
    assert badge.inner_text() == "no network path"
