"""``janus_urls``: existing Janus instances (plain processes nobody supervises, as a
deployment's are to us) with the secrets of ``janus_api_secret`` and ``janus_admin_key``.
Rooms are pinned to the instance with the fewest publishers, and a room whose instance
dies moves to another, its KernelPeers publishing again."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from nbconference.peer import KernelPeer
from nbconference.server.config import SignalingSettings
from nbconference.server.janus import JanusClient
from nbconference.server.janus import pool as pool_module
from nbconference.server.janus.plane import janus_room
from nbconference.server.janus.pool import JanusPool, JanusUnusable
from nbconference.server.standalone import StandaloneServer, start_server
from support.client import connect_url
from support.janus import (
    ExistingJanus,
    Recording,
    existing_instances,
    is_colour,
    loopback_configs,
    needs_janus,
    picture,
    publish_camera,
)
from support.polling import eventually
from support.processes import free_port
from support.standalone import ServeProcess

pytest.importorskip("aiortc")
pytestmark = needs_janus

API_SECRET = "existing-api-secret-4f1c9a"
ADMIN_KEY = "existing-admin-key-7b2e05"
RED = (220, 40, 40)
BLUE = (40, 40, 220)


@pytest.fixture
def janus_count() -> int:
    return 2


@pytest.fixture
async def instances(janus_count: int) -> AsyncIterator[list[ExistingJanus]]:
    async with existing_instances(janus_count, api_secret=API_SECRET, admin_key=ADMIN_KEY) as up:
        yield up


@pytest.fixture
def mesh_max_peers() -> int:
    return 0  # every room is on the SFU from its first join


@pytest.fixture
def nbc_settings(instances: list[ExistingJanus], mesh_max_peers: int) -> dict[str, Any]:
    return {
        "sfu": "janus",
        "mesh_max_peers": mesh_max_peers,
        "janus_urls": [janus.url for janus in instances],
        "janus_api_secret": API_SECRET,
        "janus_admin_key": ADMIN_KEY,
    }


def pool(standalone: StandaloneServer) -> JanusPool:
    assert standalone.registry.sfu is not None
    return standalone.registry.sfu


async def listed(janus: ExistingJanus) -> set[str]:
    """The VideoRooms that Janus itself has."""
    client = await JanusClient.connect(janus.url, API_SECRET)
    try:
        session = await client.create()
        handle = await session.attach()
        data, _ = await handle.message({"request": "list", "admin_key": ADMIN_KEY})
        await session.destroy()
        return {str(room["room"]) for room in data["list"]}
    finally:
        await client.close()


async def join(standalone: StandaloneServer, peers: list[KernelPeer], room: str) -> KernelPeer:
    name = f"{room}-{len(peers)}"  # a name joined again would replace its first peer
    peer = await KernelPeer.join(room, name=name, url=standalone.url, token=standalone.token)
    peers.append(peer)
    return peer


def red() -> np.ndarray[Any, np.dtype[np.uint8]]:
    return picture(RED)


@pytest.mark.parametrize("janus_count", [1])
@pytest.mark.parametrize("mesh_max_peers", [2])
async def test_a_room_moves_to_the_sfu_through_an_existing_janus(
    standalone: StandaloneServer, peers: list[KernelPeer], instances: list[ExistingJanus]
) -> None:
    (existing,) = instances
    assert standalone.janus is None
    janus_children = [
        p.pid for p in psutil.Process().children(recursive=True) if p.name() == "janus"
    ]
    assert janus_children == [existing.pid], "the server started a Janus of its own"
    watcher = await join(standalone, peers, "lab")
    sender = await join(standalone, peers, "lab")
    sender.publish_frames(red, fps=15)
    assert watcher.media == "mesh"
    third = await join(standalone, peers, "lab")
    assert third.media == "sfu"
    await eventually(
        lambda: watcher.stats.get(sender.id, {}).get("via") == "sfu", 20, "frames via the SFU"
    )
    frame = await asyncio.wait_for(watcher.next_frame(sender.id), 10)
    assert is_colour(frame.image, RED), frame.image[60, 80]
    assert janus_room("lab") in await listed(existing)


async def test_a_new_room_goes_to_the_instance_with_the_fewest_publishers(
    standalone: StandaloneServer, peers: list[KernelPeer], instances: list[ExistingJanus]
) -> None:
    plane = pool(standalone)

    def publishers(room: str) -> int:
        return sum(1 for s in plane.rooms.get(room, {}).values() if s.feed)

    for room, count in (("a", 2), ("b", 1), ("c", 1)):
        for _ in range(count):
            await join(standalone, peers, room)
        await eventually(lambda r=room, n=count: publishers(r) == n, 15, f"{room}'s publishers")
    busy = plane.pins["a"]
    # a (2 publishers) on one; then b on the other (0), and c with b (1 < 2): the fewest
    # publishers, not turns.
    assert plane.pins["b"] is plane.pins["c"] is not busy
    rooms = [await listed(janus) for janus in instances]
    print("Janus rooms per instance:", rooms)
    first, second = rooms if busy.url == instances[0].url else rooms[::-1]
    assert janus_room("a") in first and not {janus_room("b"), janus_room("c")} & first
    assert {janus_room("b"), janus_room("c")} <= second and janus_room("a") not in second


async def test_a_room_whose_janus_dies_moves_to_another_and_frames_flow_again(
    standalone: StandaloneServer, peers: list[KernelPeer], instances: list[ExistingJanus]
) -> None:
    watcher = await join(standalone, peers, "lab")
    sender = await join(standalone, peers, "lab")
    colour = [RED]
    sender.publish_frames(lambda: picture(colour[0]), fps=15)
    frame = await asyncio.wait_for(watcher.next_frame(sender.id), 20)
    assert is_colour(frame.image, RED)
    plane = pool(standalone)
    (dead,) = [j for j in instances if j.url == plane.pins["lab"].url]
    (alive,) = [j for j in instances if j is not dead]
    arrivals: list[float] = []
    watcher.on_frame(lambda _, image: is_colour(image, BLUE) and arrivals.append(time.monotonic()))
    # Blue from now on: a blue frame cannot have come through the dead Janus.
    colour[0] = BLUE
    killed = time.monotonic()
    dead.kill()  # SIGKILL, and nobody starts it again
    await eventually(lambda: arrivals, 15, "the sender's frames through the other Janus")
    print(f"frames flow again {arrivals[0] - killed:.2f} s after the kill")
    assert plane.pins["lab"].url == alive.url
    assert janus_room("lab") in await listed(alive)


@pytest.mark.parametrize("janus_count", [1])
async def test_startup_names_a_wrong_secret_and_retries_an_unreachable_instance(
    instances: list[ExistingJanus],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    urls = [janus.url for janus in instances]
    port = free_port()
    nowhere = f"ws://127.0.0.1:{port}/"

    def settings(**changes: Any) -> SignalingSettings:
        base = {"sfu": "janus", "janus_api_secret": API_SECRET, "janus_admin_key": ADMIN_KEY}
        return SignalingSettings(**{**base, **changes})

    for wrong in ("janus_api_secret", "janus_admin_key"):
        with pytest.raises(JanusUnusable, match=f"refused {wrong}") as refused:
            await start_server(settings(janus_urls=urls, **{wrong: "wrong"}), port=0)
        assert API_SECRET not in str(refused.value) and ADMIN_KEY not in str(refused.value)
    with pytest.raises(JanusUnusable, match="none of janus_urls can be reached"):
        await start_server(settings(janus_urls=[nowhere]), port=0)
    monkeypatch.setattr(pool_module, "RETRY_SECONDS", 0.2)
    with caplog.at_level(logging.ERROR, "nbconference.janus"):
        running = await start_server(settings(janus_urls=[nowhere, urls[0]]), port=0)
    late = None
    try:
        assert f"the Janus at {nowhere} cannot be reached" in caplog.text
        plane = running.registry.sfu
        assert plane is not None and [i.connected for i in plane.instances] == [False, True]
        # It comes up later: it is tried again, and takes rooms from then on.
        config = loopback_configs(2, api_secret=API_SECRET, admin_key=ADMIN_KEY)[1]
        late = await ExistingJanus(replace(config, ws_port=port)).start()
        await eventually(lambda: plane.instances[0].connected, 10, "the late instance")
    finally:
        await running.stop()
        if late is not None:
            late.stop()


@pytest.mark.parametrize("janus_count", [1])
async def test_serve_takes_the_secrets_from_files_and_never_hands_them_out(
    instances: list[ExistingJanus], tmp_path: Path
) -> None:
    (secret_file := tmp_path / "api").write_text(API_SECRET + "\n")
    (key_file := tmp_path / "key").write_text(ADMIN_KEY + "\n")
    urls = json.dumps([instances[0].url])
    server = ServeProcess(
        *("--sfu", "janus", "--mesh-max-peers", "0", "--janus-urls", urls),
        *(f"--janus-api-secret=@{secret_file}", f"--janus-admin-key=@{key_file}"),
        log_dir=tmp_path,
    )
    try:
        await server.ready()
        command = " ".join(psutil.Process(server.pid).cmdline())
        assert "@" in command and API_SECRET not in command and ADMIN_KEY not in command
        alice = Recording(await connect_url(server.url_with_token))
        bob = Recording(await connect_url(server.url_with_token))
        assert (await alice.join("lab"))["media"] == "sfu"
        await bob.join("lab")
        pc, mid = await publish_camera(alice)
        feeds = await bob.next_of("sfu-feeds")
        assert feeds["feeds"] == [{"peer": alice.id, "streams": [{"mid": mid, "kind": "camera"}]}]
        assert janus_room("lab") in await listed(instances[0])
        frames = [repr(frame) for client in (alice, bob) for frame in client.received]
        assert len(frames) > 3
        assert not any(API_SECRET in f or ADMIN_KEY in f for f in frames)
        assert API_SECRET not in server.output() and ADMIN_KEY not in server.output()
        await pc.close()
        alice.close()
        bob.close()
    finally:
        server.stop()
