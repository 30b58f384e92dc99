"""KernelPeers in a real mesh: real aiortc connections over the real standalone server."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
from aiortc import RTCPeerConnection

from nbconference.peer import KernelPeer, PeerFrame, SignalingError
from nbconference.peer import link as link_module
from nbconference.peer import mesh as mesh_module
from nbconference.protocol import MAX_VIEW_HEIGHT
from nbconference.server.config import SignalingSettings
from nbconference.server.standalone import StandaloneServer, start_server
from support.client import Client, connect_url
from support.polling import eventually, holds

pytest.importorskip("aiortc")

WIDTH, HEIGHT = 320, 240
COLOURS = [(220, 40, 40), (40, 200, 60), (50, 70, 230)]
# VP8 at 4:2:0 shifts flat colours by a few levels; far below the distance between them.
COLOUR_TOLERANCE = 20


def solid(colour: tuple[int, int, int]) -> np.ndarray[Any, np.dtype[np.uint8]]:
    image = np.empty((HEIGHT, WIDTH, 3), np.uint8)
    image[...] = colour
    return image


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    return {"reconnect_grace_seconds": 2.0, "max_peers_per_room": 3}


async def join(
    standalone: StandaloneServer, peers: list[KernelPeer], name: str, **kwargs: Any
) -> KernelPeer:
    peer = await KernelPeer.join(
        "lab", name=name, url=standalone.url, token=standalone.token, **kwargs
    )
    peers.append(peer)
    return peer


def ids(records: list[dict[str, Any]]) -> set[str]:
    """The ids of ``peers`` records."""
    return {record["id"] for record in records}


async def frames_from(peer: KernelPeer, sender: str | None, count: int = 3) -> list[PeerFrame]:
    got: list[PeerFrame] = []
    async for frame in peer.frames(sender):
        got.append(frame)
        if len(got) == count:
            break
    return got


async def test_three_kernel_peers_receive_each_other(
    standalone: StandaloneServer, peers: list[KernelPeer]
) -> None:
    mesh = [await join(standalone, peers, f"k{i}") for i in range(3)]
    for peer, colour in zip(mesh, COLOURS, strict=True):
        peer.publish_frames(lambda c=colour: solid(c), fps=15)

    for receiver in mesh:
        for sender, colour in zip(mesh, COLOURS, strict=True):
            if sender is receiver:
                continue
            got = await asyncio.wait_for(frames_from(receiver, sender.id), 10)
            image = got[-1].image
            assert got[-1].peer_id == sender.id
            assert image.shape == (HEIGHT, WIDTH, 3) and image.dtype == np.uint8
            mean = image.reshape(-1, 3).mean(axis=0)
            assert np.abs(mean - colour).max() < COLOUR_TOLERANCE, (mean, colour)
        assert ids(receiver.peers) == {p.id for p in mesh if p is not receiver}
        assert all(p["camera"] for p in receiver.peers)
        assert all(p["connection"] == "connected" for p in receiver.peers)


async def test_a_peer_leaving_mid_stream_does_not_stop_the_others(
    standalone: StandaloneServer, peers: list[KernelPeer]
) -> None:
    a, b, c = [await join(standalone, peers, name) for name in "abc"]
    for peer, colour in zip((a, b, c), COLOURS, strict=True):
        peer.publish_frames(lambda c=colour: solid(c), fps=15)
    counts: dict[tuple[str, str], int] = defaultdict(int)  # (receiver, sender) -> frames

    def counter(receiver: str) -> Callable[[str, Any], None]:
        def count(sender: str, image: Any) -> None:
            counts[(receiver, sender)] += 1

        return count

    for receiver in (a, b):
        receiver.on_frame(counter(receiver.id))

    async def drain(iterator: AsyncIterator[PeerFrame]) -> int:
        return sum([1 async for _ in iterator])

    leaver_iterator = asyncio.create_task(drain(c.frames()))
    a_from_c = asyncio.create_task(drain(a.frames(c.id)))
    a_from_all = asyncio.create_task(drain(a.frames()))
    await asyncio.wait_for(frames_from(a, c.id, 2), 10)
    await asyncio.wait_for(frames_from(c, b.id, 2), 10)

    left_at = time.monotonic()
    await c.leave()
    assert await asyncio.wait_for(leaver_iterator, 5) > 0, "the leaver's iterator ends"
    assert await asyncio.wait_for(a_from_c, 5) > 0, "an iterator over the leaver ends"
    assert time.monotonic() - left_at < 6

    await asyncio.sleep(0.3)
    before = dict(counts)
    await asyncio.sleep(1.0)
    assert counts[(a.id, b.id)] - before[(a.id, b.id)] >= 5, "a keeps receiving b"
    assert counts[(b.id, a.id)] - before[(b.id, a.id)] >= 5, "b keeps receiving a"
    assert counts[(a.id, c.id)] == before.get((a.id, c.id)), "nothing more from the leaver"
    assert ids(a.peers) == {b.id} and ids(b.peers) == {a.id}
    assert not a_from_all.done(), "the all-peers iterator goes on for the others"
    late = [frame async for frame in a.frames(c.id)]
    assert late == [], "an iterator over a peer who has gone ends at once"
    await a.leave()
    assert await asyncio.wait_for(a_from_all, 5) > 0


async def test_figure_is_published_as_video(
    standalone: StandaloneServer, peers: list[KernelPeer]
) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(3.2, 2.4), dpi=100, facecolor=(0.1, 0.2, 0.9))
    drawn: list[int] = []
    sender = await join(standalone, peers, "figure")
    receiver = await join(standalone, peers, "viewer")
    sender.publish_figure(figure, fps=10, update=drawn.append)
    frame = await receiver.next_frame(sender.id, timeout=10)
    assert frame.image.shape == (240, 320, 3)
    mean = frame.image.reshape(-1, 3).mean(axis=0)
    assert np.abs(mean - (25, 51, 229)).max() < COLOUR_TOLERANCE, mean
    assert drawn and drawn == list(range(len(drawn))), "update(i) runs before each frame"
    await sender.stop_publishing()
    await eventually(
        lambda: receiver.links[sender.id].state["camera"] is False,
        5,
        "the receiver to hear the camera is off",
    )


async def test_signaling_drop_resumes_with_the_same_id(
    standalone: StandaloneServer, peers: list[KernelPeer]
) -> None:
    a = await join(standalone, peers, "a")
    b = await join(standalone, peers, "b")
    a.publish_frames(lambda: solid(COLOURS[0]), fps=15)
    await b.next_frame(a.id, timeout=10)
    old_id = a.id
    assert a._session is not None
    a._session.drop()  # closes with 4001, not 1000: the server keeps our place a while
    await eventually(lambda: a.status == "reconnecting", 2, "a.status == 'reconnecting'")
    await eventually(lambda: a.status == "joined", 5, "a.status == 'joined'")
    assert a.id == old_id
    c = await join(standalone, peers, "c")
    frame = await c.next_frame(a.id, timeout=10)
    assert frame.image.shape == (HEIGHT, WIDTH, 3), "signaling works after the resume"
    assert ids(b.peers) == {a.id, c.id}


async def restart(
    standalone: StandaloneServer, token: str | None = None, **settings: Any
) -> StandaloneServer:
    """A fresh server (no rooms, no resume tokens) on the port of ``standalone``."""
    return await start_server(
        SignalingSettings(**{"reconnect_grace_seconds": 2.0, **settings}),
        host=standalone.host,
        port=standalone.port,
        token=token or standalone.token,
    )


@pytest.fixture
async def restarted() -> AsyncIterator[list[StandaloneServer]]:
    """Servers a test starts in place of ``standalone``, stopped afterwards."""
    started: list[StandaloneServer] = []
    yield started
    for server in started:
        await server.stop()


async def test_a_server_gone_past_the_grace_is_rejoined_as_a_new_peer(
    standalone: StandaloneServer, peers: list[KernelPeer], restarted: list[StandaloneServer]
) -> None:
    a = await join(standalone, peers, "a")
    b = await join(standalone, peers, "b")
    a.publish_frames(lambda: solid(COLOURS[0]), fps=15)
    await b.next_frame(a.id, timeout=10)
    old_a, old_b = a.id, b.id
    left: list[str] = []
    b.on_peer_left(lambda peer: left.append(peer["id"]))
    from_old_a = asyncio.create_task(frames_from(b, old_a, count=10_000))

    await standalone.stop()
    await eventually(
        lambda: a.status == b.status == "reconnecting", 2, "a.status == b.status == 'reconnecting'"
    )
    await asyncio.sleep(2.0 + 0.5)  # past the grace window: the client does not give up
    assert a.status == b.status == "reconnecting"
    assert "cannot reach" in a.error, "while reconnecting, error says why the last try failed"

    restarted.append(await restart(standalone))
    await eventually(
        lambda: a.status == b.status == "joined", 15, "a.status == b.status == 'joined'"
    )
    assert a.id != old_a and b.id != old_b, "the new server made both new peers"
    assert a.error == ""
    await eventually(lambda: ids(b.peers) == {a.id}, 5, "ids(b.peers) == {a.id}")
    assert left == [old_a], "the old peer left when the new welcome came"
    await asyncio.wait_for(from_old_a, 5)  # an iterator over the old id ended
    frame = await b.next_frame(a.id, timeout=10)
    assert frame.image.shape == (HEIGHT, WIDTH, 3), "media flows again, on new links"


async def test_a_refused_token_on_reconnect_stops(
    standalone: StandaloneServer, peers: list[KernelPeer], restarted: list[StandaloneServer]
) -> None:
    a = await join(standalone, peers, "a")
    await standalone.stop()
    restarted.append(await restart(standalone, token="another-token-0123"))
    await eventually(lambda: a.status == "error", 10, "a.status == 'error'")
    assert "refused the token" in a.error


async def test_a_full_room_on_rejoin_stops_only_the_peer_refused(
    standalone: StandaloneServer, peers: list[KernelPeer], restarted: list[StandaloneServer]
) -> None:
    a = await join(standalone, peers, "a")
    b = await join(standalone, peers, "b")
    await standalone.stop()
    restarted.append(await restart(standalone, max_peers_per_room=1))
    await eventually(
        lambda: {a.status, b.status} == {"joined", "error"},
        15,
        "{a.status, b.status} == {'joined', 'error'}",
    )
    refused = a if a.status == "error" else b
    assert "full" in refused.error
    await holds(lambda: refused.status == "error", 1.5, "a fatal join error is not retried")


async def test_a_peer_replaced_by_its_own_resume_token_stops(
    standalone: StandaloneServer, peers: list[KernelPeer]
) -> None:
    a = await join(standalone, peers, "a")
    assert a._session is not None
    thief = Client(await connect_url(f"{standalone.url}?token={standalone.token}"))
    try:
        await thief.join("lab", resume=a._session.welcome["resume"])
        await eventually(lambda: a.status == "error", 5, "a.status == 'error'")
        assert "4000" in a.error
    finally:
        thief.close()


async def test_leaving_while_reconnecting_is_prompt(
    standalone: StandaloneServer, peers: list[KernelPeer]
) -> None:
    a = await join(standalone, peers, "a")
    await standalone.stop()
    await eventually(lambda: a.status == "reconnecting", 2, "a.status == 'reconnecting'")
    await asyncio.sleep(1.0)  # into a backoff wait
    started = time.monotonic()
    await a.leave()
    assert time.monotonic() - started < 1.0 and a.status == "left"


async def test_unknown_peer_error_names_the_peer_that_has_gone() -> None:
    from nbconference.peer.mesh import Mesh
    from nbconference.peer.publishing import VideoPublisher

    gone: list[str] = []
    mesh = Mesh(lambda frame: None, VideoPublisher().track, lambda *_: None, gone.append)
    mesh.welcomed({"id": "me", "peers": [{"id": "p1", "name": "P", "state": {}}]})
    mesh.dispatch({"type": "error", "code": "unknown-peer", "message": "no peer 'x'"})
    mesh.dispatch({"type": "error", "code": "rate-limited", "message": "slow", "peer": "p1"})
    assert set(mesh.peers) == {"p1"}, "only an unknown-peer naming a known peer removes one"
    mesh.dispatch({"type": "error", "code": "unknown-peer", "message": "...", "peer": "p1"})
    assert gone == ["p1"] and mesh.peers == {}


async def test_joining_again_with_the_same_name_replaces_the_earlier_peer(
    standalone: StandaloneServer, peers: list[KernelPeer]
) -> None:
    watcher = await join(standalone, peers, "watcher")
    first = await join(standalone, peers, "notebook")
    second = await join(standalone, peers, "notebook")  # the cell was run again
    assert first.status == "left" and second.status == "joined"
    await eventually(
        lambda: [p["id"] for p in watcher.peers] == [second.id],
        5,
        "the watcher to see only the second run's peer",
    )


async def test_every_on_callback_returns_its_remover(
    standalone: StandaloneServer, peers: list[KernelPeer]
) -> None:
    watcher = await join(standalone, peers, "watcher")
    heard: list[str] = []
    removers = [
        watcher.on_peer_joined(lambda peer: heard.append(f"joined {peer['name']}")),
        watcher.on_peer_left(lambda peer: heard.append(f"left {peer['name']}")),
        watcher.on_frame(lambda peer_id, image: heard.append("frame")),
        watcher.on_audio(lambda peer_id, samples, rate: heard.append("audio")),
    ]
    first = await join(standalone, peers, "first")
    first.publish_frames(lambda: solid(COLOURS[0]), fps=15)
    await eventually(lambda: "frame" in heard, 10, "'frame' in heard")
    await first.leave()
    await eventually(lambda: "left first" in heard, 5, "'left first' in heard")
    assert heard[0] == "joined first"
    for remove in removers:
        remove()
        remove()  # removing twice is harmless
    heard.clear()
    second = await join(standalone, peers, "second")
    second.publish_frames(lambda: solid(COLOURS[1]), fps=15)
    await watcher.next_frame(second.id, timeout=10)
    await second.leave()
    await holds(lambda: heard == [], 0.3, "nothing is heard after removal")


SCRIPT = """
import asyncio, sys
import numpy as np
from nbconference import KernelPeer

