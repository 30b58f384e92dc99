"""Nothing sent across servers vanishes: each signal to a peer on another server arrives,
or its sender gets an error naming that peer. Large bursts, a reconnecting target, a
target that just left, a slow Redis, a subscriber that Redis dropped for overflowing its
pub/sub buffer, and a join whose script ran only after the join had timed out."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.delay_proxy import DelayProxy
from support.polling import eventually
from support.redis_fixtures import open_client, serve_redis, start_redis_standalone
from support.redis_server import RedisServer
from support.standalone import ServeProcess
from support.traffic import big_signal, drain, signals_by_sender


@pytest.fixture
async def proxy(redis_server: RedisServer) -> AsyncIterator[DelayProxy]:
    """A way to the test's Redis that can be made to lag."""
    running = await DelayProxy(redis_server.port).start()
    yield running
    await running.stop()


async def meet(ada: Client, bob: Client, *more: Client) -> None:
    """Everyone joins "lab" in turn; each earlier member hears of each later one."""
    members = [ada, bob, *more]
    for n, client in enumerate(members):
        await client.join("lab", f"p{n}")
        for earlier in members[:n]:
            await earlier.expect("peer-joined", timeout=5)


def errors_about(frames: list[dict[str, Any]], peer: str) -> list[dict[str, Any]]:
    assert all(f["type"] == "error" and f["peer"] == peer for f in frames), frames
    return frames


