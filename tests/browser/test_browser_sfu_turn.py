"""A room on the SFU whose pages may use only a real coturn (``ice_transport_policy =
"relay"``): each page's connection to Janus is made with the relay-only policy and the
credentials the signaling made for that page, and coturn grants it a relay with them.
Janus itself is given no TURN settings.

That media then flows through the relay is out of reach on this machine: the tests'
coturn relays from 127.0.0.1 only, and Janus does not gather candidates on the loopback
interface (it offered only this machine's other addresses, whatever
``janus_ice_enforce_list`` said), so Chromium pairs no candidate of Janus with its
127.0.0.1 relay. A deployment's coturn relays from an address Janus can reach."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from support import probes
from support.coturn import Coturn, needs_coturn
from support.janus import loopback_config, needs_janus
from support.lab import JupyterLab, running_lab
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import MEDIA_TIMEOUT
from support.pages import Participant
from support.polling import wait_until

pytestmark = [needs_janus, needs_coturn]

# Each of the page's connections to the SFU: the selected pair's local candidate type,
# the relay's protocol, the policy and the TURN username it was configured with.
ROUTES_JS = f"""
async () => {{
  const sfu = {probes.CONFERENCE_JS}.sfu;
  const routes = {{}};
  const connections = [["publisher", sfu.publisher?.pc], ["subscriber", sfu.subscriber?.pc]];
  for (const [name, pc] of connections) {{
    if (!pc) continue;
    const report = await pc.getStats();
    const byId = new Map();
    report.forEach((s) => byId.set(s.id, s));
    const transport = [...byId.values()].find((s) => s.type === "transport");
    const pair = byId.get(transport?.selectedCandidatePairId ?? "");
    const local = byId.get(pair?.localCandidateId ?? "");
    routes[name] = {{
      state: pc.connectionState,
      policy: pc.getConfiguration().iceTransportPolicy,
      local: local?.candidateType ?? null,
      relayProtocol: local?.relayProtocol ?? null,
      username: pc.getConfiguration().iceServers.find((s) => s.username)?.username ?? null,
    }};
  }}
  return routes;
}}
"""


@pytest.fixture(scope="module")
def jupyter_lab(coturn: Coturn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """A Lab whose rooms are on the SFU from their first participant, relay only."""
    args = [
        "--NBConference.sfu=janus",
        "--NBConference.mesh_max_peers=0",
        f"--NBConference.janus_rtp_port_range={loopback_config().rtp_port_range}",
        f"--NBConference.turn_urls={coturn.url}",
        f"--NBConference.turn_secret={coturn.secret}",
        "--NBConference.ice_transport_policy=relay",
    ]
    with running_lab(tmp_path_factory.mktemp("lab"), args) as lab:
        yield lab


def routes(person: Participant) -> dict[str, Any]:
    found: dict[str, Any] = person.js(ROUTES_JS)
    return found


def test_the_sfu_connections_take_the_pages_turn_credentials(
    meeting: Meeting, coturn: Coturn
) -> None:
    before = coturn.allocations()
    room = meeting.room()
    (ada,) = meeting.open([("ada", widget_cells(room, "ada"))])
    wait_for_join(ada)
    assert probes.plane(ada) == "sfu"

    def relayed() -> dict[str, Any] | None:
        publisher = routes(ada).get("publisher") or {}
        return (
            publisher
            if publisher.get("local") == "relay" or coturn.allocations() > before
            else None
        )

    wait_until(relayed, MEDIA_TIMEOUT, "a relay for ada's SFU publisher connection")
    publisher = routes(ada)["publisher"]
    assert publisher["policy"] == "relay", publisher
    # The page's own credentials: <expiry>:<its peer id>; coturn accepted them.
    assert publisher["username"].endswith(f":{ada.peer_id}"), publisher
    assert coturn.allocations() > before
