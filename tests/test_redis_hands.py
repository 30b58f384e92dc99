"""Toggling a hand costs a Redis room what toggling a camera does: the server of a
member on another server merges that member's waiting states too, so a burst of toggles
reaches it as a few frames, and one that stopped reading gets the last state."""

from __future__ import annotations

from typing import Any

import pytest

from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.redis_fixtures import open_client, two_servers
from support.redis_server import RedisServer
from support.toggles import TOGGLES, fill_until_refused, shown, states_of, toggle
from support.traffic import drain

# The victim reads nothing while its buffers fill: it must not be closed as stalled.
SETTINGS = {"send_timeout_seconds": 60.0}


@pytest.mark.parametrize("field", ["camera", "hand"])
async def test_toggles_across_servers_are_merged_for_readers_fast_and_stopped(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client], field: str
) -> None:
    one, two = await two_servers(redis_server, servers, **SETTINGS)
    ada = await open_client(one.url, clients)
    bob = await open_client(two.url, clients)
    victim = await open_client(two.url, clients)
    filler = await open_client(two.url, clients)
    for n, client in enumerate((ada, bob, victim, filler)):
        await client.join("lab", f"p{n}")
        for earlier in (ada, bob, victim, filler)[:n]:
            await earlier.expect("peer-joined")
    await fill_until_refused(filler, victim)

    await toggle(ada, field)
    # A chat message travels the room's channel behind the toggles: Bob reads up to it.
    await ada.send({"type": "chat", "text": "done"})
    own, got = states_of(await up_to_chat(ada), ada.id), states_of(await up_to_chat(bob), ada.id)
    assert len(got) <= TOGGLES // 10, f"{len(got)} frames for {TOGGLES} toggles"
    stopped = states_of(await drain(victim, quiet=1.0), ada.id)
    assert 1 <= len(stopped) <= 2, f"{len(stopped)} frames for {TOGGLES} toggles"
    assert shown(got[-1]["state"], field) and stopped[-1]["state"] == got[-1]["state"]
    # Ada's own client hears only its raised hand (its stamp), merged the same way.
    assert own[-1]["state"] == got[-1]["state"] if field == "hand" else own == []


async def up_to_chat(client: Client) -> list[dict[str, Any]]:
    """What ``client`` receives up to and including the next chat message."""
    frames = [await client.recv()]
    while frames[-1]["type"] != "chat":
        frames.append(await client.recv())
    return frames
