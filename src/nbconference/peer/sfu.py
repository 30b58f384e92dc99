"""A kernel peer's or recorder's media through the server's SFU (a room that moved).

Two aiortc connections, both negotiated with the ``sfu-*`` frames on our signaling
socket (docs/protocol.md, "SFU"): a publisher (our video, when we send any: aiortc
cannot simulcast, so one layer, at most SFU_VIDEO_HEIGHT lines) and a subscriber that
receives, of the streams the room's ``sfu-feeds`` lists, those somebody here reads
(``wants``): a recorder takes them all, a KernelPeer only what its iterators and callbacks
read, so a class of KernelPeers that only send decodes nothing. The server's
``sfu-offer`` names which of the subscriber's mids carries which peer's stream, which is
how a received track is told apart.

aiortc gathers all its candidates before ``setLocalDescription`` returns, so our SDP
carries them and we never trickle; Janus' trickled candidates are added.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from ..protocol.sfu import (
    SfuClient,
    SfuServer,
    sfu_answer_message,
    sfu_publish_message,
    sfu_subscribe_message,
)
from .link import CLOSE_TIMEOUT, IceSettings
from .publishing import PublishedVideoTrack

log = logging.getLogger("nbconference")

SFU_FRAME_TYPES = frozenset({SfuServer.ANSWER, SfuServer.OFFER, SfuServer.FEEDS, SfuServer.TRICKLE})
# Our one layer through the SFU: every receiver decodes it, in a room past the mesh,
# where a tile is small; the mesh budget's largest step (js/budget.js ROOM_BUDGETS).
SFU_VIDEO_HEIGHT = 360


@dataclass(frozen=True)
class SfuSource:
    """Where a frame received through the SFU came from (what a PeerLink is for a mesh)."""

    peer_id: str


Stream = tuple[str, str]  # (peer id, its mid): one stream of a published feed


class SfuPlane:
    """Our two SFU connections. ``send`` carries a frame to the server; ``on_media(source,
    kind, frame)`` gets every decoded frame (``kind``: camera, screen or audio);
    ``outgoing_video`` makes our video track (None: we only receive, as a recorder);
    ``wants(peer id, kind)`` says whether a stream is read here (it is subscribed to only
    then: call :meth:`update_wants` when the answer may have changed)."""

    def __init__(
        self,
        own_id: str,
        send: Callable[[dict[str, Any]], None],
        ice: IceSettings,
        outgoing_video: Callable[[], MediaStreamTrack] | None,
        on_media: Callable[[SfuSource, str, Any], None],
        wants: Callable[[str, str], bool],
    ) -> None:
        self.own_id = own_id
        self._send = send
        # The room's ICE servers and policy, shared with the mesh: renewed TURN
        # credentials reach the SFU connections made after them too.
        self._ice = ice
        self._outgoing_video = outgoing_video
        self._on_media = on_media
        self._wants = wants
        self.publisher: RTCPeerConnection | None = None
        self.subscriber: RTCPeerConnection | None = None
        self._feeds: dict[str, dict[str, str]] = {}  # peer id -> {its mid: kind}
        self._asked: set[Stream] = set()  # streams we asked for
        # The subscribe or update waiting for its sfu-offer (what it adds and drops).
        self._pending: tuple[set[Stream], set[Stream]] | None = None
        self._carried: dict[str, Stream] = {}  # our mid -> (peer id, its mid)
        self._carried_said = 0  # how many sfu-offers have named our mids (a mid is reused)
        self.frames: dict[str, int] = {}  # frames received, by peer id
        self._live = False  # the room's sfu-feeds listed our own feed
        self.restarts = 0  # times the SFU forgot our feed and we started over
        self._inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._readers: set[asyncio.Task[None]] = set()
        self.closed = False
        self._worker = asyncio.get_running_loop().create_task(self._work())
        if outgoing_video is not None:
            self._inbox.put_nowait({"type": SfuClient.PUBLISH})

    @property
    def connection_state(self) -> str:
        """The subscriber connection's state: the route every received peer takes."""
        return str(self.subscriber.connectionState) if self.subscriber else "new"

    def dispatch(self, frame: dict[str, Any]) -> None:
        """An ``sfu-*`` frame from the server (or an SFU error); handled in arrival order."""
        self._inbox.put_nowait(frame)

    async def _work(self) -> None:
        while (frame := await self._inbox.get()) is not None:
            try:
                await self._handle(frame)
            except Exception as exc:
                # One bad frame must not end the plane: log it and keep the queue going.
                log.warning("nbconference: SFU frame %s failed: %r", frame.get("type"), exc)

    async def _handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == SfuClient.PUBLISH:
            await self._publish()
        elif kind == SfuServer.ANSWER and self.publisher is not None:
            sdp = str(frame["jsep"]["sdp"])
            await self.publisher.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
        elif kind == SfuServer.FEEDS:
            feeds = frame.get("feeds", [])
            if any(feed.get("peer") == self.own_id for feed in feeds):
                self._live = True
            elif self._live:
                await self._restart()
            self._feeds = {
                str(feed["peer"]): {str(s["mid"]): str(s["kind"]) for s in feed["streams"]}
                for feed in feeds
                if feed.get("peer") != self.own_id
            }
            self._asked &= self._published()  # Janus drops a gone feed by itself
            self._ask()
        elif kind == SfuServer.OFFER:
            await self._answer(frame)
        elif kind == SfuServer.TRICKLE:
            await self._candidate(frame)
        elif kind == "error":
            # Our subscribe or update was refused as a whole (a feed went away
            # meanwhile): undo it, and ask again for what is still there.
            if self._pending is not None:
                added, dropped = self._pending
                self._asked = ((self._asked - added) | dropped) & self._published()
                self._pending = None
            self._ask()

    async def _publish(self) -> None:
        assert self._outgoing_video is not None
        pc = self.publisher = RTCPeerConnection(self._ice.configuration())
        track = self._outgoing_video()
        if isinstance(track, PublishedVideoTrack):
            track.show(SFU_VIDEO_HEIGHT)  # scaled down to fit, never up
        transceiver = pc.addTransceiver(track, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        mid = transceiver.mid or "0"
        self._send(sfu_publish_message(pc.localDescription.sdp, [(mid, "camera")]))

    async def _restart(self) -> None:
        """The SFU forgot our feed (its Janus was lost, and the room may have moved to
        another): both connections anew, as a page does."""
        self._live = False
        self.restarts += 1
        publisher, subscriber = self.publisher, self.subscriber
        self.publisher = self.subscriber = None
        self._asked, self._pending, self._carried = set(), None, {}
        await _close_all(publisher, subscriber)
        if self._outgoing_video is not None:
            await self._publish()

    def update_wants(self) -> None:
        """What is read here may have changed: subscribe to it, and drop what is not."""
        if not self.closed:
            self._ask()

    def _published(self) -> set[Stream]:
        return {(peer, mid) for peer, streams in self._feeds.items() for mid in streams}

    def _ask(self) -> None:
        """Bring the subscription to the streams read here (one request in flight)."""
        if self._pending is not None:
            return  # asked again once its sfu-offer (or refusal) comes
        wanted = {
            (peer, mid)
            for peer, streams in self._feeds.items()
            for mid, kind in streams.items()
            if self._wants(peer, kind)
        }
        add, drop = wanted - self._asked, self._asked - wanted
        if not add and not drop:
            return
        if self.subscriber is None and not self._asked:
            self._send(sfu_subscribe_message(sorted(add)))
        else:
            frame: dict[str, Any] = {"type": SfuClient.UPDATE}
            if add:
                frame["subscribe"] = [{"feed": p, "mid": m} for p, m in sorted(add)]
            if drop:
                frame["unsubscribe"] = [{"feed": p, "mid": m} for p, m in sorted(drop)]
            self._send(frame)
        self._asked = (self._asked | add) - drop
        self._pending = (add, drop)

    async def _answer(self, frame: dict[str, Any]) -> None:
        if self.subscriber is None:
            self.subscriber = RTCPeerConnection(self._ice.configuration())
            self.subscriber.on("track", self._on_track)
        self._carried = {
            str(stream["mid"]): (str(stream["feed"]), str(stream["feed_mid"]))
            for stream in frame.get("streams", [])
        }
        self._carried_said += 1
        pc = self.subscriber
        await pc.setRemoteDescription(RTCSessionDescription(str(frame["jsep"]["sdp"]), "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        self._send(sfu_answer_message(pc.localDescription.sdp))
        self._pending = None
        self._ask()

    async def _candidate(self, frame: dict[str, Any]) -> None:
        pc = self.publisher if frame.get("pc") == "publisher" else self.subscriber
        candidate = frame.get("candidate")
        if pc is None or not isinstance(candidate, dict) or not candidate.get("candidate"):
            return
        text = str(candidate["candidate"])
        parsed = candidate_from_sdp(
            text.split(":", 1)[1] if text.startswith("candidate:") else text
        )
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        await pc.addIceCandidate(parsed)

    def _on_track(self, track: MediaStreamTrack) -> None:
        task = asyncio.get_running_loop().create_task(self._read(track))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    def _source_of(self, track: MediaStreamTrack) -> tuple[str, str] | None:
        """(peer id, camera | screen | audio) of a received track, once its mid is known."""
        assert self.subscriber is not None
        for transceiver in self.subscriber.getTransceivers():
            if transceiver.receiver.track is track and transceiver.mid in self._carried:
                peer, feed_mid = self._carried[transceiver.mid]
                kind = self._feeds.get(peer, {}).get(feed_mid)
                return peer, kind or ("audio" if track.kind == "audio" else "camera")
        return None

    async def _read(self, track: MediaStreamTrack) -> None:
        # Always read: aiortc queues decoded frames without bound until someone does.
        source: tuple[str, str] | None = None
        said = -1  # the sfu-offer ``source`` was found in: Janus reuses a dropped mid
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if said != self._carried_said:
                source, said = self._source_of(track), self._carried_said
            if source is None:
                continue  # a track the server named no feed for
            peer, kind = source
            self.frames[peer] = self.frames.get(peer, 0) + 1
            self._on_media(SfuSource(peer), kind, frame)

    async def close(self) -> None:
        """Close both connections and stop every task; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self._inbox.put_nowait(None)
        tasks = [self._worker, *self._readers]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await _close_all(self.publisher, self.subscriber)


async def _close_all(*connections: RTCPeerConnection | None) -> None:
    for pc in connections:
        if pc is not None:
            try:
                await asyncio.wait_for(pc.close(), CLOSE_TIMEOUT)
            except Exception as exc:
                log.warning("nbconference: closing an SFU connection failed: %r", exc)
