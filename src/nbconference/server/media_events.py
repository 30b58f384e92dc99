"""The SFU plane of rooms that span servers: what the backend shares of it.

With the Redis backend the members of one room may be on several ``nbconference serve``
replicas, and they all use the same Janus room:

- the plane: a room that moved to the SFU stays there until it empties, whichever server
  its members are on. Every server that follows the room applies the rule of media.py to
  the same joins, in the same order (the room's event stream), so they move it at the
  same join, each telling its own peers before the newcomer's ``peer-joined``; a server
  whose first peer joins later reads the plane with that join (``Backend.room_media``);
- the feeds: each publisher's server shares its feed (Janus' feed id and the streams)
  through the backend as a ``feed`` event; the other servers keep it as a remote feed of
  their own plane (janus/pool.py), so that ``sfu-feeds`` lists it and their peers may
  subscribe to it. A feed from the backend is checked like a client's frame and is only
  ever mapped to a member of that same room on another server; it goes when that member
  leaves (or its server dies and the member is swept), and the room's pin names the Janus.

A layer of :class:`~nbconference.server.rooms.RoomRegistry`, over :class:`RoomEvents`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..protocol import MEDIA_SFU, ProtocolError, media_frame
from ..protocol.sfu import parse_shared_feed
from .backends.base import Backend, EventKind, PeerInfo, RoomEvent, RoomMedia
from .room_events import RoomEvents

if TYPE_CHECKING:
    from .janus.pool import JanusPool

log = logging.getLogger("nbconference")


class MediaEvents(RoomEvents):
    """The plane of each room and its remote feeds, as the backend shares them."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        # The SFU plane, when sfu = "janus" and a Janus runs (see janus/pool.py).
        self.sfu: JanusPool | None = None

    def _shared_media(self, room: str) -> RoomMedia | None:
        """Our first peer is joining ``room``: what the backend holds of its plane (the
        room is on the SFU already if another server moved it)."""
        shared = self.backend.room_media(room)
        if shared is not None and shared.sfu and self.sfu is not None:
            self.planes.keep_sfu(room)
        return shared

    def _moves_after_join(self, room: str, members: Iterable[PeerInfo]) -> bool:
        """The rule of media.py after a join of ours; the backend records a move."""
        moved = self.planes.after_join(room, members, self.sfu is not None)
        if moved:
            self.backend.record_sfu(room)
        return moved

    def _seed_feeds(self, room: str, shared: RoomMedia | None) -> None:
        """The feeds the backend held when our first peer joined ``room``."""
        if self.sfu is None or shared is None:
            return
        for peer_id, stored in sorted((shared.feeds or {}).items()):
            try:
                record = json.loads(stored)
            except ValueError as error:
                self._refuse_feed(room, peer_id, f"not JSON ({error})")
                continue
            self._take_feed(RoomEvent(EventKind.FEED, room, peer_id, data=record))

    def _apply_remote(self, event: RoomEvent) -> None:
        if event.kind == EventKind.FEED:
            self._take_feed(event)
            return
        if event.kind == EventKind.KEY_FRAME:
            target = self.local.get(event.to)
            if target is not None and target.room == event.room and self.sfu is not None:
                self.sfu.key_frame(target)
            return
        if event.kind == EventKind.JOINED:
            self._moves_with(event)
        super()._apply_remote(event)
        if event.kind == EventKind.LEFT and self.sfu is not None:
            self.sfu.remote_left(event.room, event.peer_id)

    def _moves_with(self, event: RoomEvent) -> None:
        """A peer of another server joined: the room moves here at the same join as
        there, and our peers hear it before its ``peer-joined``."""
        members = self.rooms.get(event.room)
        if members is None or event.peer is None or self.sfu is None:
            return
        after = {**members, event.peer_id: event.peer}
        if self.planes.after_join(event.room, after.values(), True):
            self._deliver_to_room(event.room, media_frame(MEDIA_SFU).encode())

    def _take_feed(self, event: RoomEvent) -> None:
        """A feed (or its withdrawal) of a peer of another server, checked first."""
        room, peer_id = event.room, event.peer_id
        members = self.rooms.get(room)
        if self.sfu is None or members is None:
            return  # a room we do not follow (any more)
        if peer_id in self.local or peer_id not in members:
            if event.data is not None:
                self._refuse_feed(room, peer_id, "no member of that room on another server")
            return
        if event.data is None:
            self.sfu.remote_feed(room, peer_id, None)
            return
        try:
            feed = parse_shared_feed(event.data)
        except ProtocolError as error:
            self._refuse_feed(room, peer_id, error.message)
            return
        self.sfu.remote_feed(room, peer_id, feed)

    @staticmethod
    def _refuse_feed(room: str, peer_id: str, why: str) -> None:
        log.warning(
            "nbconference: refused a feed read from the backend for %.64r in room %r: %s",
            peer_id,
            room,
            why,
        )

    def _drop_room(self, room: str) -> None:
        super()._drop_room(room)
        if self.sfu is not None:
            self.sfu.forget_room(room)
