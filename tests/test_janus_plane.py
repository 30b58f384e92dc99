"""The SFU plane through our own socket: aiortc clients publish and subscribe with the
``sfu-*`` frames on a standalone server that runs its own Janus, and never see Janus."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc import RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from nbconference.protocol import ProtocolError, parse_client_message
from nbconference.protocol.sfu import (
    MAX_SFU_STREAMS,
    Carried,
    Configure,
    Published,
    SfuTrickle,
    SfuUpdate,
    Wanted,
    sfu_answer_message,
    sfu_configure_message,
    sfu_feeds_frame,
    sfu_jsep_frame,
    sfu_publish_message,
    sfu_subscribe_message,
    sfu_trickle_frame,
)
from nbconference.server.config import SignalingSettings
from nbconference.server.janus import JanusClient
from nbconference.server.janus.plane import janus_room
from nbconference.server.standalone import StandaloneServer, start_server
from support.client import connect_url
from support.janus import (
    Recording,
    loopback_config,
    needs_janus,
    publish_camera,
    rtc,
    subscribe_to,
)
from support.node import module_url, needs_node, run_module
from support.polling import eventually

TOKEN = "sfu-plane-test-token-0123456789abcdef"


JANUS_LISTED: dict[str, dict[str, Any]] = {}  # the last listing of each Janus room


@pytest.fixture
async def server() -> AsyncIterator[StandaloneServer]:
    settings = SignalingSettings(sfu="janus", janus_rtp_port_range=loopback_config().rtp_port_range)
    running = await start_server(settings, port=0, token=TOKEN)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def janus(server: StandaloneServer) -> AsyncIterator[JanusClient]:
    """Our own look at the server's Janus (its secrets are the test's to read)."""
    assert server.janus is not None
    client = await JanusClient.connect(server.janus.url, server.janus.config.api_secret)
    try:
        yield client
    finally:
        await client.close()


async def janus_rooms(server: StandaloneServer, janus: JanusClient) -> set[str]:
    assert server.janus is not None
    session = await janus.create()
    try:
        handle = await session.attach()
        body = {"request": "list", "admin_key": server.janus.config.admin_key}
        data, _ = await handle.message(body)
        JANUS_LISTED.update({str(room["room"]): room for room in data["list"]})
        return {str(room["room"]) for room in data["list"]}
    finally:
        await session.destroy()


async def joined(server: StandaloneServer, room: str) -> Recording:
    client = Recording(await connect_url(f"{server.url}?token={TOKEN}"))
    await client.join(room)
    return client


def assert_no_secret(server: StandaloneServer, *clients: Recording) -> int:
    assert server.janus is not None
    secrets = (server.janus.config.api_secret, server.janus.config.admin_key)
    frames = [repr(frame) for client in clients for frame in client.received]
    for secret in secrets:
        assert not any(secret in frame for frame in frames)
    return len(frames)


@needs_janus
async def test_a_camera_reaches_a_subscriber_through_our_socket(
    server: StandaloneServer, janus: JanusClient
) -> None:
    alice, bob = await joined(server, "lab"), await joined(server, "lab")
    publisher, mid = await publish_camera(alice)
    feeds = await bob.next_of("sfu-feeds")
    assert feeds["feeds"] == [{"peer": alice.id, "streams": [{"mid": mid, "kind": "camera"}]}]
    assert janus_room("lab") in await janus_rooms(server, janus)
    listed = JANUS_LISTED[janus_room("lab")]
    assert listed["max_publishers"] == server.registry.limits.max_peers_per_room, listed
    assert listed["record"] is False and listed["lock_record"] is True, listed

    subscriber = rtc()
    tracks: asyncio.Queue[MediaStreamTrack] = asyncio.Queue()
    subscriber.on("track", tracks.put_nowait)
    asked = time.monotonic()
    await bob.send(sfu_subscribe_message([(alice.id, mid)]))
    offer = await bob.next_of("sfu-offer")
    await subscriber.setRemoteDescription(RTCSessionDescription(offer["jsep"]["sdp"], "offer"))
    await subscriber.setLocalDescription(await subscriber.createAnswer())
    await bob.send(sfu_answer_message(subscriber.localDescription.sdp))
    track = await asyncio.wait_for(tracks.get(), 10)
    first = await asyncio.wait_for(track.recv(), 15)
    to_first = time.monotonic() - asked
    frames, started = 1, time.monotonic()
    while time.monotonic() - started < 2.0:
        await asyncio.wait_for(track.recv(), 5)
        frames += 1
    print(f"first frame {to_first:.2f} s after sfu-subscribe; {frames} frames in 2 s")
    assert first.width > 0 and frames >= 20

    await alice.send({"type": "leave"})
    # The feed is gone, and Janus renegotiates the subscriber connection by itself: its
    # offer reaches bob too (in either order).
    after = {(await bob.recv())["type"] for _ in range(3)}
    assert {"sfu-feeds", "sfu-offer", "peer-left"} == after
    assert [f for f in bob.received if f["type"] == "sfu-feeds"][-1]["feeds"] == []
    await bob.send({"type": "leave"})
    await eventually(
        lambda: _gone(server, janus, "lab"), 10, "the Janus room destroyed with its last peer"
    )
    assert assert_no_secret(server, alice, bob) > 3
    await publisher.close()
    await subscriber.close()


async def _gone(server: StandaloneServer, janus: JanusClient, room: str) -> bool:
    return janus_room(room) not in await janus_rooms(server, janus)


@needs_janus
async def test_a_client_cannot_reach_another_rooms_feed(
    server: StandaloneServer, janus: JanusClient
) -> None:
    alice, mallory = await joined(server, "lab"), await joined(server, "other")
    publisher, mid = await publish_camera(alice)
    await eventually(lambda: _live(server, "lab", alice.id), 10, "alice's feed live")
    await mallory.send(sfu_subscribe_message([(alice.id, mid)]))
    refused = await mallory.expect_error("sfu-refused")
    assert refused["peer"] == alice.id and "room 'other'" in refused["message"]
    await mallory.send({"type": "sfu-update", "subscribe": [{"feed": alice.id}]})
    await mallory.expect_error("sfu-refused")
    await mallory.silent()
    assert not any(frame["type"].startswith("sfu-") for frame in mallory.received)
    assert janus_room("other") not in await janus_rooms(server, janus)
    assert_no_secret(server, alice, mallory)
    await publisher.close()


@needs_janus
async def test_janus_fields_are_refused_and_never_reach_janus(
    server: StandaloneServer, janus: JanusClient
) -> None:
    mallory = await joined(server, "quiet")
    publish = sfu_publish_message("v=0\r\n", [("0", "camera")])
    hostile: list[dict[str, Any]] = [{"janus": "create"}, {"type": "sfu-unpublish", "janus": "x"}]
    for key in ("janus", "admin_key", "room", "secret"):
        hostile.append({**publish, key: "lab"})
        hostile.append({**publish, "jsep": {**publish["jsep"], key: "lab"}})
        hostile.append({**publish, "streams": [{"mid": "0", "kind": "camera", key: "lab"}]})
        hostile.append({"type": "sfu-subscribe", "streams": [{"feed": "x", key: "lab"}]})
    for frame in hostile:
        await mallory.send(frame)
        error = await mallory.expect_error("bad-message")
        assert "field" in error["message"] or "type" in error["message"], error
    assert server.registry.sfu is not None and "quiet" not in server.registry.sfu.rooms
    assert janus_room("quiet") not in await janus_rooms(server, janus)
    # The same frames without the foreign field do reach Janus.
    publisher, _ = await publish_camera(mallory)
    assert janus_room("quiet") in await janus_rooms(server, janus)
    assert_no_secret(server, mallory)
    await publisher.close()


async def test_sfu_frames_without_an_sfu_are_answered_sfu_unavailable() -> None:
    running = await start_server(SignalingSettings(), port=0, token=TOKEN)
    try:
        client = await joined(running, "lab")
        await client.send(sfu_subscribe_message([("someone", None)]))
        error = await client.expect_error("sfu-unavailable")
        assert "sfu" in error["message"]
    finally:
        await running.stop()


def _live(server: StandaloneServer, room: str, peer_id: str) -> bool:
    plane = server.registry.sfu
    state = plane.rooms.get(room, {}).get(peer_id) if plane is not None else None
    return state is not None and state.live


@needs_janus
async def test_a_dropped_publisher_is_cleaned_up_after_the_grace() -> None:
    grace = 1.0
    settings = SignalingSettings(
        sfu="janus",
        janus_rtp_port_range=loopback_config().rtp_port_range,
        reconnect_grace_seconds=grace,
    )
    running = await start_server(settings, port=0, token=TOKEN)
    try:
        assert running.janus is not None
        client = await JanusClient.connect(running.janus.url, running.janus.config.api_secret)
        alice = await joined(running, "lab")
        publisher, _ = await publish_camera(alice)
        assert janus_room("lab") in await janus_rooms(running, client)
        dropped = time.monotonic()
        alice.drop()
        await eventually(lambda: _gone(running, client, "lab"), 10, "the room gone after grace")
        assert time.monotonic() - dropped >= grace  # kept for a resume until then
        await client.close()
        await publisher.close()
    finally:
        await running.stop()


@needs_janus
async def test_sfu_update_drops_and_adds_a_stream(server: StandaloneServer) -> None:
    alice, bob = await joined(server, "lab"), await joined(server, "lab")
    publisher, mid = await publish_camera(alice)
    await bob.next_of("sfu-feeds")
    subscriber = rtc()
    await subscribe_to(bob, subscriber, alice.id, mid)
    drop = {"type": "sfu-update", "unsubscribe": [{"feed": alice.id, "mid": mid}]}
    await bob.send(drop)
    dropped = (await bob.next_of("sfu-offer"))["jsep"]["sdp"]
    assert "a=inactive" in dropped or "m=video 0 " in dropped, dropped
    await subscriber.setRemoteDescription(RTCSessionDescription(dropped, "offer"))
    await subscriber.setLocalDescription(await subscriber.createAnswer())
    await bob.send(sfu_answer_message(subscriber.localDescription.sdp))  # Janus waits for it
    await bob.send({"type": "sfu-update", "subscribe": [{"feed": alice.id, "mid": mid}]})
    added = (await bob.next_of("sfu-offer"))["jsep"]["sdp"]
    assert added.count("m=video") >= 1 and "a=sendonly" in added, added
    assert_no_secret(server, alice, bob)
    await publisher.close()
    await subscriber.close()


def refused(frame: dict[str, Any], max_bytes: int = 16384) -> str:
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(json.dumps(frame), max_bytes)
    return str(caught.value.code)


def test_the_sfu_frames_are_parsed_strictly_and_bounded() -> None:
    publish = sfu_publish_message("v=0\r\n", [("0", "camera")])
    assert refused(publish, max_bytes=40) == "too-large"
    many = [("m" + str(i), "camera") for i in range(MAX_SFU_STREAMS + 1)]
    assert refused(sfu_publish_message("v=0", many)) == "bad-message"
    assert refused(sfu_publish_message("v=0", [("0", "hologram")])) == "bad-message"
    assert refused(sfu_publish_message("v=0", [("0 1", "camera")])) == "bad-message"
    assert refused({**publish, "jsep": {"type": "answer", "sdp": "v=0"}}) == "bad-message"
    assert refused({"type": "sfu-subscribe", "streams": [{"feed": "a/b"}]}) == "bad-message"
    assert refused({"type": "sfu-trickle", "pc": "janus", "candidate": None}) == "bad-message"
    text = "candidate:1 1 udp 1 127.0.0.1 9 typ host"
    browser = {"candidate": text, "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "u"}
    kept = parse_client_message(
        json.dumps({"type": "sfu-trickle", "pc": "publisher", "candidate": browser}), 999
    )
    assert kept == SfuTrickle("publisher", {"candidate": text, "sdpMid": "0", "sdpMLineIndex": 0})
    extra = {"candidate": text, "janus": "trickle"}
    assert refused({"type": "sfu-trickle", "pc": "publisher", "candidate": extra}) == (
        "bad-message"
    )
    done = parse_client_message('{"type":"sfu-trickle","pc":"subscriber","candidate":null}', 99)
    assert done == SfuTrickle("subscriber", None)


def test_layers_are_parsed_strictly_and_bounded() -> None:
    update = sfu_configure_message([("p1", "0", 2)])
    assert parse_client_message(json.dumps(update), 999) == SfuUpdate(
        (), (), (Configure("p1", "0", 2),)
    )
    wanted = {"type": "sfu-subscribe", "streams": [{"feed": "p1", "mid": "1", "substream": 0}]}
    assert parse_client_message(json.dumps(wanted), 999).streams == (Wanted("p1", "1", 0),)
    for layer in (3, -1, True, "1", 1.0, None):
        entry = {"feed": "p1", "mid": "0", "substream": layer}
        assert refused({"type": "sfu-update", "configure": [entry]}) == "bad-message", layer
        if layer is not None:
            bad = {"type": "sfu-subscribe", "streams": [{"feed": "p1", "substream": layer}]}
            assert refused(bad) == "bad-message", layer
    for entry in ({"feed": "p1", "substream": 0}, {"mid": "0", "substream": 0}, ["p1"]):
        assert refused({"type": "sfu-update", "configure": [entry]}) == "bad-message", entry
    extra = {"feed": "p1", "mid": "0", "substream": 0, "temporal": 1}
    assert refused({"type": "sfu-update", "configure": [extra]}) == "bad-message"
    many = [("p1", str(i), 0) for i in range(MAX_SFU_STREAMS + 1)]
    assert refused(sfu_configure_message(many)) == "bad-message"


@needs_node
def test_the_pages_sfu_frames_are_read_by_the_server_and_back() -> None:
    server_frames = [
        sfu_jsep_frame("answer", "v=0a"),
        sfu_jsep_frame("offer", "v=0o", [Carried("3", "p1", "0")]),
        sfu_feeds_frame({"p1": [Published("0", "camera"), Published("1", "audio")]}),
        sfu_trickle_frame("subscriber", None),
    ]
    result = run_module(
        f"""
        import * as p from {json.dumps(module_url("protocol.js"))};
        const frames = {json.dumps(server_frames)};
        console.log(JSON.stringify({{
          made: [
            p.sfuPublishMessage("v=0", [{{ mid: "0", kind: "camera" }}]),
            p.sfuSubscribeMessage([{{ feed: "p1", mid: "0" }}, {{ feed: "p2" }}]),
            p.sfuUpdateMessage([{{ feed: "p1" }}], [{{ feed: "p2", mid: "1" }}]),
            p.sfuUpdateMessage([{{ feed: "p1", substream: 0 }}], [], [
              {{ feed: "p2", mid: "3", substream: 2 }},
            ]),
            p.sfuAnswerMessage("v=0"),
            p.sfuTrickleMessage("publisher", {{ candidate: "c", sdpMid: "0", sdpMLineIndex: 0 }}),
            p.sfuUnpublishMessage(),
          ],
          read: frames.map((text) => p.readSfuFrame(JSON.parse(text))),
        }}));
        """
    )
    for frame in result["made"]:
        parse_client_message(json.dumps(frame), 16384)  # raises if the server refuses it
    assert [r["type"] for r in result["read"]] == [
        "sfu-answer",
        "sfu-offer",
        "sfu-feeds",
        "sfu-trickle",
    ]
    assert result["read"][2]["feeds"] == [
        {"peer": "p1", "streams": [{"mid": "0", "kind": "camera"}, {"mid": "1", "kind": "audio"}]}
    ]
    assert result["read"][1]["sdp"] == "v=0o" and result["read"][3]["candidate"] is None
    assert result["read"][1]["streams"] == [{"mid": "3", "feed": "p1", "feed_mid": "0"}]
    layered = parse_client_message(json.dumps(result["made"][3]), 16384)
    assert layered == SfuUpdate((Wanted("p1", None, 0),), (), (Configure("p2", "3", 2),))


@needs_janus
async def test_after_janus_restarts_the_room_is_told_and_a_peer_publishes_again(
    server: StandaloneServer,
) -> None:
    assert server.janus is not None
    alice, bob = await joined(server, "lab"), await joined(server, "lab")
    first, _ = await publish_camera(alice)
    await bob.next_of("sfu-feeds")
    killed = time.monotonic()
    os.kill(server.janus.pid or 0, signal.SIGKILL)
    assert (await bob.next_of("sfu-feeds"))["feeds"] == []  # the feed died with Janus
    await eventually(lambda: server.janus is not None and server.janus.restarts, 10, "restart")
    again, mid = await publish_camera(alice)
    feeds = await bob.next_of("sfu-feeds")
    print(f"published again {time.monotonic() - killed:.2f} s after Janus was killed")
    assert feeds["feeds"] == [{"peer": alice.id, "streams": [{"mid": mid, "kind": "camera"}]}]
    assert_no_secret(server, alice, bob)
    await first.close()
    await again.close()


@needs_janus
async def test_a_second_sfu_subscribe_is_a_new_subscriber_connection(
    server: StandaloneServer,
) -> None:
    """A page that starts over (its SFU was away) subscribes again before its old
    subscriber connection ever came up: it gets an offer of its own, the first one's
    handle gone (an update of that handle would wait for a connection nobody has)."""
    alice, bob = await joined(server, "lab"), await joined(server, "lab")
    publisher, mid = await publish_camera(alice)
    await bob.next_of("sfu-feeds")
    await bob.send(sfu_subscribe_message([(alice.id, mid)]))
    await bob.next_of("sfu-offer")  # never answered: that connection is given up
    await bob.send(sfu_subscribe_message([(alice.id, mid)]))
    offer = await bob.next_of("sfu-offer")
    subscriber = rtc()
    tracks: asyncio.Queue[MediaStreamTrack] = asyncio.Queue()
    subscriber.on("track", tracks.put_nowait)
    await subscriber.setRemoteDescription(RTCSessionDescription(offer["jsep"]["sdp"], "offer"))
    await subscriber.setLocalDescription(await subscriber.createAnswer())
    await bob.send(sfu_answer_message(subscriber.localDescription.sdp))
    track = await asyncio.wait_for(tracks.get(), 10)
    frame = await asyncio.wait_for(track.recv(), 15)
    assert frame.width > 0
    sfu = server.registry.sfu
    assert sfu is not None
    assert [s.subscriber is not None for s in sfu.rooms["lab"].values()].count(True) == 1
    await publisher.close()
    await subscriber.close()


@needs_janus
async def test_a_layer_is_configured_only_on_a_mid_of_that_subscriber(
    server: StandaloneServer,
) -> None:
    alice, bob = await joined(server, "lab"), await joined(server, "lab")
    carol = await joined(server, "lab")
    publisher, mid = await publish_camera(alice)
    await bob.next_of("sfu-feeds")
    # Bob's subscriber connection carries alice's camera, asked for at the lowest layer.
    subscriber = rtc()
    wanted = {"type": "sfu-subscribe", "streams": [{"feed": alice.id, "mid": mid, "substream": 0}]}
    await bob.send(wanted)
    offer = await bob.next_of("sfu-offer")
    assert [(s["feed"], s["feed_mid"]) for s in offer["streams"]] == [(alice.id, mid)]
    carried = offer["streams"][0]["mid"]
    await subscriber.setRemoteDescription(RTCSessionDescription(offer["jsep"]["sdp"], "offer"))
    await subscriber.setLocalDescription(await subscriber.createAnswer())
    await bob.send(sfu_answer_message(subscriber.localDescription.sdp))

    # A mid that is not one of bob's, a feed that mid does not carry, and a peer with
    # no feed: refused by the server, before Janus.
    for feed, other_mid in ((alice.id, "7"), (carol.id, carried), ("nobody", carried)):
        await bob.send(sfu_configure_message([(feed, other_mid, 1)]))
        refused = await bob.expect_error("sfu-refused")
        assert refused["peer"] == feed and "does not carry" in refused["message"], refused
    # Carol has no subscriber connection at all.
    await carol.send(sfu_configure_message([(alice.id, carried, 1)]))
    await carol.next_of("error", code="sfu-refused")
    plane = server.registry.sfu
    assert plane is not None and plane.rooms["lab"][bob.id].layers == {}

    # Bob's own mid for alice's camera: Janus configures it, and answers.
    await bob.send(sfu_configure_message([(alice.id, carried, 2)]))
    await eventually(
        lambda: plane.rooms["lab"][bob.id].layers == {carried: 2}, 10, "Janus configured it"
    )
    await bob.silent()
    assert_no_secret(server, alice, bob, carol)
    await publisher.close()
    await subscriber.close()
