"""Two ``nbconference serve`` replicas sharing Redis and one existing Janus hold one SFU
room, with participants on each replica: the pin and the plane live in Redis, and each
replica shares its publishers' feeds with the other through the room's events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nbconference.peer import KernelPeer
from nbconference.server.janus import JanusClient
from nbconference.server.janus.plane import janus_room
from support.client import connect_url
from support.janus import (
    ExistingJanus,
    Recording,
    existing_instances,
    is_colour,
    needs_janus,
    picture,
    publish_camera,
    rtc,
    subscribe_to,
)
from support.polling import eventually
from support.redis_server import RedisServer, running_redis
from support.standalone import ServeProcess

pytest.importorskip("aiortc")
pytestmark = needs_janus

API_SECRET = "replicas-api-secret-5d0e2b"
ADMIN_KEY = "replicas-admin-key-91c4f7"
SFU_HASH = "nbconference:room:{}:sfu"

# As in test_janus_kernel.py: frames of the old picture before the new feed's key frame.
KEY_FRAME_WITHIN = 8
RED = (220, 40, 40)
BLUE = (40, 40, 220)
Feeds = list[dict[str, Any]]


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture
def janus_count() -> int:
    return 1


@pytest.fixture
async def instances(janus_count: int) -> AsyncIterator[list[ExistingJanus]]:
    async with existing_instances(janus_count, api_secret=API_SECRET, admin_key=ADMIN_KEY) as up:
        yield up


@pytest.fixture
def janus(instances: list[ExistingJanus]) -> ExistingJanus:
    return instances[0]


@pytest.fixture
def mesh_max_peers() -> int:
    return 0  # every room is on the SFU from its first join


@pytest.fixture
def grace() -> float | None:
    return None  # the default reconnect grace (and presence TTL)


@pytest.fixture
async def replicas(
    redis: RedisServer,
    instances: list[ExistingJanus],
    mesh_max_peers: int,
    grace: float | None,
    tmp_path: Path,
) -> AsyncIterator[tuple[ServeProcess, ServeProcess]]:
    (secret := tmp_path / "api").write_text(API_SECRET + "\n")
    (key := tmp_path / "key").write_text(ADMIN_KEY + "\n")
    args = (
        *("--redis", redis.url, "--sfu", "janus", "--mesh-max-peers", str(mesh_max_peers)),
        *("--janus-urls", json.dumps([janus.url for janus in instances])),
        *(f"--janus-api-secret=@{secret}", f"--janus-admin-key=@{key}"),
        *(("--reconnect-grace-seconds", str(grace)) if grace is not None else ()),
    )
    started = [ServeProcess(*args, log_dir=tmp_path) for _ in range(2)]
    try:
        await asyncio.gather(*(server.ready() for server in started))
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


@pytest.fixture
async def clients() -> AsyncIterator[list[Recording]]:
    opened: list[Recording] = []
    yield opened
    for client in opened:
        client.close()


async def client_of(server: ServeProcess, opened: list[Recording]) -> Recording:
    client = Recording(await connect_url(server.url_with_token))
    opened.append(client)
    return client


async def feeds_until(
    client: Recording, check: Callable[[Feeds], bool], timeout: float = 15.0
) -> Feeds:
    """The feeds of the next ``sfu-feeds`` frame that passes ``check``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        feeds: Feeds = (await client.next_of("sfu-feeds", max(left, 0.01)))["feeds"]
        if check(feeds):
            return feeds


def peers_of(feeds: Feeds) -> set[str]:
    return {feed["peer"] for feed in feeds}


