"""A participant's kind across servers: a recorder joined on one server is a recorder in
the records every other server reads from Redis, and no state frame strips it there."""

from __future__ import annotations

from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.redis_fixtures import open_client, two_servers
from support.redis_server import RedisServer


async def test_a_kind_crosses_servers_with_redis(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    one, two = await two_servers(redis_server, servers)
    ada = await open_client(one.url, clients)
    rec = await open_client(two.url, clients)
    bob = await open_client(one.url, clients)
    await ada.join("lab", "Ada")
    await rec.join("lab", "Recorder", kind="recorder")
    joined = (await ada.expect("peer-joined"))["peer"]
    assert joined["id"] == rec.id and joined["kind"] == "recorder"
    await rec.send({"type": "state", "state": {"screen": True, "kind": "participant"}})
    await ada.expect("peer-state", id=rec.id, state={"screen": True})
    welcome = await bob.join("lab", "Bob")  # from Redis: the record as stored there
    (record,) = [p for p in welcome["peers"] if p["id"] == rec.id]
    assert record["kind"] == "recorder"
