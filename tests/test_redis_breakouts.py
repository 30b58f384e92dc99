"""Breakouts across two ``nbconference serve`` replicas sharing one real Redis: a host on
replica one puts peers of both replicas in groups, each replica moves its own, the
group rooms refuse strangers on both, and everyone comes back when the host ends it;
``end-call`` closes the groups on both; the time up brings everyone back on both; anyone
but a host is refused and nothing moves; nobody hosts a group by arriving first.

The replicas run in this process (``start_server``, what ``nbconference serve`` runs).
"""

from __future__ import annotations

import asyncio
from typing import Any

from nbconference.protocol import CLOSE_ENDED, breakout_room
from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.frames import FrameSocket, join_as
from support.redis_fixtures import HOST_TOKEN, open_client, two_servers
from support.redis_server import RedisServer
from test_redis_hosts import answers, hosted_room, joined

G1, G2 = breakout_room("lab", "g1"), breakout_room("lab", "g2")


async def moved(client: Client, room: str, group: str) -> dict[str, Any]:
    """``client`` is moved to ``room``: its ``moved``, then its welcome there."""
    frame = await client.next_of("moved", room=room)
    assert frame == {"type": "moved", "room": room, "group": group, "main": "lab"}
    return await client.next_of("welcome", room=room)


async def test_a_breakout_moves_the_peers_of_every_replica_and_back(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, bob, carol = await hosted_room(redis_server, servers, clients)
    groups = {"g1": [bob.id, carol.id]}
    await host.send({"type": "breakout", "groups": groups, "minutes": 5, "request": "b1"})
    _, shown = await answers(host, ("done", {"request": "b1"}), ("breakouts", {}))
    assert shown["groups"] == groups
    await moved(carol, G1, "g1")  # replica one's
    await moved(bob, G1, "g1")  # replica two's
    # One group room across both replicas: Bob and Carol reach each other.
    await bob.signal(carol)
    assert (await carol.next_of("signal"))["from"] == bob.id
    frame = await bob.next_of("breakouts")
    assert frame["groups"] == groups and frame["seconds_left"] > 290
    # A stranger is refused the group room on either replica.
    for replica in servers:
        stranger = await open_client(replica.url, clients)
        await stranger.send({"type": "join", "room": G1, "name": "X"})
        await stranger.expect_error("not-allowed")

    await host.send({"type": "end-breakout", "request": "b2"})
    for client in (bob, carol):
        await moved(client, "lab", "")
    await host.next_of("done", request="b2")


async def test_ending_the_call_closes_the_groups_of_every_replica(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, bob, carol = await hosted_room(redis_server, servers, clients)
    await host.send({"type": "breakout", "groups": {"g1": [bob.id], "g2": [carol.id]}})
    await moved(bob, G1, "g1")
    await moved(carol, G2, "g2")
    await host.send({"type": "end-call", "request": "e1"})
    for client in (bob, carol):
        assert (await client.closed())[0] == CLOSE_ENDED


async def test_anyone_but_a_host_is_refused_and_nobody_moves(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, bob, carol = await hosted_room(redis_server, servers, clients)
    await bob.send({"type": "breakout", "groups": {"g1": [carol.id]}, "request": "x1"})
    await bob.expect("error", code="not-host", request="x1")
    await carol.silent(0.5)
    await host.silent(0.1)


async def test_the_time_up_brings_back_the_peers_of_every_replica(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, bob, carol = await hosted_room(redis_server, servers, clients)
    # Dealt over both replicas, the host aside: group-1 Bob, group-2 Carol.
    await host.send({"type": "breakout", "n_groups": 2, "minutes": 0.03, "request": "t1"})
    _, shown = await answers(host, ("done", {"request": "t1"}), ("breakouts", {}))
    assert shown["groups"] == {"group-1": [bob.id], "group-2": [carol.id]}
    await moved(bob, breakout_room("lab", "group-1"), "group-1")
    await moved(carol, breakout_room("lab", "group-2"), "group-2")
    for client in (bob, carol):
        await moved(client, "lab", "")


async def test_nobody_becomes_host_of_a_group_by_arriving_first(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    one, two = await two_servers(redis_server, servers)
    host = await open_client(one.url, clients, token=HOST_TOKEN)
    await host.join("lab", "Host")
    alan = await join_as(two.registry, "lab", "alan")  # verified, and no host
    await joined(host, alan.id)
    await host.send({"type": "breakout", "groups": {"g1": [alan.id]}, "request": "b1"})
    await alan.next_of("welcome", room=G1)
    await asyncio.sleep(0.5)
    hosts = [f for f in drained(alan) if f["type"] == "hosts"]
    assert hosts == [], hosts


def drained(socket: FrameSocket) -> list[dict[str, Any]]:
    """The frames ``socket`` got and nobody read yet."""
    frames = []
    while not socket.frames.empty():
        frames.append(socket.frames.get_nowait())
    return frames
