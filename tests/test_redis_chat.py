"""Chat and raised hands in a room that spans two signaling servers sharing one real
redis-server: relay, history for late joiners on either server, the history gone with
the room, and hands lowered across servers."""

from __future__ import annotations

import json
from typing import Any

import redis

from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.polling import eventually
from support.redis_fixtures import HOST_TOKEN, open_client, start_redis_standalone, two_servers
from support.redis_server import RedisServer

CHAT_SETTINGS: dict[str, Any] = {"chat_history_messages": 3, "chat_burst": 20}


async def test_chat_crosses_servers_and_late_joiners_get_the_history(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    one, two = await two_servers(redis_server, servers, **CHAT_SETTINGS)
    ada = await open_client(one.url, clients)
    bob = await open_client(two.url, clients)
    await ada.join("lab", "Ada")
    await bob.join("lab", "Bob")
    await ada.expect("peer-joined")

    sent = []
    for n in range(5):
        sender = ada if n % 2 == 0 else bob
        await sender.send({"type": "chat", "text": f"m{n}"})
        frames = [await ada.expect("chat"), await bob.expect("chat")]
        assert frames[0] == frames[1], "one id and stamp on both servers"
        assert frames[0]["from"] == sender.id and frames[0]["text"] == f"m{n}"
        sent.append(frames[0])
    await ada.silent(0.2)
    await bob.silent(0.0)

    # Late joiners on either server get the last three, oldest first, and nothing twice.
    for server in (one, two):
        late = await open_client(server.url, clients)
        await late.join("lab", "Late")
        history = [await late.expect("chat") for _ in range(3)]
        assert history == sent[-3:]
        await late.silent(0.3)
        await late.send({"type": "leave"})

    # The room empties: its history is gone, from Redis too.
    await ada.send({"type": "leave"})
    await bob.send({"type": "leave"})
    store = redis.Redis.from_url(redis_server.url)
    try:
        await eventually(
            lambda: store.exists("nbconference:room:lab:chat") == 0, 5.0, "history deleted"
        )
    finally:
        store.close()
    fresh = await open_client(two.url, clients)
    await fresh.join("lab", "Fresh")
    await fresh.silent(0.3)


async def test_hands_are_ordered_and_lowered_across_servers(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    one, two = await two_servers(redis_server, servers, **CHAT_SETTINGS)
    ada = await open_client(one.url, clients, token=HOST_TOKEN)  # a host
    bob = await open_client(two.url, clients)
    cyd = await open_client(one.url, clients)
    await ada.join("class", "Ada")
    await bob.join("class", "Bob")
    await ada.expect("peer-joined")
    await cyd.join("class", "Cyd")
    await ada.expect("peer-joined")
    await bob.expect("peer-joined")

    await bob.send({"type": "state", "state": {"hand": True}})
    bob_up = (await ada.expect("peer-state", id=bob.id))["state"]["hand"]
    await cyd.expect("peer-state", id=bob.id)
    await bob.expect("peer-state", id=bob.id)
    await cyd.send({"type": "state", "state": {"hand": True}})
    cyd_up = (await bob.expect("peer-state", id=cyd.id))["state"]["hand"]
    await ada.expect("peer-state", id=cyd.id)
    await cyd.expect("peer-state", id=cyd.id)
    assert 0 < bob_up < cyd_up

    # Ada (server one) lowers Bob's hand (server two): his server does it, and the whole
    # room, Bob included, hears that Ada did.
    await ada.send({"type": "lower-hand", "peer": bob.id})
    for client in (bob, ada, cyd):
        frame = await client.expect("peer-state", id=bob.id, by=ada.id)
        assert frame["state"]["hand"] is False
    # A newcomer on server two sees the queue as it stands: Cyd alone.
    dee = await open_client(two.url, clients)
    welcome = await dee.join("class", "Dee")
    raised = {p["name"]: p["state"].get("hand") for p in welcome["peers"]}
    assert raised == {"Ada": None, "Bob": False, "Cyd": cyd_up}
    # Leaving lowers a hand: the room hears that Cyd left.
    cyd.close()
    for client in (ada, bob, dee):
        while (await client.recv())["type"] != "peer-left":
            pass


async def test_the_history_is_bounded_in_bytes_in_redis(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    servers.append(
        await start_redis_standalone(
            redis_server.url, chat_history_messages=50, chat_history_bytes=1000
        )
    )
    ada = await open_client(servers[0].url, clients)
    await ada.join("bytes", "Ada")
    sent = []
    for n in range(5):
        await ada.send({"type": "chat", "text": f"{n}" * 190})
        sent.append(await ada.expect("chat"))
    sizes = [len(json.dumps(f, separators=(",", ":")).encode()) for f in sent]
    keep = 0
    while keep < len(sizes) and sum(sizes[len(sizes) - keep - 1 :]) <= 1000:
        keep += 1
    assert 1 <= keep < 5
    late = await open_client(servers[0].url, clients)
    await late.join("bytes", "Late")
    assert [await late.expect("chat") for _ in range(keep)] == sent[-keep:]
    await late.silent(0.3)