async def test_two_replicas_hold_one_sfu_room_through_one_janus(
    replicas: tuple[ServeProcess, ServeProcess],
    janus: ExistingJanus,
    redis: RedisServer,
    clients: list[Recording],
) -> None:
    first, second = replicas
    alice = await client_of(first, clients)
    bob = await client_of(second, clients)
    assert (await alice.join("lab"))["media"] == "sfu"
    assert (await bob.join("lab"))["media"] == "sfu"
    publisher, mid = await publish_camera(alice)
    camera = [{"mid": mid, "kind": "camera"}]
    # Bob, on the other replica, hears of Alice's feed, and receives her frames through
    # the same Janus room.
    feeds = await feeds_until(bob, lambda f: alice.id in peers_of(f))
    assert feeds == [{"peer": alice.id, "streams": camera}]
    assert redis.cli("HGET", SFU_HASH.format("lab"), "janus") == janus.url
    assert redis.cli("HGET", SFU_HASH.format("lab"), "plane") == "sfu"
    subscriber = rtc()
    track = await subscribe_to(bob, subscriber, alice.id, mid)
    frame = await asyncio.wait_for(track.recv(), 10)
    assert frame.width > 0
    offer = [f for f in bob.received if f["type"] == "sfu-offer"][-1]
    assert [s["feed"] for s in offer["streams"]] == [alice.id]  # our peer ids, never Janus'
    # Both ways: Bob publishes on his replica, Alice sees his feed beside hers.
    bob_publisher, _ = await publish_camera(bob)
    feeds = await feeds_until(alice, lambda f: bob.id in peers_of(f))
    assert peers_of(feeds) == {alice.id, bob.id}
    # A newcomer on the second replica reads both feeds with its join.
    carol = await client_of(second, clients)
    assert (await carol.join("lab"))["media"] == "sfu"
    feeds = (await carol.next_of("sfu-feeds"))["feeds"]
    assert peers_of(feeds) == {alice.id, bob.id}
    # Alice leaves: her feed goes from the other replica's sfu-feeds too.
    await alice.send({"type": "leave"})
    feeds = await feeds_until(bob, lambda f: alice.id not in peers_of(f))
    assert peers_of(feeds) == {bob.id}
    feeds = await feeds_until(carol, lambda f: alice.id not in peers_of(f))
    assert redis.cli("HEXISTS", SFU_HASH.format("lab"), f"feed:{alice.id}") == "0"
    assert redis.cli("HEXISTS", SFU_HASH.format("lab"), f"feed:{bob.id}") == "1"
    # The Janus room outlived Alice's replica's last peer: Bob's replica still uses it.
    assert janus_room("lab") in await rooms_of(janus)
    for pc in (publisher, subscriber, bob_publisher):
        await pc.close()
    for client in (bob, carol):
        await client.send({"type": "leave"})
    await eventually(
        lambda: redis.cli("EXISTS", SFU_HASH.format("lab")) == "0", 10, "the SFU hash gone"
    )
    secrets = [repr(f) for c in clients for f in c.received]
    assert not any(API_SECRET in f or ADMIN_KEY in f for f in secrets)


async def publishers_in(janus: ExistingJanus) -> dict[str, int]:
    """Janus' own list of its VideoRooms, with the publishers in each."""
    client = await JanusClient.connect(janus.url, API_SECRET)
    try:
        session = await client.create()
        handle = await session.attach()
        data, _ = await handle.message({"request": "list", "admin_key": ADMIN_KEY})
        await session.destroy()
        return {str(room["room"]): int(room["num_participants"]) for room in data["list"]}
    finally:
        await client.close()


async def rooms_of(janus: ExistingJanus) -> set[str]:
    return set(await publishers_in(janus))


@pytest.mark.parametrize("mesh_max_peers", [1])
async def test_the_room_moves_on_every_replica_at_the_same_join(
    replicas: tuple[ServeProcess, ServeProcess], redis: RedisServer, clients: list[Recording]
) -> None:
    first, second = replicas
    alice = await client_of(first, clients)
    assert (await alice.join("lab"))["media"] == "mesh"
    bob = await client_of(second, clients)
    # Bob's join on the second replica moves the room: Alice, on the first, hears it
    # before Bob's peer-joined, so she makes him no mesh offer.
    assert (await bob.join("lab"))["media"] == "sfu"
    moved = await alice.recv()
    assert moved == {"type": "media", "media": "sfu"}
    await alice.expect("peer-joined")
    # It stays on the SFU for a newcomer of either replica while anyone is in it, even
    # below mesh_max_peers.
    await bob.send({"type": "leave"})
    await alice.next_of("peer-left")
    carol = await client_of(second, clients)
    assert (await carol.join("lab"))["media"] == "sfu"
    for client in (alice, carol):
        await client.send({"type": "leave"})
    await eventually(
        lambda: redis.cli("EXISTS", SFU_HASH.format("lab")) == "0", 10, "the SFU hash gone"
    )
    # Emptied: the next first join starts a mesh again.
    dave = await client_of(first, clients)
    assert (await dave.join("lab"))["media"] == "mesh"