async def main(url, token):
    async with KernelPeer("lab", name="script", url=url, token=token) as peer:
        peer.publish_frames(lambda: np.full((240, 320, 3), 90, np.uint8), fps=15)
        frame = await peer.next_frame(timeout=20)
        print(peer.status, frame.image.shape, flush=True)
    print(peer.status, flush=True)

asyncio.run(main(*sys.argv[1:]))
"""


async def test_a_plain_script_joins_with_asyncio_run(
    standalone: StandaloneServer, peers: list[KernelPeer]
) -> None:
    watcher = await join(standalone, peers, "watcher")
    watcher.publish_frames(lambda: solid(COLOURS[0]), fps=15)
    left: list[str] = []
    watcher.on_peer_left(lambda peer: left.append(peer["name"]))
    script = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SCRIPT,
        standalone.url,
        standalone.token,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        output, _ = await asyncio.wait_for(script.communicate(), 60)
    finally:
        if script.returncode is None:
            script.kill()
            await script.wait()
    assert output.decode().splitlines() == ["joined (240, 320, 3)", "left"]
    assert script.returncode == 0
    await eventually(lambda: left == ["script"], 5, "async with to leave the room on the way out")


async def test_wrong_token_is_refused_clearly(standalone: StandaloneServer) -> None:
    with pytest.raises(SignalingError, match="refused the token") as info:
        await KernelPeer.join("lab", url=standalone.url, token="wrong")
    assert info.value.code == "forbidden"


async def test_a_server_http_url_leads_to_its_signaling(
    standalone: StandaloneServer, peers: list[KernelPeer]
) -> None:
    url = f"http://{standalone.host}:{standalone.port}/"
    peer = await KernelPeer.join("lab", url=url, token=standalone.token)
    peers.append(peer)
    assert peer.status == "joined"


async def test_wrong_path_says_no_signaling_there(standalone: StandaloneServer) -> None:
    url = standalone.url.replace("/nbconference/signal", "/elsewhere")
    with pytest.raises(SignalingError, match="no nbconference signaling") as info:
        await KernelPeer.join("lab", url=url, token=standalone.token)
    assert info.value.code == "not-found"


async def test_closed_port_fails_fast() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(SignalingError, match="cannot reach") as info:
        await KernelPeer.join("lab", url=f"ws://127.0.0.1:{port}/nbconference/signal", token="t")
    assert info.value.code == "unreachable"
    assert time.monotonic() - started < 3


async def test_silent_server_times_out_within_the_bound() -> None:
    with socket.socket() as silent:  # accepts TCP connections but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"ws://127.0.0.1:{silent.getsockname()[1]}/nbconference/signal"
        started = time.monotonic()
        with pytest.raises(SignalingError, match="within 1 s") as info:
            await KernelPeer.join("lab", url=url, token="t", timeout=1.0)
    assert info.value.code == "timeout"
    assert time.monotonic() - started < 2.5


async def test_full_room_is_refused(standalone: StandaloneServer, peers: list[KernelPeer]) -> None:
    for name in "abc":
        await join(standalone, peers, name)
    with pytest.raises(SignalingError, match="full") as info:
        await join(standalone, peers, "d")
    assert info.value.code == "room-full"


async def test_outside_a_kernel_without_url_says_what_to_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NBCONFERENCE_SIGNALING_URL", raising=False)
    with pytest.raises(SignalingError, match="url= and token=") as info:
        await KernelPeer.join("lab")
    assert info.value.code == "no-server"


def test_bad_room_names_are_refused_before_connecting() -> None:
    with pytest.raises(ValueError, match="room"):
        KernelPeer("no spaces")


async def test_kernel_peers_send_only_what_is_read_and_at_its_size(
    standalone: StandaloneServer, peers: list[KernelPeer]
) -> None:
    """A KernelPeer asks each peer for what its subscriptions read: the whole picture for a
    peer it reads, nothing for one it does not; a sender honours both on that link."""
    sender = await join(standalone, peers, "sender")
    sender.publish_frames(lambda: np.zeros((480, 640, 3), np.uint8), fps=30)
    reader = await join(standalone, peers, "reader")
    idle = await join(standalone, peers, "idle")
    await eventually(lambda: idle.id in sender.links, 10, "the sender's link to idle")

    async def stalled(to: str) -> bool:
        before = sender.links[to].frames_sent
        await asyncio.sleep(0.5)
        return sender.links[to].frames_sent == before

    # Nobody reads the sender yet: neither link gets frames once the requests arrive.
    for to in (reader.id, idle.id):
        await eventually(lambda t=to: sender.links[t].shows_us == 0, 10, f"{to} to ask for 0")
        await eventually(lambda t=to: stalled(t), 5, f"the sender to stop sending {to}")

    # The reader reads: it asks for the whole picture and gets it; idle still gets nothing.
    got = await asyncio.wait_for(frames_from(reader, sender.id, 5), 10)
    assert {frame.image.shape for frame in got} == {(480, 640, 3)}
    assert sender.links[reader.id].shows_us == MAX_VIEW_HEIGHT
    assert await stalled(idle.id)


async def test_each_link_gets_the_picture_at_the_size_its_receiver_shows() -> None:
    from nbconference.peer.publishing import VideoPublisher

    publisher = VideoPublisher()
    full, small, hidden = publisher.track(), publisher.track(), publisher.track()
    small.show(200)  # 720 / 3 = 240 is the smallest step at least 200 high
    hidden.show(0)
    publisher.push(np.zeros((720, 1280, 3), np.uint8))
    assert (await full.recv()).height == 720
    frame = await small.recv()
    assert (frame.width, frame.height) == (426, 240)
    assert (await small.recv()).height == 240  # the repeat after a second, scaled too
    waiting = asyncio.ensure_future(hidden.recv())
    await holds(
        lambda: not waiting.done(), 0.3, "a link whose receiver shows nothing gets no frame"
    )
    hidden.show(1000)
    assert (await asyncio.wait_for(waiting, 1)).height == 720, "back in sight at once"
    assert hidden.frames_sent == 1 and small.frames_sent == 2


async def test_leaving_is_not_held_by_a_connection_that_never_closes(
    standalone: StandaloneServer, peers: list[KernelPeer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiortc's close has been seen to take over 30 s on a loaded machine: leaving waits
    for it at most CLOSE_TIMEOUT, then goes on (it raised TimeoutError out of ``leave``)."""
    monkeypatch.setattr(link_module, "CLOSE_TIMEOUT", 0.3)
    monkeypatch.setattr(mesh_module, "CLOSE_TIMEOUT", 0.3)
    monkeypatch.setattr(mesh_module, "CLOSE_MARGIN", 0.3)
    ada = await join(standalone, peers, "ada")
    bob = await join(standalone, peers, "bob")
    ada.publish_frames(lambda: solid(COLOURS[0]), fps=15)
    await bob.next_frame(ada.id, timeout=15)
    stuck = [p.link.pc for p in bob.links.values() if p.link is not None]
    assert stuck
    close = RTCPeerConnection.close

    async def never(self: RTCPeerConnection) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(RTCPeerConnection, "close", never)
    started = time.monotonic()
    await asyncio.wait_for(bob.leave(), 5)
    assert bob.status == "left"
    assert time.monotonic() - started < 2.0
    monkeypatch.setattr(RTCPeerConnection, "close", close)
    await asyncio.gather(*(close(pc) for pc in stuck))  # for real, now
