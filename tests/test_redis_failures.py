"""The Redis backend when things break: Redis down or restarted, a server killed."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time

import pytest

from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.polling import eventually
from support.redis_fixtures import open_client, serve_redis, start_redis_standalone
from support.redis_server import RedisServer
from support.standalone import ServeProcess

GRACE = 2.0


@pytest.mark.parametrize("went_down", ["after-start", "before-start"])
async def test_join_while_redis_is_down_is_refused_and_the_socket_stays_usable(
    went_down: str,
    redis_server: RedisServer,
    servers: list[StandaloneServer],
    clients: list[Client],
) -> None:
    if went_down == "before-start":
        redis_server.kill()  # the server must start anyway (a Jupyter server must not hang)
    started = time.monotonic()
    server = await start_redis_standalone(redis_server.url)
    servers.append(server)
    assert time.monotonic() - started < 4
    redis_server.kill()
    ada = await open_client(server.url, clients)
    started = time.monotonic()
    await ada.send({"type": "join", "room": "lab", "name": "Ada"})
    error = await ada.expect_error("backend-unavailable")
    assert "Redis" in error["message"], error
    assert time.monotonic() - started < 3, "the refusal should not hang"
    redis_server.start()
    # Same socket: once Redis is back, the join goes through.
    welcome = await eventually(lambda: try_join(ada, "lab"), 10, "a join once Redis is back")
    assert welcome["peers"] == []


async def try_join(client: Client, room: str) -> dict[str, object] | None:
    await client.send({"type": "join", "room": room, "name": "again"})
    reply = await client.recv()
    if reply["type"] == "error":
        assert reply["code"] == "backend-unavailable", reply
        await asyncio.sleep(0.2)
        return None
    assert reply["type"] == "welcome", reply
    return reply


async def test_room_recovers_after_redis_restart(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    for _ in range(2):
        servers.append(
            await start_redis_standalone(redis_server.url, reconnect_grace_seconds=GRACE)
        )
    one, two = servers
    ada = await open_client(one.url, clients)
    bob = await open_client(two.url, clients)
    await ada.join("lab", "Ada")
    await bob.join("lab", "Bob")
    await ada.expect("peer-joined")

    redis_server.kill()
    # While Redis is down, a cross-server signal gets an error frame back, not silence.
    await ada.signal(bob, {"candidate": {"n": 1}})
    error = await ada.expect_error("backend-unavailable")
    assert bob.id in error["message"] and error["peer"] == bob.id
    # So does a state change, which nobody else can hear of now (and concerns no peer).
    await bob.send({"type": "state", "state": {"microphone": True}})
    assert "peer" not in await bob.expect_error("backend-unavailable")

    redis_server.start()
    # Bob's server puts him back with his current state: Ada hears of the change late.
    await ada.expect("peer-state", timeout=10, id=bob.id, state={"microphone": True})
    # After the restart (Redis came back empty) signals cross again. Meanwhile every
    # signal that does not arrive in time is answered with an error (about it, or that
    # signals to Bob may have been lost while his server was cut off): none is lost
    # silently. One that was late rather than lost may still arrive, in order.
    sent = iter(range(2, 1000))

    async def crosses() -> bool:
        n = next(sent)
        await ada.signal(bob, {"candidate": {"n": n}})
        with contextlib.suppress(asyncio.TimeoutError):
            while True:
                message = await bob.recv(0.5)
                assert message["type"] == "signal" and message["from"] == ada.id, message
                if message["data"] == {"candidate": {"n": n}}:
                    return True
                assert message["data"]["candidate"]["n"] < n, message
        assert (await ada.expect_error("backend-unavailable"))["peer"] == bob.id
        with contextlib.suppress(asyncio.TimeoutError):
            while True:  # the other errors about the same outage
                extra = await ada.recv(0.3)
                assert (extra["type"], extra["code"], extra["peer"]) == (
                    "error",
                    "backend-unavailable",
                    bob.id,
                ), extra
        return False

    await eventually(crosses, 10, "signals to cross servers again", interval=0.2)
    await bob.signal(ada, {"candidate": {"n": 1}})
    while (message := await ada.recv())["type"] == "error":
        # Ada's server lost the stream too: Bob may hear that signals to Ada were lost.
        assert "may have been lost" in message["message"], message
    assert message["type"] == "signal" and message["from"] == bob.id
    with contextlib.suppress(asyncio.TimeoutError):
        while True:
            assert "may have been lost" in (await bob.recv(0.3))["message"]

    # Presence was put back: a newcomer sees both, and nobody saw a ghost leave.
    cyd = await open_client(two.url, clients)
    welcome = await cyd.join("lab", "Cyd")
    assert sorted(p["id"] for p in welcome["peers"]) == sorted([ada.id, bob.id])
    await ada.expect("peer-joined")
    await bob.expect("peer-joined")
    await asyncio.sleep(GRACE + 1)  # past the window in which a missing peer is retired
    await ada.silent(0.1)
    await bob.silent(0.1)


async def test_peers_of_a_killed_server_leave_within_the_grace_window(
    redis_server: RedisServer,
    servers: list[StandaloneServer],
    serve_processes: list[ServeProcess],
    clients: list[Client],
) -> None:
    for _ in range(2):
        servers.append(
            await start_redis_standalone(redis_server.url, reconnect_grace_seconds=GRACE)
        )
    doomed = serve_redis(redis_server.url, "--reconnect-grace-seconds", str(GRACE))
    serve_processes.append(doomed)
    doomed_url = (await doomed.ready()).url
    ada = await open_client(servers[0].url, clients)
    bob = await open_client(servers[1].url, clients)
    cyd = await open_client(doomed_url, clients)
    dan = await open_client(doomed_url, clients)
    await ada.join("lab", "Ada")
    await bob.join("lab", "Bob")
    await cyd.join("lab", "Cyd")
    await dan.join("lab", "Dan")
    gone = {cyd.id, dan.id}
    assert {(await ada.expect("peer-joined"))["peer"]["id"] for _ in range(3)} >= gone
    assert {(await bob.expect("peer-joined"))["peer"]["id"] for _ in range(2)} == gone

    doomed.kill()
    killed = time.monotonic()
    # Until the sweep, Cyd is still in the room, but nobody can deliver to her: the
    # sender is told at once (Redis counted no receiver), not left waiting in silence.
    await asyncio.sleep(0.2)
    await ada.signal(cyd, {"candidate": {"n": 1}})
    error = await ada.expect_error("backend-unavailable")
    assert cyd.id in error["message"], error
    for watcher in (ada, bob):
        left = {(await watcher.expect("peer-left", timeout=GRACE + 4))["id"] for _ in gone}
        assert left == gone
    elapsed = time.monotonic() - killed
    refresh = GRACE / 3
    assert elapsed <= GRACE + 2 * refresh + 0.5, f"took {elapsed:.2f} s"
    # Exactly one announcement per departure, although two live servers sweep the room.
    await ada.silent(2 * refresh)
    await bob.silent(0.1)


async def test_a_server_stopped_with_sigterm_says_goodbye_at_once(
    redis_server: RedisServer,
    servers: list[StandaloneServer],
    serve_processes: list[ServeProcess],
    clients: list[Client],
) -> None:
    servers.append(await start_redis_standalone(redis_server.url))
    stopping = serve_redis(redis_server.url, "--reconnect-grace-seconds", "30")
    serve_processes.append(stopping)
    ada = await open_client(servers[0].url, clients)
    bob = await open_client((await stopping.ready()).url, clients)
    await ada.join("lab")
    await bob.join("lab")
    await ada.expect(
        "peer-joined", peer={"id": bob.id, "name": "lab", "state": {}, "user": None, "color": None}
    )
    stopping.process.send_signal(signal.SIGTERM)
    # Far sooner than the 30 s grace: the server announced the departure itself.
    await ada.expect("peer-left", timeout=5, id=bob.id)
    assert stopping.process.wait(10) == 0
    assert redis_server.cli("EXISTS", "nbconference:room:lab:peers") == "1"  # Ada is still in
    assert redis_server.cli("ZCARD", "nbconference:room:lab:members") == "1"
