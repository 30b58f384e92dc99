"""The lobby across two ``nbconference serve`` replicas sharing one real Redis: a room a
host locked on replica one is locked on replica two; a newcomer there waits, the host
sees it and lets it in or turns it away; ``unlock`` lets everyone in; anyone but a host
is refused and nothing changes; a dead Redis gives an error, not a hang.

The replicas run in this process (``start_server``, what ``nbconference serve`` runs).
"""

from __future__ import annotations

import time

from nbconference.protocol import CLOSE_DENIED
from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.redis_fixtures import HOST_TOKEN, open_client, two_servers
from support.redis_server import RedisServer
from test_redis_hosts import answers, joined


async def locked_room(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> tuple[Client, Client, Client]:
    """A host on replica one locked the room; Bob (no host) joined it before, on replica
    two; Newt knocks on replica two, where nobody of the room was before him."""
    one, two = await two_servers(redis_server, servers)
    host = await open_client(one.url, clients, token=HOST_TOKEN)
    bob = await open_client(two.url, clients)
    await host.join("lab", "Ada")
    await bob.join("lab", "Bob")
    await joined(host, bob.id)
    await host.send({"type": "lock", "request": "l1"})
    await answers(host, ("done", {"request": "l1"}), ("lobby", {"locked": True, "waiting": []}))

    newt = await open_client(two.url, clients)
    await newt.send({"type": "join", "room": "lab", "name": "Newt"})
    waiting = await newt.expect("waiting")
    newt.id = waiting["id"]
    return host, bob, newt


async def test_a_newcomer_on_the_other_replica_waits_and_the_host_lets_it_in(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, bob, newt = await locked_room(redis_server, servers, clients)
    lobby = await host.next_of("lobby", locked=True)
    while not lobby["waiting"]:
        lobby = await host.next_of("lobby", locked=True)
    assert [(w["id"], w["name"]) for w in lobby["waiting"]] == [(newt.id, "Newt")]
    await bob.silent(0.3)  # nobody else learns of the lobby

    await host.send({"type": "admit", "peer": newt.id, "request": "a1"})
    welcome = await newt.expect("welcome")
    assert welcome["id"] == newt.id
    assert sorted(p["id"] for p in welcome["peers"]) == sorted([host.id, bob.id])
    emptied = ("lobby", {"locked": True, "waiting": []})
    await answers(host, ("done", {"request": "a1"}), ("peer-joined", {}), emptied)
    await joined(bob, newt.id)


async def test_the_host_turns_away_a_newcomer_of_the_other_replica(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, _, newt = await locked_room(redis_server, servers, clients)
    await host.send({"type": "deny", "peer": newt.id, "request": "d1"})
    code, reason = await newt.closed()
    assert code == CLOSE_DENIED and reason and "Ada" in reason
    await host.next_of("done", request="d1")


async def test_unlock_lets_in_the_newcomers_of_every_replica(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, bob, newt = await locked_room(redis_server, servers, clients)
    await host.send({"type": "unlock", "request": "u1"})
    assert (await newt.expect("welcome"))["id"] == newt.id
    await host.next_of("done", request="u1")
    await joined(bob, newt.id)
    # The next newcomer, on either replica, comes straight in.
    late = await open_client(servers[1].url, clients)
    await late.join("lab", "Late")


async def test_anyone_but_a_host_is_refused_and_the_newcomer_waits_on(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, bob, newt = await locked_room(redis_server, servers, clients)
    carol = await open_client(servers[0].url, clients)
    await carol.send({"type": "join", "room": "lab", "name": "Carol"})
    await carol.expect("waiting")  # locked for her too, on replica one
    for n, ask in enumerate(["admit", "deny", "unlock", "lock"]):
        await bob.send({"type": ask, "peer": newt.id, "request": f"b{n}"})
        await bob.expect("error", code="not-host", request=f"b{n}")
    await newt.silent(0.5)
    # The host still sees both waiting, and lets Newt in.
    await host.send({"type": "admit", "peer": newt.id, "request": "a1"})
    assert (await newt.expect("welcome"))["id"] == newt.id


async def test_a_dead_redis_gives_the_host_an_error_not_a_hang(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, _, newt = await locked_room(redis_server, servers, clients)
    redis_server.kill()
    started = time.monotonic()
    await host.send({"type": "admit", "peer": newt.id, "request": "k1"})
    error = await host.next_of("error", request="k1", timeout=15)
    assert error["code"] == "backend-unavailable", error
    assert time.monotonic() - started < 10