async def test_three_remote_peers_send_sixty_large_signals_to_a_reading_victim(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    one = await start_redis_standalone(redis_server.url)
    two = await start_redis_standalone(redis_server.url)
    servers += [one, two]
    victim = await open_client(two.url, clients)
    senders = [await open_client(one.url, clients) for _ in range(3)]
    await meet(victim, *senders)

    async def send(n: int, sender: Client) -> None:
        for seq in range(20):
            await sender.send(big_signal(victim.id, n, seq))

    receiving = asyncio.ensure_future(drain(victim, quiet=3.0))
    await asyncio.gather(*(send(n, s) for n, s in enumerate(senders)))
    assert signals_by_sender(await receiving) == {n: list(range(20)) for n in range(3)}
    for sender in senders:
        await sender.silent(0.2)


async def test_a_dropped_remote_victim_keeps_its_place_and_senders_hear_of_overflow(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    """Any member could once evict any other: a burst at a reconnecting peer on another
    server made it leave. Now what does not fit comes back to the sender."""
    one = await start_redis_standalone(redis_server.url, reconnect_grace_seconds=30)
    two = await start_redis_standalone(redis_server.url, reconnect_grace_seconds=30)
    servers += [one, two]
    victim = await open_client(two.url, clients)
    sender = await open_client(one.url, clients)
    await meet(victim, sender)
    victim.drop()
    await asyncio.sleep(0.3)
    count = 100  # 6.4 MB, six times what is kept for the victim
    for seq in range(count):
        await sender.send(big_signal(victim.id, 0, seq))
    refused = errors_about(await drain(sender, quiet=2.0), victim.id)
    assert refused and {e["code"] for e in refused} == {"peer-unavailable"}
    back = await open_client(two.url, clients)
    welcome = await back.join("lab", resume=victim.resume)
    assert welcome["resumed"] is True, "the victim was evicted"
    got = signals_by_sender(await drain(back, quiet=1.5))
    arrived = got.get(0, [])
    assert arrived == sorted(arrived) and len(arrived) + len(refused) == count


async def test_signals_to_a_peer_that_just_left_come_back_as_errors(
    redis_server: RedisServer,
    proxy: DelayProxy,
    servers: list[StandaloneServer],
    clients: list[Client],
) -> None:
    one = await start_redis_standalone(proxy.url())  # hears of room events late, below
    two = await start_redis_standalone(redis_server.url)
    servers += [one, two]
    ada = await open_client(one.url, clients)
    bob = await open_client(two.url, clients)
    await meet(ada, bob)
    proxy.to_client = 1.0
    await bob.send({"type": "leave"})
    await asyncio.sleep(0.2)  # Bob has left; Ada's server will hear of it in a second
    for n in range(30):
        await ada.signal(bob, {"candidate": {"n": n}})
    replies = await drain(ada, quiet=2.0)
    proxy.to_client = 0.0
    errors = [r for r in replies if r["type"] == "error"]
    assert len(errors) == 30, replies
    assert all(e["code"] == "unknown-peer" and e["peer"] == bob.id for e in errors)
    assert all("left room 'lab'" in e["message"] for e in errors)
    assert [r for r in replies if r["type"] != "error"] == [{"type": "peer-left", "id": bob.id}]


async def test_a_burst_to_one_remote_peer_is_bounded(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    """Signals to one peer through Redis are bounded in bytes per second, so that the
    receiving server's pub/sub buffer in Redis stays small; the rest is refused."""
    rate = 256 * 1024
    one = await start_redis_standalone(redis_server.url, redis_bytes_per_peer_per_second=rate)
    two = await start_redis_standalone(redis_server.url)
    servers += [one, two]
    ada = await open_client(one.url, clients)
    bob = await open_client(two.url, clients)
    await meet(ada, bob)
    receiving = asyncio.ensure_future(drain(bob, quiet=2.0))
    started = time.monotonic()
    for seq in range(40):  # 2.6 MB at once
        await ada.send(big_signal(bob.id, 0, seq))
    refused = errors_about(await drain(ada, quiet=1.0), bob.id)
    elapsed = time.monotonic() - started - 1.0  # the last second was quiet
    assert {e["code"] for e in refused} == {"peer-unavailable"}
    assert "through Redis" in refused[0]["message"]
    arrived = signals_by_sender(await receiving).get(0, [])
    assert len(arrived) + len(refused) == 40
    # A burst of two seconds' worth, and what the rate adds while the burst goes out.
    allowed = (2 * rate + rate * elapsed) / (64 * 1024)
    assert 2 <= len(arrived) <= allowed + 1, (len(arrived), allowed)


async def test_a_subscriber_dropped_by_redis_is_noticed_and_senders_are_told(
    redis_server: RedisServer,
    servers: list[StandaloneServer],
    serve_processes: list[ServeProcess],
    clients: list[Client],
) -> None:
    """Redis drops a subscriber whose pub/sub output buffer overflows, and what it held
    is gone although PUBLISH counted a receiver. The dropped server reconnects and tells
    the room that signals to its peers may have been lost."""
    unbounded = 1 << 40  # the per-peer bound would otherwise prevent the overflow
    one = await start_redis_standalone(redis_server.url, redis_bytes_per_peer_per_second=unbounded)
    servers.append(one)
    # Bob's server in a process of its own, so that it can be made to stop reading.
    two = serve_redis(redis_server.url, "--max-queued-bytes", str(64 << 20))
    serve_processes.append(two)
    await two.ready()
    ada = await open_client(one.url, clients)
    bob = await open_client(two.url, clients)
    await meet(ada, bob)
    assert redis_server.cli("CONFIG", "SET", "client-output-buffer-limit", "pubsub 64kb 0 0")
    count = 100  # 6.4 MB
    os.kill(two.pid, signal.SIGSTOP)
    try:
        for seq in range(count):
            await ada.send(big_signal(bob.id, 0, seq))
        await asyncio.sleep(0.5)
    finally:
        os.kill(two.pid, signal.SIGCONT)
    receiving = asyncio.ensure_future(drain(bob, quiet=3.0))
    replies = errors_about(await drain(ada, quiet=3.0), bob.id)
    arrived = signals_by_sender(await receiving).get(0, [])
    lost = [r for r in replies if "may have been lost" in r["message"]]
    assert len(arrived) < count, "Redis did not drop the subscriber: nothing was tested"
    assert lost, f"{count - len(arrived)} signals vanished and nobody was told"
    assert {r["code"] for r in lost} == {"backend-unavailable"}
    # The room carries on.
    await ada.signal(bob, {"candidate": {"after": True}})
    assert (await bob.expect("signal"))["data"] == {"candidate": {"after": True}}


async def test_the_redis_write_queue_is_bounded_in_bytes(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    one = await start_redis_standalone(redis_server.url, redis_max_queued_bytes=300_000)
    two = await start_redis_standalone(redis_server.url)
    servers += [one, two]
    ada = await open_client(one.url, clients)
    bob = await open_client(two.url, clients)
    await meet(ada, bob)
    assert redis_server.proc is not None
    os.kill(redis_server.proc.pid, signal.SIGSTOP)  # Redis stalls: writes pile up
    try:
        for seq in range(20):  # 1.3 MB
            await ada.send(big_signal(bob.id, 0, seq))
        refused = errors_about(await drain(ada, quiet=1.0), bob.id)
    finally:
        os.kill(redis_server.proc.pid, signal.SIGCONT)
    assert refused and all("not keeping up" in e["message"] for e in refused)
    assert {e["code"] for e in refused} == {"backend-unavailable"}
    arrived = signals_by_sender(await drain(bob, quiet=2.0)).get(0, [])
    assert len(arrived) + len(refused) == 20
    assert len(arrived) <= 5, "more was queued than 300 KB"


async def test_a_join_that_ran_after_it_timed_out_leaves_no_ghost(
    redis_server: RedisServer,
    proxy: DelayProxy,
    servers: list[StandaloneServer],
    clients: list[Client],
) -> None:
    settings = {"reconnect_grace_seconds": 30.0, "redis_timeout_seconds": 1.0}
    one = await start_redis_standalone(proxy.url(), **settings)
    two = await start_redis_standalone(redis_server.url, **settings)
    servers += [one, two]
    ada = await open_client(one.url, clients)
    bob = await open_client(two.url, clients)
    await meet(ada, bob)
    proxy.to_server = 3.0  # one's writes reach Redis three seconds late
    cyd = await open_client(one.url, clients)
    await cyd.send({"type": "join", "room": "lab", "name": "Cyd"})
    error = await cyd.expect("error", timeout=6, code="backend-unavailable")
    assert "Redis" in error["message"]
    proxy.to_server = 0.0
    # The join script runs when its delay is over: Bob sees the peer join, and then
    # leave again, long before its presence (30 s) would expire.
    ghost = (await bob.expect("peer-joined", timeout=6))["peer"]["id"]
    await bob.expect("peer-left", timeout=6, id=ghost)
    members = "nbconference:room:lab:members"
    await eventually(lambda: redis_server.cli("ZCARD", members) == "2", 5, "two members")
    with contextlib.suppress(asyncio.TimeoutError):
        unexpected = await bob.recv(0.5)
        raise AssertionError(f"unexpected {unexpected}")
