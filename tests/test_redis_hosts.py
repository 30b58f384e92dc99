"""Hosts across two ``nbconference serve`` replicas sharing one real Redis: a host on one
replica mutes, removes, makes host and ends the call for peers of the other; anyone else
gets ``not-host`` and nothing changes; bans hold on every replica; the hosts are one set
for the room (the first verified joiner hosts it, and the member present longest
becomes host when the last one leaves, whichever replica they are on); a dead Redis
gives an error, not a hang.

The replicas run in this process (``start_server``, what ``nbconference serve`` runs),
with the host token. ``nbconference serve`` knows identities only as a JupyterHub
service, so the verified people of the last tests join through the registry itself
(:class:`support.frames.FrameSocket`), with the identity stamp a Hub would give.
"""

from __future__ import annotations

import time
from typing import Any

from nbconference.protocol import CLOSE_ENDED, CLOSE_REMOVED
from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.frames import FrameSocket, join_as
from support.redis_fixtures import HOST_TOKEN, open_client, two_servers
from support.redis_server import RedisServer


async def joined(client: Client | FrameSocket, peer_id: str) -> None:
    """``client`` hears that ``peer_id`` joined."""
    assert (await client.next_of("peer-joined"))["peer"]["id"] == peer_id


async def answers(client: Client, *wanted: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Frames of ``client`` until one of each ``(kind, fields)`` in ``wanted`` came, in
    any order (a ``done`` and the room event it caused may cross): those frames."""
    found: list[dict[str, Any] | None] = [None] * len(wanted)
    while None in found:
        frame = await client.recv()
        assert frame["type"] != "error", frame
        for n, (kind, fields) in enumerate(wanted):
            matches = all(frame.get(k) == v for k, v in fields.items())
            if found[n] is None and frame["type"] == kind and matches:
                found[n] = frame
                break
    return [frame for frame in found if frame is not None]


async def hosted_room(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> tuple[Client, Client, Client]:
    """A host on replica one, Bob on replica two, Carol (no host) on replica one."""
    one, two = await two_servers(redis_server, servers)
    host = await open_client(one.url, clients, token=HOST_TOKEN)
    bob = await open_client(two.url, clients)
    carol = await open_client(one.url, clients)
    await host.join("lab", "Ada")
    welcome = await bob.join("lab", "Bob")
    assert [p.get("host") for p in welcome["peers"]] == [True]
    await joined(host, bob.id)
    await carol.join("lab", "Carol")
    await joined(host, carol.id)
    await joined(bob, carol.id)
    return host, bob, carol


async def test_a_host_mutes_and_removes_a_peer_of_the_other_replica(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, bob, carol = await hosted_room(redis_server, servers, clients)

    await host.send({"type": "mute", "peer": bob.id, "microphone": True, "request": "m1"})
    muted = await bob.next_of("muted")
    assert (muted["id"], muted["by"], muted["name"]) == (bob.id, host.id, "Ada")
    assert muted["microphone"] is True and muted["camera"] is False
    await answers(host, ("done", {"request": "m1"}), ("muted", {"id": bob.id}))
    # Everyone hears it, on either replica.
    assert (await carol.next_of("muted"))["id"] == bob.id

    # A host lowers a hand of the other replica; Carol may not.
    await bob.send({"type": "state", "state": {"hand": True}})
    await host.next_of("peer-state", id=bob.id)
    await carol.send({"type": "lower-hand", "peer": bob.id})
    await carol.next_of("error", code="not-host")
    await host.send({"type": "lower-hand", "peer": bob.id})
    lowered = await bob.next_of("peer-state", id=bob.id, by=host.id)
    assert lowered["state"]["hand"] is False

    await host.send({"type": "remove", "peer": bob.id, "request": "r1"})
    code, reason = await bob.closed()
    assert code == CLOSE_REMOVED and reason and "Ada" in reason
    await answers(host, ("done", {"request": "r1"}), ("peer-left", {"id": bob.id}))
    await carol.next_of("peer-left", id=bob.id)


async def test_anyone_but_a_host_is_refused_and_nothing_changes(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, bob, carol = await hosted_room(redis_server, servers, clients)
    asks = [
        {"type": "mute", "peer": bob.id, "microphone": True},
        {"type": "remove", "peer": bob.id},
        {"type": "make-host", "peer": bob.id},
        {"type": "end-call"},
    ]
    for n, ask in enumerate(asks):
        await carol.send({**ask, "request": f"c{n}"})
        refused = await carol.expect("error", code="not-host", request=f"c{n}")
        assert refused["message"]
    await bob.silent(0.5)
    await host.silent(0.1)
    # Bob is still there, unmuted, and the host alone hosts.
    await host.send({"type": "chat", "text": "still here?"})
    assert (await bob.next_of("chat"))["text"] == "still here?"


async def test_a_new_host_on_the_other_replica_is_marked_everywhere_and_acts_across(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, bob, carol = await hosted_room(redis_server, servers, clients)

    await host.send({"type": "make-host", "peer": bob.id, "request": "h1"})
    both = sorted([host.id, bob.id])
    _, hosts = await answers(host, ("done", {"request": "h1"}), ("hosts", {}))
    assert sorted(hosts["hosts"]) == both
    for client in (bob, carol):
        assert sorted((await client.next_of("hosts"))["hosts"]) == both
    # Bob, on replica two, now mutes Carol, on replica one.
    await bob.send({"type": "mute", "peer": carol.id, "camera": True, "request": "b1"})
    muted = await carol.next_of("muted")
    assert (muted["by"], muted["camera"]) == (bob.id, True)
    await answers(bob, ("done", {"request": "b1"}), ("muted", {"id": carol.id}))
    # A newcomer on replica two sees both hosts in its welcome.
    dan = await open_client(servers[1].url, clients)
    welcome = await dan.join("lab", "Dan")
    marked = sorted(p["id"] for p in welcome["peers"] if p.get("host") is True)
    assert marked == sorted([host.id, bob.id])


async def test_a_host_ends_the_call_on_every_replica(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, bob, carol = await hosted_room(redis_server, servers, clients)
    await host.send({"type": "end-call", "request": "e1"})
    await host.next_of("done", request="e1")
    for client in (host, bob, carol):
        code, _ = await client.closed()
        assert code == CLOSE_ENDED


async def test_a_removed_identity_is_banned_on_every_replica(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    one, two = await two_servers(redis_server, servers)
    host = await open_client(one.url, clients, token=HOST_TOKEN)
    await host.join("lab", "Host")
    grace = await join_as(two.registry, "lab", "grace")
    await joined(host, grace.id)

    await host.send({"type": "remove", "peer": grace.id, "ban_minutes": 5, "request": "r1"})
    await host.next_of("done", request="r1")
    assert grace.closed is not None and grace.closed[0] == CLOSE_REMOVED
    assert "5 minutes" in grace.closed[1]
    for replica in (one, two):
        refused = await join_as(replica.registry, "lab", "grace", expect="banned")
        assert "5 minutes" in refused.message
    # Another identity, and another room, stay open to her.
    await join_as(one.registry, "lab", "alan")
    await join_as(one.registry, "other", "grace")


async def test_the_hosts_are_one_set_for_the_room_across_replicas(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    one, two = await two_servers(redis_server, servers)
    grace = await join_as(two.registry, "lab", "grace")
    await grace.next_of("hosts", hosts=[grace.id])  # the first verified joiner hosts
    alan = await join_as(one.registry, "lab", "alan")
    guest = await open_client(one.url, clients)
    welcome = await guest.join("lab", "Guest")
    assert [p["id"] for p in welcome["peers"] if p.get("host")] == [grace.id]
    assert alan.welcome is not None
    assert [p["id"] for p in alan.welcome["peers"] if p.get("host")] == [grace.id]
    ada = await join_as(two.registry, "lab", "ada")

    await two.registry.leave(grace.peer)
    # Alan, present longest of the verified members left, hosts now, on both replicas.
    await alan.next_of("hosts", hosts=[alan.id])
    await ada.next_of("hosts", hosts=[alan.id])
    assert (await guest.next_of("hosts"))["hosts"] == [alan.id]
    await guest.send({"type": "mute", "peer": ada.id, "microphone": True, "request": "g1"})
    await guest.expect("error", code="not-host", request="g1")


async def test_a_dead_redis_gives_the_host_an_error_not_a_hang(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    host, bob, _ = await hosted_room(redis_server, servers, clients)
    redis_server.kill()
    started = time.monotonic()
    await host.send({"type": "mute", "peer": bob.id, "microphone": True, "request": "d1"})
    error = await host.next_of("error", request="d1", timeout=15)
    assert error["code"] == "backend-unavailable", error
    assert time.monotonic() - started < 10


async def test_a_server_that_does_not_trust_the_others_keeps_host_state_to_itself(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    """Replica two stands for a Jupyter server sharing Redis with users' servers: it
    ignores host events from the others, and its hosts reach only its own peers."""
    host, bob, carol = await hosted_room(redis_server, servers, clients)
    servers[1].registry.trusts_other_servers = False
    other_host = await open_client(servers[1].url, clients, token=HOST_TOKEN)
    await other_host.join("lab", "Other host")
    await joined(host, other_host.id)

    await other_host.send({"type": "mute", "peer": carol.id, "microphone": True, "request": "o1"})
    refused = await other_host.expect("error", code="peer-unavailable", request="o1")
    assert "another server" in refused["message"]
    await host.send({"type": "end-call", "request": "e1"})
    await host.next_of("done", request="e1")
    assert (await host.closed())[0] == CLOSE_ENDED
    # Bob, on the untrusting server, hears that the host left, and stays.
    await bob.next_of("peer-left", id=host.id)
    await other_host.send({"type": "chat", "text": "still open"})
    assert (await bob.next_of("chat"))["text"] == "still open"
