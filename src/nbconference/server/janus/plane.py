"""The SFU plane: our peers' media through one Janus VideoRoom per room.

Clients send the SFU frames of :mod:`nbconference.protocol.sfu` on our socket; this
module turns each into Janus requests it builds itself from validated fields, with the
room and ``display`` taken from the authenticated peer. Janus feed ids stay here: clients
see our peer ids only. A Janus room is created on demand (``record=false``,
``lock_record=true``, the room's peer cap as its publisher limit) and destroyed when the
last of our peers using it leaves, unless members on other servers use it too.

With replicas sharing a backend, a room's feeds published through another server reach
this one as *remote feeds* (janus/pool.py, media_events.py): ``sfu-feeds`` lists them,
and our peers subscribe to them, in the same Janus room; ``share`` tells the others of
our own feeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ...protocol.errors import ErrorCode, ProtocolError
from ...protocol.sfu import (
    Carried,
    Configure,
    Published,
    SfuAnswer,
    SfuMessage,
    SfuPublish,
    SfuSubscribe,
    SfuTrickle,
    SfuUnpublish,
    SfuUpdate,
    SharedFeed,
    Wanted,
    sfu_feeds_frame,
    sfu_jsep_frame,
    sfu_trickle_frame,
)
from ..peer import Peer
from .client import JanusClient, JanusError, JanusHandle, JanusSession, Message

log = logging.getLogger("nbconference.janus")

Send = Callable[[Peer, bytes], None]
RoomPeers = Callable[[str], list[Peer]]
Connect = Callable[[], Awaitable[JanusClient]]
Lost = Callable[["SfuRooms"], None]
# A feed of one of our peers published, changed (a SharedFeed) or withdrawn (None).
Share = Callable[[str, str, SharedFeed | None], None]
# Ask the server of another server's peer (room, its peer id) for a key frame of its feed.
AskKeyFrame = Callable[[str, str], None]
NO_SUCH_ROOM = 426  # Janus VideoRoom: "No such room"
ROOM_EXISTS = 427  # Janus VideoRoom: "Room ... already exists"
# The published stream that carries each device a host may mute.
MODERATED_KINDS = {"microphone": "audio", "camera": "camera"}


def janus_room(room: str) -> str:
    """The Janus VideoRoom (a string id) that carries our room ``room``."""
    return f"nbconference-{room}"


@dataclass
class SfuPeer:
    """One peer's Janus session: a publisher handle and, once it subscribes, a subscriber."""

    session: JanusSession
    publisher: JanusHandle
    subscriber: JanusHandle | None = None
    feed: str | None = None  # its Janus feed id, once joined as a publisher
    streams: tuple[Published, ...] = ()
    live: bool = False  # Janus said webrtcup: others may subscribe
    # The subscriber connection's streams: its mid -> (Janus feed id, that feed's mid).
    carried: dict[str, tuple[str, str]] = field(default_factory=dict)
    # The simulcast layer asked for each of its mids (by sfu-update's configure).
    layers: dict[str, int] = field(default_factory=dict)
    # ``carried`` when the subscriber last answered (None: it never did).
    started: dict[str, tuple[str, str]] | None = None
    pumps: list[asyncio.Task[None]] = field(default_factory=list, repr=False)
    subscribing: asyncio.Task[None] | None = field(default=None, repr=False)  # its pump


