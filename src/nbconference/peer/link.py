"""One aiortc RTCPeerConnection between the kernel peer and one remote peer.

Negotiation follows the mesh rule: the peer already in the room offers to the newcomer.
Later offers (a browser starting a screen share) are answered with perfect negotiation:
the polite side is the peer whose id sorts larger. aiortc cannot roll back a local offer,
so a polite link facing crossed offers starts over with a fresh connection; that only
happens before the first answer, when there is no media to lose.

aiortc gathers all its candidates before ``setLocalDescription`` returns, so our SDP
carries them and we never trickle; the browser's trickled candidates are added here.

The view channel (an RTCDataChannel the first offer opens) carries each side's request:
how large it shows the other's camera and screen. We ask for what the kernel peer's
subscriptions consume (:meth:`PeerLink.want`), and our video track for this link honours
what the remote peer asks (``video_track.show``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import candidate_from_sdp

from ..protocol import (
    ICE_TRANSPORT_ALL,
    ICE_TRANSPORT_RELAY,
    VIEW_CHANNEL,
    ViewRequest,
    parse_view_request,
    view_request,
)
from .publishing import PublishedVideoTrack

log = logging.getLogger("nbconference")

# Closing a connection joins its receivers' decoder threads, which first drain their
# queues: seconds on a loaded machine. A caller that stopped waiting earlier could end its
# event loop with the close half done and leave a thread that keeps the process alive.
CLOSE_TIMEOUT = 30.0


class MediaSource(Protocol):
    """Where a received frame came from: a mesh link, or the SFU (sfu.py's SfuSource)."""

    @property
    def peer_id(self) -> str: ...


def ice_configuration(
    ice_servers: list[dict[str, Any]], policy: str = ICE_TRANSPORT_ALL
) -> RTCConfiguration:
    """RTCIceServer dicts and the ICE transport policy from ``welcome`` as aiortc
    configuration. aiortc uses the first TURN URL only (turn_urls' order decides)."""
    servers = [
        RTCIceServer(
            urls=server["urls"],
            username=server.get("username"),
            credential=server.get("credential"),
        )
        for server in ice_servers
        if isinstance(server, dict) and server.get("urls")
    ]
    relay = policy == ICE_TRANSPORT_RELAY
    return RTCConfiguration(
        iceServers=servers,
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay else RTCIceTransportPolicy.ALL,
    )


@dataclass
class IceSettings:
    """The ICE servers and policy the server gave, shared by the links of one room: the
    server renews TURN credentials (``ice-servers``), and every connection made after
    that uses the new ones."""

    servers: list[dict[str, Any]] = field(default_factory=list)
    policy: str = ICE_TRANSPORT_ALL

    def configuration(self) -> RTCConfiguration:
        return ice_configuration(self.servers, self.policy)


class PeerLink:
    """Media with one remote peer.

    ``send`` carries a signal payload (``{"description": ...}``) to the remote peer;
    ``outgoing_video`` makes our video track for this link (None: we send no video at all,
    as a recorder does, and only receive);
    ``on_media(link, kind, frame)`` receives every decoded frame, where ``kind`` is
    ``camera`` (the peer's first video track), ``screen`` (any later one) or ``audio``.
    """

    def __init__(
        self,
        peer_id: str,
        polite: bool,
        ice: IceSettings,
        outgoing_video: Callable[[], MediaStreamTrack] | None,
        send: Callable[[dict[str, Any]], None],
        on_media: Callable[[PeerLink, str, Any], None],
    ) -> None:
        self.peer_id = peer_id
        self.polite = polite
        self._ice = ice
        self._outgoing_video = outgoing_video
        self._send = send
        self._on_media = on_media
        self._inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._readers: set[asyncio.Task[None]] = set()
        self._retiring: set[asyncio.Task[None]] = set()  # replaced connections, closing
        self._ignore_offer = False
        self._video_tracks = 0
        self._channel: RTCDataChannel | None = None
        self._wants = ViewRequest(0, 0)
        self._wants_said = False  # whether we have said what we want (send on open)
        self.asked: ViewRequest | None = None  # how large the remote peer shows us
        self.video_track: MediaStreamTrack | None = None  # ours, on this link
        self.collisions = 0  # crossed offers seen: how often perfect negotiation was needed
        self.closed = False
        self.pc = self._new_connection()
        self._worker = asyncio.get_running_loop().create_task(self._work())

    @property
    def connection_state(self) -> str:
        return str(self.pc.connectionState)

    @property
    def frames_sent(self) -> int:
        """Frames of our video this link's track has handed to its encoder."""
        track = self.video_track
        return track.frames_sent if isinstance(track, PublishedVideoTrack) else 0

    def offer(self) -> None:
        """Start the first negotiation from our side (we were in the room first)."""
        self._inbox.put_nowait({"offer": True})

    def handle_signal(self, data: dict[str, Any]) -> None:
        """A ``signal`` payload from the remote peer; handled in arrival order."""
        self._inbox.put_nowait(data)

    def want(self, camera: int, screen: int) -> None:
        """Ask the remote peer for its camera and screen at these heights (0: none)."""
        wants = ViewRequest(camera, screen)
        if wants == self._wants and self._wants_said:
            return
        self._wants, self._wants_said = wants, True
        self._send_wants()

    def _new_connection(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(self._ice.configuration())
        pc.on("track", self._on_track)
        pc.on("datachannel", self._open_channel)
        return pc

    def _outgoing(self) -> MediaStreamTrack:
        """A new video track for this link, honouring what the remote peer asked so far."""
        assert self._outgoing_video is not None
        track = self._outgoing_video()
        self.video_track = track
        self._show_asked()
        return track

    def _open_channel(self, channel: RTCDataChannel) -> None:
        if channel.label != VIEW_CHANNEL:
            return
        self._channel = channel
        channel.on("open", self._send_wants)
        channel.on("message", self._on_view)
        if channel.readyState == "open":  # a channel the remote side opened
            self._send_wants()

    def _send_wants(self) -> None:
        channel = self._channel
        if self._wants_said and channel is not None and channel.readyState == "open":
            channel.send(view_request(self._wants.camera, self._wants.screen))

    def _on_view(self, message: object) -> None:
        asked = parse_view_request(message)
        if asked is not None:
            self.asked = asked
            self._show_asked()

    def _show_asked(self) -> None:
        if self.asked is not None and isinstance(self.video_track, PublishedVideoTrack):
            self.video_track.show(self.asked.camera)

    async def _work(self) -> None:
        while (data := await self._inbox.get()) is not None:
            try:
                if "offer" in data:
                    await self._make_offer()
                elif isinstance(data.get("description"), dict):
                    await self._on_description(data["description"])
                elif "candidate" in data:
                    await self._on_candidate(data["candidate"])
            except Exception as exc:
                # One bad message must not end the link: log it and keep the queue going.
                log.warning("nbconference: signal from %s failed: %r", self.peer_id, exc)

    async def _make_offer(self) -> None:
        if self._outgoing_video is None:
            self.pc.addTransceiver("video", direction="recvonly")
        else:
            self.pc.addTransceiver(self._outgoing(), direction="sendrecv")
        self.pc.addTransceiver("audio", direction="recvonly")
        self._open_channel(self.pc.createDataChannel(VIEW_CHANNEL))
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self._send_description()

    async def _on_description(self, description: dict[str, Any]) -> None:
        remote = RTCSessionDescription(sdp=description["sdp"], type=description["type"])
        collision = remote.type == "offer" and self.pc.signalingState != "stable"
        self.collisions += collision
        self._ignore_offer = collision and not self.polite
        if self._ignore_offer:
            return
        if collision:
            await self._start_over()
        if remote.type == "answer" and self.pc.signalingState != "have-local-offer":
            return  # a stale answer to an offer we dropped
        await self.pc.setRemoteDescription(remote)
        if remote.type == "offer":
            self._attach_video()
            await self.pc.setLocalDescription(await self.pc.createAnswer())
            self._send_description()

    def _attach_video(self) -> None:
        """Send our video on the remote peer's first video transceiver (no extra offer)."""
        if self._outgoing_video is None:
            return  # receive only: aiortc answers the peer's transceivers as recvonly
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "video":
                if transceiver.sender.track is None:
                    transceiver.sender.replaceTrack(self._outgoing())
                    transceiver.direction = "sendrecv"
                return

    async def _start_over(self) -> None:
        old, self.pc = self.pc, self._new_connection()
        self._video_tracks = 0
        # Closed in a task of its own, so that cancelling the worker cannot cut it short
        # and leave the old connection's decoder threads running; close() waits for it.
        closing = asyncio.get_running_loop().create_task(_close_quietly(old))
        self._retiring.add(closing)
        closing.add_done_callback(self._retiring.discard)

    async def _on_candidate(self, candidate: dict[str, Any] | None) -> None:
        text = (candidate or {}).get("candidate") or ""
        if not text or self._ignore_offer:
            return  # end-of-candidates, or a candidate for an offer we ignored
        assert candidate is not None
        parsed = candidate_from_sdp(
            text.split(":", 1)[1] if text.startswith("candidate:") else text
        )
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        await self.pc.addIceCandidate(parsed)

    def _send_description(self) -> None:
        local = self.pc.localDescription
        self._send({"description": {"type": local.type, "sdp": local.sdp}})

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video":
            kind = "camera" if self._video_tracks == 0 else "screen"
            self._video_tracks += 1
        else:
            kind = "audio"
        task = asyncio.get_running_loop().create_task(self._read(track, kind))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    async def _read(self, track: MediaStreamTrack, kind: str) -> None:
        # Always read: aiortc queues decoded frames without bound until someone does.
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self._on_media(self, kind, frame)

    async def close(self) -> None:
        """Close the connection and stop every task; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self._inbox.put_nowait(None)
        if self._channel is not None:
            self._channel.close()
        tasks = [self._worker, *self._readers]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(_close_quietly(self.pc), *self._retiring)


async def _close_quietly(pc: RTCPeerConnection) -> None:
    """Close ``pc``, waiting at most CLOSE_TIMEOUT. A close that takes longer, or whose
    caller is cancelled, goes on by itself: stopped half-way, it would leave receivers'
    decoder threads running."""
    closing = asyncio.ensure_future(pc.close())
    try:
        await asyncio.wait_for(asyncio.shield(closing), CLOSE_TIMEOUT)
    except asyncio.TimeoutError:
        log.warning("nbconference: a peer connection took over %.0f s to close", CLOSE_TIMEOUT)
    except Exception as exc:
        log.warning("nbconference: closing a peer connection failed: %r", exc)
