"""Rooms across two signaling servers that share one real redis-server."""

from __future__ import annotations

import asyncio

from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.polling import eventually
from support.redis_fixtures import open_client, two_servers
from support.redis_server import RedisServer


async def test_peers_on_two_servers_meet_signal_and_leave(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    one, two = await two_servers(redis_server, servers)
    ada = await open_client(one.url, clients)
    bob = await open_client(two.url, clients)
    await ada.join("lab", "Ada", state={"camera": True})
    welcome = await bob.join("lab", "Bob")
    assert welcome["peers"] == [
        {"id": ada.id, "name": "Ada", "state": {"camera": True}, "user": None, "color": None}
    ]
    joined = await ada.expect("peer-joined")
    assert joined["peer"] == {"id": bob.id, "name": "Bob", "state": {}, "user": None, "color": None}

    # 200 numbered signals each way, sent back to back: all arrive, in order, stamped.
    for n in range(200):
        await ada.signal(bob, {"candidate": {"n": n}})
        await bob.signal(ada, {"candidate": {"n": n}})
    for receiver, sender in ((bob, ada), (ada, bob)):
        for n in range(200):
            message = await receiver.expect("signal")
            assert message["from"] == sender.id
            assert message["data"] == {"candidate": {"n": n}}

    await bob.send({"type": "state", "state": {"microphone": True}})
    state = await ada.expect("peer-state", id=bob.id)
    assert state["state"] == {"microphone": True}

    # A newcomer on the first server sees Bob with his current state, from Redis.
    cyd = await open_client(one.url, clients)
    welcome = await cyd.join("lab", "Cyd")
    assert {p["id"]: p["state"] for p in welcome["peers"]} == {
        ada.id: {"camera": True},
        bob.id: {"microphone": True},
    }
    await ada.expect("peer-joined")
    await bob.expect("peer-joined")

    await bob.send({"type": "leave"})
    await ada.expect("peer-left", id=bob.id)
    await cyd.expect("peer-left", id=bob.id)
    await ada.signal(bob.id)
    await ada.expect_error("unknown-peer")
    await ada.silent(0.3)


async def test_simultaneous_joins_on_both_servers_agree(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    """Joins racing on two servers: every peer ends up knowing every other exactly once."""
    one, two = await two_servers(redis_server, servers)
    peers = [await open_client(server.url, clients) for server in (one, two) * 3]
    welcomes = await asyncio.gather(*(p.join("race", f"p{i}") for i, p in enumerate(peers)))
    ids = {p.id for p in peers}
    assert len(ids) == 6
    for peer, welcome in zip(peers, welcomes, strict=True):
        known = [p["id"] for p in welcome["peers"]]
        while len(known) < 5:
            known.append((await peer.expect("peer-joined"))["peer"]["id"])
        assert sorted(known) == sorted(ids - {peer.id}), "missing or duplicate peers"
        await peer.silent(0.2)


async def test_room_cap_holds_across_servers(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    one, two = await two_servers(redis_server, servers, max_peers_per_room=2)
    first = await open_client(one.url, clients)
    second = await open_client(two.url, clients)
    await first.join("small")
    await second.join("small")
    for server in (one, two):
        third = await open_client(server.url, clients)
        await third.send({"type": "join", "room": "small", "name": "third"})
        await third.expect_error("room-full")
    # Once someone leaves, a seat frees up on either server.
    await first.send({"type": "leave"})
    await second.expect("peer-left", id=first.id)
    again = await open_client(one.url, clients)
    welcome = await again.join("small")
    assert [p["id"] for p in welcome["peers"]] == [second.id]


async def test_last_peer_leaving_clears_the_room_in_redis(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    one, two = await two_servers(redis_server, servers)
    ada = await open_client(one.url, clients)
    bob = await open_client(two.url, clients)
    await ada.join("tidy")
    await bob.join("tidy")
    assert redis_server.cli("ZCARD", "nbconference:room:tidy:members") == "2"
    ada.close()
    await bob.expect("peer-left", id=ada.id)
    bob.close()
    await eventually(
        lambda: redis_server.cli("EXISTS", "nbconference:room:tidy:members") == "0",
        10,
        "the members key to go",
    )
    await eventually(
        lambda: redis_server.cli("EXISTS", "nbconference:room:tidy:peers") == "0",
        10,
        "the peers key to go",
    )


async def test_a_dropped_peer_resumes_without_the_other_server_noticing(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    one, two = await two_servers(redis_server, servers, reconnect_grace_seconds=1.5)
    ada = await open_client(one.url, clients)
    bob = await open_client(two.url, clients)
    await ada.join("lab", "Ada")
    await bob.join("lab", "Bob")
    await ada.expect("peer-joined")

    bob.drop()  # no close frame: Bob keeps his place for the grace window
    await asyncio.sleep(0.2)
    await ada.signal(bob, {"candidate": {"n": 1}})  # held for him on his server
    back = await open_client(two.url, clients)
    welcome = await back.join("lab", "Bob", resume=bob.resume)
    assert welcome["id"] == bob.id and welcome["resumed"] is True
    assert [p["id"] for p in welcome["peers"]] == [ada.id]
    message = await back.expect("signal", **{"from": ada.id})
    assert message["data"] == {"candidate": {"n": 1}}
    await ada.silent(1.6)  # past the grace window: no peer-left for a peer who came back

    back.drop()  # and this time he does not come back
    await ada.expect("peer-left", timeout=4, id=bob.id)


async def test_pairs_racing_into_fresh_rooms_always_meet(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    """The first local peer of a room must not miss a remote join that lands right after
    its own (the backend holds the event stream until the registry has admitted it)."""
    one, two = await two_servers(redis_server, servers)
    for round_ in range(30):
        ada = await open_client(one.url, clients)
        bob = await open_client(two.url, clients)
        room = f"race-{round_}"
        welcomes = await asyncio.gather(ada.join(room, "Ada"), bob.join(room, "Bob"))
        assert sorted(len(w["peers"]) for w in welcomes) == [0, 1]
        for me, other, welcome in ((ada, bob, welcomes[0]), (bob, ada, welcomes[1])):
            if welcome["peers"]:
                assert welcome["peers"][0]["id"] == other.id
            else:
                joined = await me.expect("peer-joined")
                assert joined["peer"]["id"] == other.id
        ada.close()
        bob.close()