class SfuRooms:
    """Per room, one Janus VideoRoom; per peer, a session. See the module docstring."""

    def __init__(
        self,
        client: JanusClient | None,
        admin_key: str,
        publishers: int,
        send: Send,
        peers: RoomPeers,
        connect: Connect | None = None,
        on_lost: Lost | None = None,
        url: str = "",
    ) -> None:
        self.url = url  # for logs: which Janus this is
        # None: not connected yet (an instance unreachable when the server started).
        self.client = client
        self._connect = connect
        self._on_lost = on_lost
        self._admin_key = admin_key
        self._publishers = publishers
        self._send = send
        self._room_peers = peers
        self.rooms: dict[str, dict[str, SfuPeer]] = {}
        # Feeds of other servers' peers in this Janus, by room and peer id (pool.py).
        self.remote: dict[str, dict[str, SharedFeed]] = {}
        self.share: Share | None = None
        self.ask_key_frame: AskKeyFrame | None = None
        self._created: set[str] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._reconnecting = asyncio.Lock()

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    @property
    def connected(self) -> bool:
        """The connection to Janus is open (as far as anyone has noticed)."""
        return self.client is not None and not self.client.closed

    @property
    def publishers(self) -> int:
        """Our peers that joined one of this Janus' rooms as a publisher."""
        return sum(1 for members in self.rooms.values() for s in members.values() if s.feed)

    async def load(self) -> int:
        """Publishers in our rooms of this Janus, every server's, as Janus counts them
        (``list``); our own count when it does not answer."""
        try:
            client = await self.reconnect()
            session = await client.create()
            try:
                handle = await session.attach()
                body = {"request": "list", "admin_key": self._admin_key}
                data, _ = await handle.message(body)
            finally:
                with contextlib.suppress(JanusError, ConnectionError, asyncio.TimeoutError):
                    await session.destroy()
            rooms = data.get("list")
            prefix = janus_room("")
            return sum(
                int(room.get("num_participants", 0))
                for room in (rooms if isinstance(rooms, list) else [])
                if isinstance(room, dict) and str(room.get("room", "")).startswith(prefix)
            )
        except (JanusError, ConnectionError, asyncio.TimeoutError, ValueError) as error:
            log.debug("nbconference: the Janus at %s did not count: %r", self.url, error)
            return self.publishers

    async def reconnect(self) -> JanusClient:
        """The open client, connecting anew when there is none (one new connection for
        the peers that ask together too)."""
        async with self._reconnecting:
            if self.client is None or self.client.closed:
                if self._connect is None:
                    raise ConnectionError("the Janus connection is closed")
                self.client = await self._connect()
            return self.client

    # -- frames from a peer --------------------------------------------------------------

    async def handle(self, peer: Peer, msg: SfuMessage) -> None:
        """Carry out ``msg`` for ``peer``; ProtocolError (a named code) when it cannot be."""
        try:
            if isinstance(msg, SfuPublish):
                await self._publish(peer, msg)
            elif isinstance(msg, SfuSubscribe):
                await self._subscribe(peer, msg.streams)
            elif isinstance(msg, SfuUpdate):
                await self._update(peer, msg)
            elif isinstance(msg, SfuAnswer):
                await self._start(peer, msg.sdp)
            elif isinstance(msg, SfuTrickle):
                await self._trickle(peer, msg)
            elif isinstance(msg, SfuUnpublish):
                await self._unpublish(peer)
        except JanusError as error:
            raise ProtocolError(
                ErrorCode.SFU_REFUSED, f"the SFU refused: {error.code} {error.reason}"
            ) from None
        except (ConnectionError, asyncio.TimeoutError) as error:
            raise ProtocolError(
                ErrorCode.SFU_UNAVAILABLE, f"the SFU did not answer: {error}"
            ) from None

    def joined(self, peer: Peer) -> None:
        """Tell a peer that just joined which feeds its room has (when any)."""
        feeds = self._feeds(peer.room)
        if feeds:
            self._send(peer, sfu_feeds_frame(feeds).encode())

    async def leave(self, peer: Peer, elsewhere: bool = False) -> None:
        """The peer left the room (or its grace ran out): end its session; destroy the
        Janus room when it was the last of ours in it and ``elsewhere`` (members of the
        room on other servers) is False."""
        members = self.rooms.get(peer.room, {})
        state = members.pop(peer.id, None)
        if state is None:
            return
        for pump in state.pumps:
            pump.cancel()
        try:
            if not members:
                self.rooms.pop(peer.room, None)
                self._locks.pop(peer.room, None)
                created = peer.room in self._created
                self._created.discard(peer.room)
                if self.share is None:  # no other server uses this Janus room
                    if created:
                        await self._destroy(peer.room, state.publisher)
                elif not elsewhere:  # the last member anywhere: whoever created it
                    await self._destroy(peer.room, state.publisher)
            await state.session.destroy()
        except (JanusError, ConnectionError, asyncio.TimeoutError) as error:
            log.warning("nbconference: SFU cleanup of %s failed: %s", peer.id, error)
        if state.live:
            self.announce(peer.room)

    async def moderate(self, peer: Peer, devices: list[str], muted: bool) -> None:
        """A host muted ``peer`` (or the person unmuted): have Janus stop forwarding its
        published microphone and/or camera to anyone (``moderate``), or forward them
        again. The mesh cannot do this: there every receiver stops playing them."""
        state = self.rooms.get(peer.room, {}).get(peer.id)
        if state is None or state.feed is None:
            return
        kinds = {MODERATED_KINDS[device] for device in devices}
        for stream in state.streams:
            if stream.kind not in kinds:
                continue
            body = {
                "request": "moderate",
                "room": janus_room(peer.room),
                "id": state.feed,
                "mid": stream.mid,
                "mute": muted,
            }
            try:
                await state.publisher.message(body)
            except (JanusError, ConnectionError, asyncio.TimeoutError) as error:
                log.warning("nbconference: the SFU did not moderate %s: %s", peer.id, error)

    async def _destroy(self, room: str, handle: JanusHandle) -> None:
        body = {"request": "destroy", "room": janus_room(room), "admin_key": self._admin_key}
        try:
            await handle.message(body)
        except JanusError as error:
            if error.code != NO_SUCH_ROOM:  # destroyed already (by another server)
                raise

    # -- remote feeds (another server's peers in this Janus; see pool.py) -------------

    async def key_frame(self, peer: Peer) -> None:
        """Ask Janus for a key frame of ``peer``'s feed (a subscriber on another server
        receives it anew)."""
        state = self.rooms.get(peer.room, {}).get(peer.id)
        if state is None or not state.live:
            return
        try:
            await state.publisher.message(
                {"request": "configure", "keyframe": True}, wait_event=True
            )
        except (JanusError, ConnectionError, asyncio.TimeoutError) as error:
            log.debug("nbconference: no key frame of %s: %r", peer.id, error)

    def remote_feed(self, room: str, peer_id: str, feed: SharedFeed | None) -> bool:
        """Keep (or, None, drop) the remote feed of ``peer_id``; True if anything changed."""
        feeds = self.remote.setdefault(room, {})
        before = feeds.pop(peer_id, None)
        if feed is not None:
            feeds[peer_id] = feed
        if not feeds:
            del self.remote[room]
        return before != feed

    def _feed_of(self, room: str, peer_id: str) -> str | None:
        """The Janus feed id of the live feed ``peer_id`` publishes in ``room``, ours or
        another server's (None: no such feed)."""
        state = self.rooms.get(room, {}).get(peer_id)
        if state is not None:
            return state.feed if state.live else None
        remote = self.remote.get(room, {}).get(peer_id)
        return remote.feed if remote is not None else None

    def _changed(self, room: str, peer_id: str, state: SfuPeer) -> None:
        """Our peer's feed changed: the room hears it, and the other servers."""
        self.announce(room)
        if self.share is not None:
            shared = None
            if state.live and state.feed is not None:
                shared = SharedFeed(self.url, state.feed, state.streams)
            self.share(room, peer_id, shared)

    # -- the requests ------------------------------------------------------------------

    async def _state(self, peer: Peer) -> SfuPeer:
        state = self.rooms.get(peer.room, {}).get(peer.id)
        if state is None:
            if peer not in self._room_peers(peer.room):
                raise ProtocolError(ErrorCode.NOT_JOINED, "this peer has left its room")
            # After Janus restarted (or was unreachable): a new connection.
            client = await self.reconnect()
            session = await client.create()
            handle = await session.attach()
            if peer not in self._room_peers(peer.room):  # it left while Janus answered
                await session.destroy()
                raise ProtocolError(ErrorCode.NOT_JOINED, "this peer has left its room")
            state = SfuPeer(session, handle)
            # Looked up again: a lost Janus (_lost) may have replaced the rooms meanwhile.
            self.rooms.setdefault(peer.room, {})[peer.id] = state
            state.pumps.append(asyncio.ensure_future(self._pump(peer, state)))
        return state

    async def _ensure_room(self, room: str, handle: JanusHandle) -> None:
        async with self._locks.setdefault(room, asyncio.Lock()):
            if room in self._created:
                return
            create = {
                "request": "create",
                "room": janus_room(room),
                "admin_key": self._admin_key,
                "publishers": self._publishers,
                "record": False,
                "lock_record": True,
                "permanent": False,
            }
            try:
                await handle.message(create)
            except JanusError as error:
                if error.code != ROOM_EXISTS:
                    raise
            self._created.add(room)

    async def _publish(self, peer: Peer, msg: SfuPublish) -> None:
        state = await self._state(peer)
        await self._ensure_room(peer.room, state.publisher)
        if state.feed is None:
            join = {
                "request": "join",
                "ptype": "publisher",
                "room": janus_room(peer.room),
                "display": peer.id,
            }
            try:
                data, _ = await state.publisher.message(join, wait_event=True)
            except JanusError as error:
                if error.code != NO_SUCH_ROOM:
                    raise
                # Destroyed meanwhile by another server whose last peer left: again.
                self._created.discard(peer.room)
                await self._ensure_room(peer.room, state.publisher)
                data, _ = await state.publisher.message(join, wait_event=True)
            state.feed = str(data["id"])
        descriptions = [{"mid": s.mid, "description": s.kind} for s in msg.streams]
        body = {"request": "publish", "descriptions": descriptions}
        _, answer = await state.publisher.message(body, jsep={"type": "offer", "sdp": msg.sdp})
        if answer is None or not isinstance(answer.get("sdp"), str):
            raise ProtocolError(ErrorCode.SFU_REFUSED, "the SFU gave no answer to the offer")
        state.streams = msg.streams
        self._send(peer, sfu_jsep_frame("answer", answer["sdp"]).encode())
        if peer.forced:
            # A host's mute from before this publish (on the mesh, or an earlier one).
            await self.moderate(peer, list(peer.forced), True)

    def _janus_streams(self, peer: Peer, wanted: tuple[Wanted, ...]) -> list[Message]:
        streams: list[Message] = []
        for want in wanted:
            feed = None if want.feed == peer.id else self._feed_of(peer.room, want.feed)
            if feed is None:
                raise ProtocolError(
                    ErrorCode.SFU_REFUSED,
                    f"no feed of '{want.feed[:40]}' in room '{peer.room}'",
                    peer=want.feed,
                )
            stream: Message = {"feed": feed}
            if want.mid is not None:
                stream["mid"] = want.mid
            if want.substream is not None:
                stream["substream"] = want.substream
            streams.append(stream)
        return streams

    async def _subscribe(self, peer: Peer, wanted: tuple[Wanted, ...]) -> None:
        streams = self._janus_streams(peer, wanted)
        state = await self._state(peer)
        if state.subscriber is not None:
            # A client sends sfu-subscribe for a new subscriber connection only (changes
            # go by sfu-update): it started over (after the SFU was away, say), so the old
            # connection's handle goes, or Janus would renegotiate a connection nobody has.
            await self._drop_subscriber(state)
        state.subscriber = await state.session.attach()
        state.subscribing = asyncio.ensure_future(self._pump_subscriber(peer, state))
        state.pumps.append(state.subscribing)
        join = {
            "request": "join",
            "ptype": "subscriber",
            "room": janus_room(peer.room),
            "streams": streams,
        }
        data, offer = await state.subscriber.message(join, wait_event=True)
        self._learn(state, data)
        self._send_offer(peer, state, offer)

    @staticmethod
    async def _drop_subscriber(state: SfuPeer) -> None:
        """Detach the peer's subscriber handle (Janus hangs up its connection)."""
        handle, state.subscriber = state.subscriber, None
        state.carried, state.layers = {}, {}
        if state.subscribing is not None:
            state.subscribing.cancel()
            state.pumps.remove(state.subscribing)
            state.subscribing = None
        if handle is not None:
            with contextlib.suppress(JanusError):  # a handle Janus dropped already
                await handle.detach()

    async def _update(self, peer: Peer, msg: SfuUpdate) -> None:
        state = self.rooms.get(peer.room, {}).get(peer.id)
        if state is None or state.subscriber is None:
            raise ProtocolError(ErrorCode.SFU_REFUSED, "send 'sfu-subscribe' before updating")
        change: Message = {}
        if msg.subscribe:
            change["subscribe"] = self._janus_streams(peer, msg.subscribe)
        if msg.unsubscribe:
            change["unsubscribe"] = self._janus_streams(peer, msg.unsubscribe)
        layers = [self._layer(peer, state, c) for c in msg.configure]  # all checked first
        if change:
            await self._renegotiate(peer, state, change)
        if layers:
            await self._configure(peer, state, layers)

    def _layer(self, peer: Peer, state: SfuPeer, configure: Configure) -> Message:
        """The Janus ``configure`` stream for ``configure``, once its mid is known to be
        one of this subscriber's and to carry that feed (else sfu-refused)."""
        feed = self._feed_of(peer.room, configure.feed)
        carried = state.carried.get(configure.mid)
        if feed is None or carried is None or carried[0] != feed:
            raise ProtocolError(
                ErrorCode.SFU_REFUSED,
                f"mid '{configure.mid}' of this subscriber does not carry a stream of "
                f"'{configure.feed[:40]}'",
                peer=configure.feed,
            )
        return {"mid": configure.mid, "substream": configure.substream}

    async def _configure(self, peer: Peer, state: SfuPeer, layers: list[Message]) -> None:
        assert state.subscriber is not None
        body = {"request": "configure", "streams": layers}
        data, offer = await state.subscriber.message(body, wait_event=True)
        if data.get("configured") != "ok":
            raise ProtocolError(ErrorCode.SFU_REFUSED, f"the SFU did not configure: {data}")
        for layer in layers:
            state.layers[str(layer["mid"])] = int(layer["substream"])
        if offer is not None:
            self._send_offer(peer, state, offer)

    async def _renegotiate(self, peer: Peer, state: SfuPeer, change: Message) -> None:
        assert state.subscriber is not None
        body = {"request": "update", **change}
        data, offer = await state.subscriber.message(body, wait_event=True)
        self._learn(state, data)
        if offer is not None:
            self._send_offer(peer, state, offer)
        # else: the connection is not up yet; Janus makes the offer once it is, and
        # _pump_subscriber forwards it.

    @staticmethod
    def _learn(state: SfuPeer, data: Message) -> None:
        """Which mid of the subscriber connection carries which feed's stream, from the
        ``streams`` of Janus' ``attached`` / ``updated`` event (when it has them)."""
        streams = data.get("streams")
        if data.get("videoroom") not in ("attached", "updated") or not isinstance(streams, list):
            return  # only these two list every stream of the subscription
        state.carried = {
            str(s["mid"]): (str(s["feed_id"]), str(s.get("feed_mid", "")))
            for s in streams
            if isinstance(s, dict) and "mid" in s and "feed_id" in s and s.get("active", True)
        }
        state.layers = {mid: n for mid, n in state.layers.items() if mid in state.carried}

    def _carried(self, peer: Peer, state: SfuPeer) -> list[Carried]:
        """The subscriber connection's streams, with feeds named by our peer ids."""
        ours = {s.feed: pid for pid, s in self.rooms.get(peer.room, {}).items() if s.feed}
        ours.update({f.feed: pid for pid, f in self.remote.get(peer.room, {}).items()})
        return [
            Carried(mid, ours[feed], feed_mid)
            for mid, (feed, feed_mid) in sorted(state.carried.items())
            if feed in ours
        ]

    def _send_offer(self, peer: Peer, state: SfuPeer, offer: Message | None) -> None:
        if offer is None or not isinstance(offer.get("sdp"), str):
            raise ProtocolError(ErrorCode.SFU_REFUSED, "the SFU made no offer to subscribe")
        frame = sfu_jsep_frame("offer", offer["sdp"], self._carried(peer, state))
        self._send(peer, frame.encode())

    async def _start(self, peer: Peer, sdp: str) -> None:
        state = self.rooms.get(peer.room, {}).get(peer.id)
        if state is None or state.subscriber is None:
            raise ProtocolError(ErrorCode.SFU_REFUSED, "no 'sfu-offer' to answer")
        await state.subscriber.message({"request": "start"}, jsep={"type": "answer", "sdp": sdp})
        before, state.started = state.started, dict(state.carried)
        if before is not None:
            await self._ask_key_frames(peer, state, before)

    async def _ask_key_frames(
        self, peer: Peer, state: SfuPeer, before: dict[str, tuple[str, str]]
    ) -> None:
        """After a renegotiation, ask a key frame of each feed that a mid carries anew.
        Janus reuses a dropped stream's mid, and a receiver that does not ask by itself
        (aiortc) would otherwise decode the new feed's delta frames onto the old one's
        picture until the publisher's next key frame, many seconds later."""
        fresh = {carried[0] for mid, carried in state.carried.items() if before.get(mid) != carried}
        for peer_id, remote in list(self.remote.get(peer.room, {}).items()):
            if remote.feed in fresh and self.ask_key_frame is not None:
                self.ask_key_frame(peer.room, peer_id)  # its server asks its publisher
        for other in list(self.rooms.get(peer.room, {}).values()):
            if other.feed in fresh and other.live:
                with contextlib.suppress(Exception):  # it may have left meanwhile
                    await other.publisher.message(
                        {"request": "configure", "keyframe": True}, wait_event=True
                    )

    async def _trickle(self, peer: Peer, msg: SfuTrickle) -> None:
        state = self.rooms.get(peer.room, {}).get(peer.id)
        handle = None
        if state is not None:
            handle = state.publisher if msg.pc == "publisher" else state.subscriber
        if handle is None:
            raise ProtocolError(ErrorCode.SFU_REFUSED, f"no {msg.pc} connection to trickle to")
        await handle.trickle(msg.candidate)

    async def _unpublish(self, peer: Peer) -> None:
        state = self.rooms.get(peer.room, {}).get(peer.id)
        if state is None or state.feed is None:
            raise ProtocolError(ErrorCode.SFU_REFUSED, "nothing is published")
        await state.publisher.message({"request": "unpublish"}, wait_event=True)
        was_live, state.live, state.streams = state.live, False, ()
        if was_live:
            self._changed(peer.room, peer.id, state)

    # -- events from Janus -------------------------------------------------------------

    async def _pump(self, peer: Peer, state: SfuPeer) -> None:
        """The publisher handle's events: webrtcup makes the feed public, a hangup ends it."""
        while True:
            event = await state.publisher.events.get()
            kind = event.get("janus")
            if kind == "webrtcup" and state.streams and not state.live:
                state.live = True
                self._changed(peer.room, peer.id, state)
            elif kind == "hangup" and state.live:
                state.live = False
                self._changed(peer.room, peer.id, state)
            elif kind == "trickle":
                candidate = event.get("candidate") or {}
                clean = _candidate(candidate)
                self._send(peer, sfu_trickle_frame("publisher", clean).encode())
            elif kind == "closed":
                self._lost()
                return

    def _lost(self) -> None:
        """The connection to Janus is gone, and every session and room with it (a Janus
        that restarts starts empty): forget them, and tell each room it has no feeds, so
        that its peers publish again (the next request reconnects). ``on_lost`` hears of
        it first: a pool moves the rooms to another Janus before they publish again."""
        lost, self.rooms = self.rooms, {}
        # Other servers' feeds here went with it: their servers publish them again, and
        # tell us where.
        self.remote.clear()
        self._created.clear()
        if self._on_lost is not None:
            self._on_lost(self)
        for room, members in lost.items():
            for peer_id, state in members.items():
                for pump in state.pumps:
                    pump.cancel()
                if state.live and self.share is not None:
                    self.share(room, peer_id, None)  # the other servers' copies go too
            self.announce(room)

    async def _pump_subscriber(self, peer: Peer, state: SfuPeer) -> None:
        """The subscriber handle's events: Janus renegotiates by itself when a feed it
        sends goes away (a new offer), and may trickle."""
        assert state.subscriber is not None
        handle = state.subscriber
        while True:
            event = await handle.events.get()
            kind = event.get("janus")
            jsep = event.get("jsep")
            self._learn(state, (event.get("plugindata") or {}).get("data") or {})
            if isinstance(jsep, dict) and jsep.get("type") == "offer" and "sdp" in jsep:
                frame = sfu_jsep_frame("offer", str(jsep["sdp"]), self._carried(peer, state))
                self._send(peer, frame.encode())
            elif kind == "trickle":
                clean = _candidate(event.get("candidate") or {})
                self._send(peer, sfu_trickle_frame("subscriber", clean).encode())
            elif kind == "closed":
                return

    def _feeds(self, room: str) -> dict[str, list[Published]]:
        members = self.rooms.get(room, {})
        feeds = {pid: list(s.streams) for pid, s in members.items() if s.live}
        feeds.update({pid: list(f.streams) for pid, f in self.remote.get(room, {}).items()})
        return feeds

    def announce(self, room: str) -> None:
        """Tell our peers in ``room`` every feed it has now, ours and other servers'."""
        frame = sfu_feeds_frame(self._feeds(room)).encode()
        for member in self._room_peers(room):
            self._send(member, frame)


def _candidate(candidate: dict[str, Any]) -> dict[str, Any] | None:
    """Janus' candidate, with only the fields a browser reads (None: it has no more)."""
    if candidate.get("completed") or not isinstance(candidate.get("candidate"), str):
        return None
    clean = {"candidate": candidate["candidate"]}
    for key in ("sdpMid", "sdpMLineIndex"):
        if key in candidate:
            clean[key] = candidate[key]
    return clean


async def start_sfu(
    url: str, api_secret: str, admin_key: str, publishers: int, send: Send, peers: RoomPeers
) -> SfuRooms:
    """Connect to the Janus at ``url`` and return the plane over it."""

    async def connect() -> JanusClient:
        return await JanusClient.connect(url, api_secret)

    return SfuRooms(await connect(), admin_key, publishers, send, peers, connect, url=url)
