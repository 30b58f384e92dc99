"""Servers sharing Redis agree on the settings that decide a room's media: the first
records them, one that differs is refused with a message naming each difference, and the
record expires once no server is left to renew it (backends/redis_settings.py)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from nbconference.server.backends.redis_settings import ReplicasDisagree
from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.delay_proxy import DelayProxy
from support.redis_fixtures import open_client, start_redis_standalone, two_servers
from support.redis_server import RedisServer

pytest.importorskip("redis")

KEY = "nbconference:settings"
GRACE = 1.0  # the presence TTL, and so the record's


async def test_agreeing_servers_start_and_a_differing_one_is_refused_naming_each_setting(
    redis_server: RedisServer, servers: list[StandaloneServer]
) -> None:
    await two_servers(redis_server, servers, mesh_max_peers=3)
    recorded = json.loads(redis_server.cli("GET", KEY))
    assert recorded["mesh_max_peers"] == 3
    assert recorded["max_peers_per_room"] == 8
    assert recorded["sfu"] == "" and recorded["janus_urls"] == []
    assert 0 < int(redis_server.cli("PTTL", KEY)) <= 15_000

    with pytest.raises(ReplicasDisagree) as refused:
        servers.append(
            await start_redis_standalone(redis_server.url, mesh_max_peers=2, max_peers_per_room=6)
        )
    message = str(refused.value)
    assert "mesh_max_peers is 2 here, 3 recorded" in message
    assert "max_peers_per_room is 6 here, 8 recorded" in message
    assert f"127.0.0.1:{redis_server.port}" in message
    assert message.count(" here, ") == 2  # only what differs
    # The record is the first servers' still, and they carry on.
    assert json.loads(redis_server.cli("GET", KEY))["mesh_max_peers"] == 3
    assert len(servers) == 2


async def test_the_record_lives_while_a_server_renews_it_and_expires_after_the_last(
    redis_server: RedisServer, servers: list[StandaloneServer]
) -> None:
    first = await start_redis_standalone(
        redis_server.url, reconnect_grace_seconds=GRACE, max_peers_per_room=5
    )
    servers.append(first)
    # Three TTLs later it is still there: the server renews it with its presence.
    await asyncio.sleep(3 * GRACE)
    with pytest.raises(ReplicasDisagree, match="max_peers_per_room is 7 here, 5 recorded"):
        await start_redis_standalone(
            redis_server.url, reconnect_grace_seconds=GRACE, max_peers_per_room=7
        )
    # The deployment changes its settings on purpose: every server stops...
    await first.stop()
    servers.remove(first)
    deadline = time.monotonic() + 5 * GRACE
    while redis_server.cli("EXISTS", KEY) != "0":
        assert time.monotonic() < deadline, "the record outlived every server"
        await asyncio.sleep(0.1)
    # ...and once the record is gone, the new settings are accepted and recorded.
    servers.append(
        await start_redis_standalone(
            redis_server.url, reconnect_grace_seconds=GRACE, max_peers_per_room=7
        )
    )
    assert json.loads(redis_server.cli("GET", KEY))["max_peers_per_room"] == 7


async def test_a_server_that_could_not_reach_redis_at_start_refuses_joins_if_it_disagrees(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    servers.append(await start_redis_standalone(redis_server.url, mesh_max_peers=3))
    # Its way to Redis (a proxy that is not listening yet) is closed when it starts: it
    # cannot compare, so it starts all the same...
    proxy = DelayProxy(redis_server.port)
    retries = {"join_burst": 100, "joins_per_minute": 6000}
    late = await start_redis_standalone(proxy.url(), mesh_max_peers=2, **retries)
    servers.append(late)
    try:
        await proxy.start()
        # ...and once it reaches Redis, it compares, and refuses every join with why.
        client = await open_client(late.url, clients)
        deadline = time.monotonic() + 10
        while True:
            await client.send({"type": "join", "room": "lab", "name": "ada"})
            reply = await client.recv()
            assert reply["type"] == "error", reply
            assert reply["code"] == "backend-unavailable", reply
            if "mesh_max_peers is 2 here, 3 recorded" in reply["message"]:
                break
            assert time.monotonic() < deadline, reply
            await asyncio.sleep(0.3)
        assert json.loads(redis_server.cli("GET", KEY))["mesh_max_peers"] == 3
    finally:
        await proxy.stop()