async def test_a_feed_from_redis_never_reaches_another_room_and_bad_ones_are_refused(
    replicas: tuple[ServeProcess, ServeProcess], redis: RedisServer, clients: list[Recording]
) -> None:
    first, second = replicas
    alice = await client_of(first, clients)
    eve = await client_of(second, clients)
    await alice.join("lab")
    await eve.join("other")
    publisher, mid = await publish_camera(alice)
    camera = [{"mid": mid, "kind": "camera"}]
    await feeds_until(alice, lambda f: alice.id in peers_of(f))
    # A stored feed that is no JSON, read by the second replica's first join of the room.
    redis.cli("HSET", SFU_HASH.format("lab"), f"feed:{eve.id}", "{not json")
    bob = await client_of(second, clients)
    await bob.join("lab")
    assert (await bob.next_of("sfu-feeds"))["feeds"] == [{"peer": alice.id, "streams": camera}]

    def said(line: str) -> bool:
        return line in second.output()

    await eventually(lambda: said("not JSON"), 10, "the stored bad feed refused")
    # Eve, on the replica that knows Alice's feed from Redis, names it from her room.
    await eve.send({"type": "sfu-subscribe", "streams": [{"feed": alice.id, "mid": mid}]})
    refused = await eve.next_of("error")
    assert refused["code"] == "sfu-refused" and refused["peer"] == alice.id
    # Bad feeds on the room's channel, as if written by a broken or hostile replica.
    elsewhere = "ws://127.0.0.1:1/"
    bad: list[tuple[str, Any]] = [
        (alice.id, {"janus": elsewhere, "feed": "1; drop", "streams": camera}),
        (alice.id, {"janus": 7, "feed": "1", "streams": camera}),
        (alice.id, "not an object"),
        ("no-such-peer", {"janus": elsewhere, "feed": "42", "streams": camera}),
        (eve.id, {"janus": elsewhere, "feed": "43", "streams": camera}),
    ]
    for peer, record in bad:
        event = {"o": "elsewhere", "k": "feed", "r": "lab", "p": peer, "f": record}
        redis.cli("PUBLISH", "nbconference:room:lab", json.dumps(event))
    await eventually(lambda: said("'feed' (a Janus feed id) must be"), 10, "the bad feed id")
    assert said("'janus' must be a Janus URL")
    assert said("a feed record must be an object or null")
    assert said("'no-such-peer'") and said("no member of that room on another server")
    assert said(f"{eve.id!r} in room 'lab'")
    # Nothing crashed, and Alice's feed is the one it was: Bob receives her frames.
    subscriber = rtc()
    track = await subscribe_to(bob, subscriber, alice.id, mid)
    assert (await asyncio.wait_for(track.recv(), 10)).width > 0
    carol = await client_of(second, clients)
    await carol.join("lab")
    assert (await carol.next_of("sfu-feeds"))["feeds"] == [{"peer": alice.id, "streams": camera}]
    assert first.process.poll() is None and second.process.poll() is None
    for pc in (publisher, subscriber):
        await pc.close()


@pytest.mark.parametrize("janus_count", [2])
async def test_a_room_whose_janus_dies_moves_once_for_every_replica(
    replicas: tuple[ServeProcess, ServeProcess],
    instances: list[ExistingJanus],
    redis: RedisServer,
) -> None:
    first, second = replicas
    sender = await KernelPeer.join("lab", name="sender", url=first.url, token=first.token)
    watcher = await KernelPeer.join("lab", name="watcher", url=second.url, token=second.token)
    try:
        colour = [RED]
        sender.publish_frames(lambda: picture(colour[0]), fps=15)
        frame = await asyncio.wait_for(watcher.next_frame(sender.id), 20)
        assert is_colour(frame.image, RED)
        pinned = redis.cli("HGET", SFU_HASH.format("lab"), "janus")
        (dead,) = [j for j in instances if j.url == pinned]
        (alive,) = [j for j in instances if j is not dead]
        arrivals: list[float] = []
        watcher.on_frame(
            lambda _, image: is_colour(image, BLUE) and arrivals.append(time.monotonic())
        )
        colour[0] = BLUE  # a blue frame cannot have come through the dead Janus
        killed = time.monotonic()
        dead.kill()
        await eventually(lambda: arrivals, 20, "the sender's frames through the other Janus")
        print(f"frames flow again across replicas {arrivals[0] - killed:.2f} s after the kill")
        assert redis.cli("HGET", SFU_HASH.format("lab"), "janus") == alive.url
        assert janus_room("lab") in await rooms_of(alive)
    finally:
        await asyncio.gather(sender.leave(), watcher.leave())


@pytest.mark.parametrize("janus_count", [2])
async def test_a_new_room_goes_to_the_janus_with_the_fewest_publishers_of_all_replicas(
    replicas: tuple[ServeProcess, ServeProcess],
    instances: list[ExistingJanus],
    redis: RedisServer,
) -> None:
    first, second = replicas
    peers = [
        await KernelPeer.join("a", name=f"a{n}", url=first.url, token=first.token) for n in range(2)
    ]
    try:
        busy_url = await eventually(
            lambda: redis.cli("HGET", SFU_HASH.format("a"), "janus"), 15, "room a's pin"
        )
        (busy,) = [j for j in instances if j.url == busy_url]

        async def two_publishers() -> bool:
            return (await publishers_in(busy)).get(janus_room("a")) == 2

        await eventually(two_publishers, 15, "room a's two publishers in Janus")
        # The second replica has no peer in room a: only Janus' own count tells it that
        # the busy instance carries two publishers.
        peers.append(await KernelPeer.join("b", name="b0", url=second.url, token=second.token))
        pin_b = await eventually(
            lambda: redis.cli("HGET", SFU_HASH.format("b"), "janus"), 15, "room b's pin"
        )
        assert pin_b != busy_url
    finally:
        await asyncio.gather(*(peer.leave() for peer in peers))


