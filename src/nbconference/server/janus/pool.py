"""Several Janus instances behind one SFU plane: each room is pinned to one of them.

Every instance has its own :class:`~.plane.SfuRooms`; :class:`JanusPool` only routes a
peer's frames to the instance its room is pinned to. A room is pinned the first time the
SFU hears of it (its first ``sfu-*`` frame, right after it moved) to the connected
instance with the fewest publishers (then the fewest rooms), and stays pinned while any
of our peers is in it. When an instance's connection is lost, its ``SfuRooms`` forgets
its rooms and tells their peers the feeds are gone (they publish again); the pool first
pins those rooms to another connected instance, so the new publishes land there.

With one instance (the Janus we start ourselves) the pool is that instance's plane: a
lost room stays pinned to it and the next request reconnects, once it has restarted.

With replicas sharing a backend (``nbconference serve --redis`` over ``janus_urls``), the
pin is the backend's: the first server to need one claims it for the instance with the
fewest publishers (as Janus itself counts them, every server's), and every other server
of the room reads it, so that all of them use the same Janus room. A lost instance's rooms
are pinned again in the backend, once, by the first server to ask (the others read that
pin). Each server shares its own peers' feeds through the backend and keeps the others'
as remote feeds of the pinned instance (see plane.py and media_events.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from tornado.httpclient import HTTPClientError
from tornado.websocket import WebSocketError

from ...protocol.errors import ErrorCode, ProtocolError
from ...protocol.sfu import SfuMessage, SharedFeed, shared_feed_record
from ..backends.base import Backend, BackendUnavailable, EventKind, RoomEvent
from ..peer import Peer
from .client import JanusClient, JanusError
from .plane import Connect, RoomPeers, Send, SfuPeer, SfuRooms, janus_room

log = logging.getLogger("nbconference.janus")

# How often an instance that is not connected is tried again.
RETRY_SECONDS = 5.0
CONNECT_TIMEOUT = 5.0
UNAUTHORIZED = 403  # Janus: wrong or missing api_secret
VIDEOROOM_UNAUTHORIZED = 433  # VideoRoom: wrong admin_key
# What an instance that cannot be reached raises (tornado's errors for a bad handshake).
UNREACHABLE = (OSError, asyncio.TimeoutError, WebSocketError, HTTPClientError)


class JanusUnusable(RuntimeError):
    """The given Janus instances cannot be used: a wrong secret, or none answers."""


async def connect_checked(url: str, api_secret: str, admin_key: str) -> JanusClient:
    """A client of the Janus at ``url`` once it has accepted both secrets (a session is
    made with the API secret, a short-lived room with the admin key); JanusUnusable naming
    the setting when it refuses one, OSError and the like when it cannot be reached."""
    client = await JanusClient.connect(url, api_secret, CONNECT_TIMEOUT)
    try:
        try:
            session = await client.create()
        except JanusError as error:
            if error.code != UNAUTHORIZED:
                raise
            raise JanusUnusable(
                f"nbconference: the Janus at {url} refused janus_api_secret ({error.code} "
                f"{error.reason}): set it to that Janus' api_secret (janus.jcfg)"
            ) from None
        try:
            handle = await session.attach()
            probe = {"room": janus_room(f"check-{secrets.token_hex(6)}"), "admin_key": admin_key}
            try:
                await handle.message({"request": "create", "permanent": False, **probe})
            except JanusError as error:
                if error.code != VIDEOROOM_UNAUTHORIZED:
                    raise
                raise JanusUnusable(
                    f"nbconference: the Janus at {url} refused janus_admin_key ({error.code} "
                    f"{error.reason}): set it to its VideoRoom admin_key "
                    "(janus.plugin.videoroom.jcfg)"
                ) from None
            await handle.message({"request": "destroy", "permanent": False, **probe})
        finally:
            with contextlib.suppress(JanusError, ConnectionError, asyncio.TimeoutError):
                await session.destroy()
    except BaseException:
        await client.close()
        raise
    return client


class JanusPool:
    """The SFU plane of a server: rooms pinned to Janus instances (module docstring).

    It answers what the registry and the sockets ask of the SFU (``handle``, ``joined``,
    ``leave``, ``close``) by handing each peer to its room's instance."""

    def __init__(
        self, instances: list[SfuRooms], peers: RoomPeers, shared: Backend | None = None
    ) -> None:
        if not instances:
            raise ValueError("a Janus pool needs at least one instance")
        self.instances = instances
        self.pins: dict[str, SfuRooms] = {}
        self._room_peers = peers
        self._retrying: asyncio.Task[None] | None = None
        # The backend that shares pins and feeds with other servers (None: we are alone).
        self.shared = shared if shared is not None and shared.shares_media else None
        for instance in instances:
            instance._on_lost = self._lost
            if self.shared is not None:
                instance.share = self._share
                instance.ask_key_frame = self._ask_key_frame
        self._asking: set[asyncio.Task[None]] = set()

    @property
    def rooms(self) -> dict[str, dict[str, SfuPeer]]:
        """Every instance's rooms and their peers' sessions, in one view (read only)."""
        return {room: members for i in self.instances for room, members in i.rooms.items()}

    async def handle(self, peer: Peer, msg: SfuMessage) -> None:
        try:
            instance = await self._pinned(peer.room)
        except BackendUnavailable as error:
            raise ProtocolError(
                ErrorCode.SFU_UNAVAILABLE, f"the room's SFU is not known now: {error}"
            ) from None
        await instance.handle(peer, msg)

    async def moderate(self, peer: Peer, devices: list[str], muted: bool) -> None:
        instance = self.pins.get(peer.room)
        if instance is not None:
            await instance.moderate(peer, devices, muted)

    def joined(self, peer: Peer) -> None:
        instance = self.pins.get(peer.room)
        if instance is not None:
            instance.joined(peer)

    async def leave(self, peer: Peer, elsewhere: bool = False) -> None:
        instance = self.pins.get(peer.room)
        if instance is None:
            return
        await instance.leave(peer, elsewhere)
        if not self._room_peers(peer.room) and peer.room not in instance.rooms:
            self.pins.pop(peer.room, None)

    async def close(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying
        for instance in self.instances:
            await instance.close()

    # -- remote feeds (the other servers' peers; see media_events.py) -----------------

    def remote_feed(self, room: str, peer_id: str, feed: SharedFeed | None) -> None:
        """``peer_id``, a member of ``room`` on another server, published ``feed`` (None:
        withdrew it). It is kept by the instance it is on, which the room is pinned to
        here too unless the backend said otherwise."""
        changed = [i for i in self.instances if i.remote_feed(room, peer_id, None)]
        instance = None
        if feed is not None:
            instance = self._by_url(feed.janus)
            if instance is None:
                log.warning(
                    "nbconference: refused a feed read from the backend for %r in room %r: "
                    "its Janus (%.80s) is not one of this server's janus_urls",
                    peer_id,
                    room,
                    feed.janus,
                )
            else:
                instance.remote_feed(room, peer_id, feed)
                pinned = self.pins.setdefault(room, instance)
                if pinned is not instance:
                    log.warning(
                        "nbconference: a feed of room %r is on the Janus at %s, but the "
                        "room is pinned to %s here",
                        room,
                        _url(instance),
                        _url(pinned),
                    )
        if changed or instance is not None:
            self._announce(room)

    def remote_left(self, room: str, peer_id: str) -> None:
        """A member of another server left ``room`` (or was swept): its feed goes."""
        if any(i.remote_feed(room, peer_id, None) for i in self.instances):
            self._announce(room)

    def forget_room(self, room: str) -> None:
        """None of our peers is in ``room`` any more: we follow its feeds no more."""
        for instance in self.instances:
            instance.remote.pop(room, None)

    def _announce(self, room: str) -> None:
        instance = self.pins.get(room)
        if instance is not None:
            instance.announce(room)

    def _share(self, room: str, peer_id: str, feed: SharedFeed | None) -> None:
        """One of our peers' feeds changed: the other servers of its room hear it."""
        assert self.shared is not None
        record = None if feed is None else shared_feed_record(feed)
        event = RoomEvent(EventKind.FEED, room, peer_id, data=record)

        def failed(reason: str) -> None:
            log.warning("nbconference: the feed of %s was not shared: %s", peer_id, reason)

        self.shared.publish(event, failed)

    def _ask_key_frame(self, room: str, peer_id: str) -> None:
        """A subscriber of ours receives the feed of ``peer_id`` (on another server) anew:
        that server asks its publisher for a key frame (see key_frame)."""
        assert self.shared is not None
        event = RoomEvent(EventKind.KEY_FRAME, room, to=peer_id)

        def failed(reason: str) -> None:
            log.debug("nbconference: no key frame asked of %s: %s", peer_id, reason)

        self.shared.publish(event, failed)

    def key_frame(self, peer: Peer) -> None:
        """Another server asks a key frame of our peer's feed (for its subscriber)."""
        instance = self.pins.get(peer.room)
        if instance is not None:
            task = asyncio.ensure_future(instance.key_frame(peer))
            self._asking.add(task)
            task.add_done_callback(self._asking.discard)

    # -- pinning -----------------------------------------------------------------------

    async def _pinned(self, room: str) -> SfuRooms:
        """The instance of ``room``: its pin, or (none yet, or the pinned one is gone
        and holds nothing of the room) the connected one with the least load; with a
        shared backend, the pin it holds (see the module docstring)."""
        instance = self.pins.get(room)
        if len(self.instances) > 1 and not all(i.connected for i in self.instances):
            self.keep_trying()  # one whose connection dropped with no peer on it, say
        if instance is not None and (instance.connected or room in instance.rooms):
            return instance
        if self.shared is not None:
            chosen = await self._shared_pin(room, instance)
        else:
            chosen = self._least_loaded(avoid=instance) or instance or self.instances[0]
        if chosen is not self.pins.get(room):
            self.pins[room] = chosen
            log.info("nbconference: SFU room %r is on the Janus at %s", room, _url(chosen))
        return chosen

    async def _shared_pin(self, room: str, lost: SfuRooms | None) -> SfuRooms:
        """The backend's pin of ``room``, claimed for the least loaded instance when there
        is none yet, or when it names an instance that is not connected (``lost``: ours
        that was) while another is."""
        assert self.shared is not None
        candidate = await self._least_loaded_anywhere(avoid=lost) or lost or self.instances[0]
        replacing = lost.url if lost is not None and not lost.connected else ""
        url = await self.shared.pin_janus(room, candidate.url, replacing)
        pinned = self._by_url(url)
        if pinned is not None and not pinned.connected and candidate.connected:
            url = await self.shared.pin_janus(room, candidate.url, url)  # it was lost
            pinned = self._by_url(url)
        if pinned is None:
            log.warning(
                "nbconference: SFU room %r is pinned to a Janus (%.80s) that is not one of "
                "this server's janus_urls: give every replica the same janus_urls",
                room,
                url,
            )
            return candidate
        return pinned

    def _by_url(self, url: str) -> SfuRooms | None:
        return next((i for i in self.instances if i.url == url), None)

    async def _least_loaded_anywhere(self, avoid: SfuRooms | None) -> SfuRooms | None:
        """Like :meth:`_least_loaded`, counting every server's publishers (Janus' own
        count of each instance's rooms; ours alone where it does not answer)."""
        live = [i for i in self.instances if i.connected and i is not avoid]
        if len(live) < 2:
            return live[0] if live else None
        loads = await asyncio.gather(*(i.load() for i in live))
        return min(zip(loads, range(len(live)), live, strict=True))[2]

    def _least_loaded(self, avoid: SfuRooms | None = None) -> SfuRooms | None:
        """The connected instance (other than ``avoid``) with the fewest publishers, then
        the fewest pinned rooms; None when no other one is connected."""
        pinned = {id(i): 0 for i in self.instances}
        for instance in self.pins.values():
            pinned[id(instance)] += 1
        live = [i for i in self.instances if i.connected and i is not avoid]
        if not live:
            return None
        return min(live, key=lambda i: (i.publishers, pinned[id(i)]))

    def _lost(self, instance: SfuRooms) -> None:
        """``instance``'s connection is gone: pin its rooms to others, before they are
        told to publish again (with no other connected, they stay and wait for it)."""
        if len(self.instances) == 1:
            return  # nowhere else to go: the next request reconnects (after a restart)
        if self.shared is not None:
            # The backend's pins move, once for every server: the next request of each
            # room asks it again (see _shared_pin).
            for room in [r for r, pinned in self.pins.items() if pinned is instance]:
                del self.pins[room]
            log.warning("nbconference: lost the Janus at %s", _url(instance))
            self.keep_trying()
            return
        moved = 0
        for room, pinned in list(self.pins.items()):
            if pinned is instance:
                other = self._least_loaded(avoid=instance)
                if other is None:
                    break
                self.pins[room] = other
                moved += 1
        log.warning(
            "nbconference: lost the Janus at %s; %d room(s) moved to other instances",
            _url(instance),
            moved,
        )
        self.keep_trying()

    # -- instances that are not connected ----------------------------------------------

    def keep_trying(self) -> None:
        """Try every instance that is not connected again, every RETRY_SECONDS, until all
        are (they are then chosen for new rooms again)."""
        if self._retrying is None or self._retrying.done():
            self._retrying = asyncio.ensure_future(self._retry())

    async def _retry(self) -> None:
        while True:
            await asyncio.sleep(RETRY_SECONDS)
            down = [i for i in self.instances if not i.connected]
            if not down:
                return
            for instance in down:
                try:
                    await instance.reconnect()
                except (*UNREACHABLE, JanusError) as error:
                    log.debug("nbconference: the Janus at %s: %r", _url(instance), error)
                else:
                    log.warning("nbconference: the Janus at %s is back", _url(instance))


def _url(instance: SfuRooms) -> str:
    return instance.url or "?"


async def open_instances(
    urls: list[str],
    api_secret: str,
    admin_key: str,
    publishers: int,
    send: Send,
    peers: RoomPeers,
    shared: Backend | None = None,
) -> JanusPool:
    """A pool over the existing Janus instances at ``urls`` (``shared``: the backend, which
    shares pins and feeds with other servers when it can).

    An instance that cannot be reached is logged and tried again every RETRY_SECONDS
    (a Janus machine that reboots must not keep the server down; the others carry the
    rooms meanwhile). If none can be reached, JanusUnusable: a server whose rooms could
    never move to an SFU should not start looking healthy. A secret that an instance
    refuses is JanusUnusable at once, naming the setting: waiting would not fix it."""

    def connector(url: str) -> Connect:
        """Connects again later: every failure is a ConnectionError (a peer's request is
        then answered sfu-unavailable), a refused secret logged as the error it is."""

        async def connect() -> JanusClient:
            try:
                return await connect_checked(url, api_secret, admin_key)
            except JanusUnusable as error:
                log.error("%s", error)
                raise ConnectionError(str(error)) from None
            except UNREACHABLE as error:
                raise ConnectionError(f"the Janus at {url} cannot be reached: {error!r}") from None

        return connect

    results = await asyncio.gather(
        *(connect_checked(url, api_secret, admin_key) for url in urls), return_exceptions=True
    )
    unusable = [r for r in results if isinstance(r, JanusUnusable)]
    failed = [
        (url, r) for url, r in zip(urls, results, strict=True) if isinstance(r, BaseException)
    ]
    if unusable or len(failed) == len(urls):
        for result in results:
            if isinstance(result, JanusClient):
                await result.close()
        if unusable:
            raise unusable[0]
        reasons = "; ".join(f"{url}: {error!r}" for url, error in failed)
        raise JanusUnusable(f"nbconference: none of janus_urls can be reached ({reasons})")
    instances = []
    for url, result in zip(urls, results, strict=True):
        client = result if isinstance(result, JanusClient) else None
        if client is None:
            log.error(
                "nbconference: the Janus at %s cannot be reached (%r); rooms go to the "
                "others, and it is tried again every %g s",
                url,
                result,
                RETRY_SECONDS,
            )
        instances.append(
            SfuRooms(client, admin_key, publishers, send, peers, connector(url), url=url)
        )
    pool = JanusPool(instances, peers, shared)
    if failed:
        pool.keep_trying()
    return pool
