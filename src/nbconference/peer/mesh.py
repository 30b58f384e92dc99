"""The room as a kernel peer or recorder sees it: who is here, and one PeerLink per other.

Fed with the signaling frames in arrival order. The mesh rule: a ``peer-joined``
newcomer gets an offer from us; a peer already in the room (from ``welcome``) offers to
us and we answer when its first signal arrives. Once the room is on the SFU
(:attr:`Mesh.sfu`), no new link is made: newcomers get no offer and offers from peers we
have no link to are ignored; the links made before the move close one by one
(:meth:`Mesh.drop_link`) as the SFU takes over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc.mediastreams import MediaStreamTrack

from ..protocol import ICE_TRANSPORT_ALL, ErrorCode, ServerFrame, signal_message
from .link import CLOSE_TIMEOUT, IceSettings, PeerLink

log = logging.getLogger("nbconference")

# Past each connection's own CLOSE_TIMEOUT, how long closing the links may still take
# (their tasks ending) before leaving goes on without them.
CLOSE_MARGIN = 5.0


@dataclass
class RemotePeer:
    """Another participant as our media sees it: its presence state and our link to it.

    ``shows_us`` is how high it shows our video, in device pixels (0: not at all; None
    until it says), and ``frames_sent`` how many frames of ours its link has encoded.
    ``info`` is the server's public record of it (empty while we know it only by a
    signal), and ``link`` our connection to it (None until there is one).
    """

    id: str
    name: str
    state: dict[str, bool]
    connection: str = "new"
    shows_us: int | None = None
    frames_sent: int = 0
    info: dict[str, Any] = field(default_factory=dict, repr=False)
    link: PeerLink | None = field(default=None, repr=False)


class Mesh:
    """Peers and links; ``send(frame)`` goes to the signaling server.

    ``on_gone(peer_id)`` is told of every departure. ``wants(peer_id)`` is how high we
    show that peer's camera and screen (0: not at all), which each link asks its peer
    for; without it the links ask for nothing, and peers send as they would.
    """

    def __init__(
        self,
        send: Callable[[dict[str, Any]], None],
        outgoing_video: Callable[[], MediaStreamTrack] | None,
        on_media: Callable[[PeerLink, str, Any], None],
        on_gone: Callable[[str], None],
        wants: Callable[[str], tuple[int, int]] | None = None,
    ) -> None:
        self.id = ""
        self._send = send
        self._outgoing_video = outgoing_video
        self._on_media = on_media
        self._on_gone = on_gone
        self._wants = wants
        self.ice = IceSettings()
        self._peers: dict[str, RemotePeer] = {}
        self._links: dict[str, PeerLink] = {}
        self._closing: set[asyncio.Task[None]] = set()
        # The room's media go through the SFU: no new links. ``via_sfu`` is then the
        # connection state of the route every peer without a link takes.
        self.sfu = False
        self.via_sfu: Callable[[], str] | None = None

    @property
    def links(self) -> dict[str, PeerLink]:
        """Our connection to each peer, by id (a snapshot)."""
        return dict(self._links)

    def update_wants(self) -> None:
        """What we show of the peers changed: every link asks for it again."""
        if self._wants is not None:
            for peer_id, link in self._links.items():
                link.want(*self._wants(peer_id))

    @property
    def peers(self) -> dict[str, RemotePeer]:
        """Everyone we know in the room, by id (a snapshot of live records)."""
        for peer_id, link in self._links.items():
            peer = self._peers.get(peer_id)
            if peer is not None:
                peer.link = link
                peer.connection = link.connection_state
                peer.shows_us = link.asked.camera if link.asked is not None else None
                peer.frames_sent = link.frames_sent
        if self.sfu and self.via_sfu is not None:
            for peer_id, peer in self._peers.items():
                if peer_id not in self._links:
                    peer.link, peer.connection = None, self.via_sfu()
        return dict(self._peers)

    def welcomed(self, welcome: dict[str, Any]) -> None:
        if self.id and not welcome.get("resumed"):
            # Back after the grace window: a newcomer with a new id, so everyone is new.
            for peer_id in list(self._peers):
                self._gone(peer_id)
        self.id = str(welcome["id"])
        self.ice.servers = list(welcome.get("ice_servers", []))
        self.ice.policy = str(welcome.get("ice_transport_policy", ICE_TRANSPORT_ALL))
        for info in welcome.get("peers", []):
            self._known(info)

    def dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == ServerFrame.SIGNAL:
            sender, data = str(frame.get("from")), frame.get("data")
            if self.sfu and sender not in self._links:
                return  # a mesh offer in a room on the SFU: not taken
            if isinstance(data, dict):
                self._link(sender).handle_signal(data)
        elif kind == ServerFrame.PEER_JOINED:
            peer = self._known(frame["peer"])
            if not self.sfu:
                self._link(peer.id).offer()
        elif kind == ServerFrame.PEER_LEFT:
            self._gone(str(frame.get("id")))
        elif kind == ServerFrame.PEER_STATE and frame.get("id") in self._peers:
            peer = self._peers[frame["id"]]
            peer.state = frame.get("state", {})
            peer.info = {**peer.info, "state": peer.state}
        elif kind == ServerFrame.WELCOME:
            self.welcomed(frame)
        elif kind == ServerFrame.ICE_SERVERS and isinstance(frame.get("ice_servers"), list):
            # Fresh TURN credentials: for the links made from now on (aiortc cannot
            # restart ICE on a live one; the TURN server does not ask it to).
            self.ice.servers = list(frame["ice_servers"])
        elif kind == ServerFrame.ERROR:
            # Mostly races (a signal to a peer that just left): worth a log line. A peer the
            # server does not know in our room has gone, whether or not we heard it leave.
            peer_id = frame.get("peer")
            log.warning(
                "nbconference: signaling error %s%s: %s",
                frame.get("code"),
                f" about peer {peer_id}" if peer_id else "",
                frame.get("message"),
            )
            if frame.get("code") == ErrorCode.UNKNOWN_PEER and peer_id in self._peers:
                self._gone(str(peer_id))

    def mark_hosts(self, hosts: set[str]) -> None:
        """The room's hosts are ``hosts`` now: each record we know says whether it is one."""
        for peer_id, peer in self._peers.items():
            if not peer.info:
                continue  # known only by a signal: its record will say
            info = {key: value for key, value in peer.info.items() if key != "host"}
            if peer_id in hosts:
                info["host"] = True
            peer.info = info

    def _known(self, info: dict[str, Any]) -> RemotePeer:
        """The peer of the server's record ``info``: the one we know by its id (a peer
        re-announced, or met first by a signal) brought up to date, or a new one."""
        peer = self._peers.get(info["id"])
        if peer is None:
            peer = self._peers[info["id"]] = RemotePeer(info["id"], "", {})
        peer.name, peer.state, peer.info = info.get("name", ""), info.get("state", {}), info
        return peer

    def _link(self, peer_id: str) -> PeerLink:
        link = self._links.get(peer_id)
        if link is None:
            self._peers.setdefault(peer_id, RemotePeer(peer_id, "", {}))
            link = PeerLink(
                peer_id,
                polite=self.id > peer_id,
                ice=self.ice,
                outgoing_video=self._outgoing_video,
                send=lambda data: self._send(signal_message(peer_id, data)),
                on_media=self._on_media,
            )
            self._links[peer_id] = link
            if self._wants is not None:
                link.want(*self._wants(peer_id))
        return link

    def drop_link(self, peer_id: str) -> None:
        """Close our link to ``peer_id`` (its media come another way now); it stays in
        the room."""
        link = self._links.pop(peer_id, None)
        if link is not None:
            closing = asyncio.get_running_loop().create_task(link.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    def _gone(self, peer_id: str) -> None:
        peer = self._peers.pop(peer_id, None)
        self.drop_link(peer_id)
        self._on_gone(peer_id)
        if peer is not None:
            peer.connection = "closed"

    async def close(self) -> None:
        """Close every link (waiting for those already closing), within a bound: each
        connection is given CLOSE_TIMEOUT and then left to finish by itself, so leaving
        never fails because one of them is slow to close."""
        links, self._links = list(self._links.values()), {}
        closing = [*self._closing, *(link.close() for link in links)]
        try:
            await asyncio.wait_for(
                asyncio.gather(*closing, return_exceptions=True), CLOSE_TIMEOUT + CLOSE_MARGIN
            )
        except asyncio.TimeoutError:
            log.warning("nbconference: links still closing after %.0f s; leaving", CLOSE_TIMEOUT)
        for peer in self._peers.values():
            peer.connection = "closed"