async def test_a_subscriber_on_another_replica_gets_a_key_frame_of_a_feed_it_receives_anew(
    replicas: tuple[ServeProcess, ServeProcess],
) -> None:
    """Janus reuses a dropped stream's mid for the next feed; aiortc asks no key frame by
    itself, so the server asks one of the publisher, through its own replica (else the new
    feed's delta frames paint over the old picture until the next key frame)."""
    first, second = replicas
    ada = await KernelPeer.join("lab", name="ada", url=first.url, token=first.token)
    bob = await KernelPeer.join("lab", name="bob", url=first.url, token=first.token)
    student = await KernelPeer.join("lab", name="student", url=second.url, token=second.token)
    try:
        ada.publish_frames(lambda: picture(RED), fps=15)
        bob.publish_frames(lambda: picture(BLUE), fps=15)
        frame = await student.next_frame(ada.id, timeout=20)
        assert is_colour(frame.image, RED)
        await asyncio.sleep(1.0)  # ada's camera dropped: its mid is free for bob's
        stale = 0
        async with contextlib.aclosing(student.frames(bob.id)) as frames:
            while True:
                frame = await asyncio.wait_for(anext(frames), 20)
                if is_colour(frame.image, BLUE):
                    break
                stale += 1
                assert stale <= KEY_FRAME_WITHIN, "bob's frames kept showing another picture"
        print(f"{stale} frame(s) of the old picture before bob's key frame")
    finally:
        await asyncio.gather(ada.leave(), bob.leave(), student.leave())


@pytest.mark.parametrize("grace", [2.0])
async def test_a_dead_replicas_feeds_go_from_the_others(
    replicas: tuple[ServeProcess, ServeProcess], redis: RedisServer, clients: list[Recording]
) -> None:
    first, second = replicas
    alice = await client_of(first, clients)
    bob = await client_of(second, clients)
    await alice.join("lab")
    await bob.join("lab")
    publisher, _ = await publish_camera(alice)
    await feeds_until(bob, lambda f: alice.id in peers_of(f))
    first.kill()  # SIGKILL: no goodbye; Alice's presence expires, and the sweep says so
    feeds = await feeds_until(bob, lambda f: alice.id not in peers_of(f), timeout=20)
    assert feeds == []
    # Right after her peer-left, on the same event.
    assert {"type": "peer-left", "id": alice.id} in bob.received
    assert redis.cli("HEXISTS", SFU_HASH.format("lab"), f"feed:{alice.id}") == "0"
    await publisher.close()


async def test_a_replica_whose_media_settings_differ_is_refused_at_start(
    replicas: tuple[ServeProcess, ServeProcess],
    instances: list[ExistingJanus],
    redis: RedisServer,
    tmp_path: Path,
) -> None:
    # Two agreeing replicas started (the fixture); a third with another API secret and
    # another mesh size refuses to start, naming both, and never the secret itself.
    (secret := tmp_path / "other-api").write_text("another-api-secret-77aa01\n")
    (key := tmp_path / "same-key").write_text(ADMIN_KEY + "\n")
    third = ServeProcess(
        *("--redis", redis.url, "--sfu", "janus", "--mesh-max-peers", "3"),
        *("--janus-urls", json.dumps([janus.url for janus in instances])),
        *(f"--janus-api-secret=@{secret}", f"--janus-admin-key=@{key}"),
        log_dir=tmp_path,
    )
    try:
        assert await asyncio.to_thread(third.process.wait, 30) == 1
    finally:
        third.stop()
    said = third.output()
    assert "mesh_max_peers is 3 here, 0 recorded" in said
    assert "janus_api_secret differs (fingerprint sha256:" in said
    assert "janus_admin_key" not in said  # the same on all three
    assert "Traceback" not in said
    for secret_text in (API_SECRET, ADMIN_KEY, "another-api-secret-77aa01"):
        assert secret_text not in said
    # The first two carry on with the recorded settings.
    assert json.loads(redis.cli("GET", "nbconference:settings"))["mesh_max_peers"] == 0
    for replica in replicas:
        assert replica.process.poll() is None
