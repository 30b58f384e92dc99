"""Room events delivered to the peers of this process: what happens in their rooms here,
and what other servers hand on through the backend (signals, refusals, lost streams).

The base of :class:`~nbconference.server.rooms.RoomRegistry`: it holds who is in which
room, queues frames in the peers' mailboxes, applies ``joined`` / ``left`` / ``state``
events (a broadcast is encoded once) and hands each event to the backend.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..protocol import (
    CLOSE_POLICY,
    ERROR_CODES,
    ErrorCode,
    encode,
    error_frame,
    peer_joined_frame,
    peer_left_frame,
    peer_state_frame,
    signal_frame,
)
from .backends.base import Backend, EventKind, PeerInfo, RoomEvent
from .media import MediaPlanes
from .peer import Peer, state_key

log = logging.getLogger("nbconference")


class RoomEvents:
    """The rooms as this process knows them, and delivery to its own peers."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        # Every member of a room one of our peers is in, ours and other servers'.
        self.rooms: dict[str, dict[str, PeerInfo]] = {}
        self.local: dict[str, Peer] = {}
        # The plane of each room's media (media.py); the registry sets mesh_max_peers.
        self.planes = MediaPlanes(mesh_max_peers=4)

    def _drop_room(self, room: str) -> None:
        """This process follows ``room`` no more (it emptied, or none of ours is in it)."""
        self.rooms.pop(room, None)
        self.planes.emptied(room)

    def leave_now(self, peer: Peer) -> None:
        """Forget ``peer`` at once (the registry's leave; a peer too far behind leaves)."""
        raise NotImplementedError

    def _deliver(self, peer: Peer, frame: bytes) -> bool:
        """Queue a signal for a local peer, connected or away; False when its mailbox is
        full (the sender is told)."""
        if not peer.mailbox.put(frame):
            return False
        if peer.transport is not None:
            peer.transport.wake()
        return True

    def _deliver_event(self, peer: Peer, frame: bytes, state_of: str | None = None) -> None:
        """Queue a room event (or an error) for a local peer, connected or away."""
        if peer.mailbox.put_event(frame, state_of):
            if peer.transport is not None:
                peer.transport.wake()
            return
        # Nobody can be told that the peer missed this. It cannot be brought up to date,
        # by a resume or otherwise: it leaves now, before a resume could slip in, and
        # comes back (if it does) as a new peer with a fresh welcome.
        log.warning("nbconference: %s is too far behind its room; it leaves", peer.id)
        transport = peer.transport
        self.leave_now(peer)
        if transport is not None:
            transport.close_socket(CLOSE_POLICY, "too far behind the room's events")

    def _deliver_to_room(self, room: str, frame: bytes, skip: str = "") -> None:
        """Queue a frame for every local peer of ``room`` but ``skip``."""
        for pid in list(self.rooms.get(room, {})):
            target = self.local.get(pid)
            if target is not None and pid != skip:
                self._deliver_event(target, frame)

    @staticmethod
    def _full(peer: Peer) -> str:
        why = "is reconnecting" if peer.transport is None else "is not reading fast enough"
        waiting = f"{peer.mailbox.count} messages, {peer.mailbox.bytes} bytes"
        return f"peer '{peer.id}' {why} and cannot take more now ({waiting}); retry later"

    def _announce(self, event: RoomEvent, sender: Peer | None) -> None:
        """Apply a room event here and hand it to the other servers."""
        self._apply(event)
        if sender is not None:
            self.backend.publish(event, self._failure_reporter(sender, None))

    def _apply_remote(self, event: RoomEvent) -> None:
        """An event another server handed on (through the backend's sink)."""
        if event.kind == EventKind.SIGNAL:
            self._relay_remote(event)
        elif event.kind == EventKind.REFUSED:
            self._refused_remote(event)
        elif event.kind == EventKind.LOST:
            self._lost_remote(event)
        else:
            self._apply(event)

    def _refused_remote(self, event: RoomEvent) -> None:
        """Another server did not deliver a signal of one of our peers: tell it."""
        sender = self.local.get(event.peer_id)
        reason = event.data or {}
        code = reason.get("code")
        if sender is not None and code in ERROR_CODES:
            frame = error_frame(str(code), str(reason.get("message", "")), event.to)
            self._deliver_event(sender, frame.encode())

    def _lost_remote(self, event: RoomEvent) -> None:
        """The server of ``event.peer_id`` missed part of the event stream: what was sent
        to that peer meanwhile may not have arrived. Its room's members here are told."""
        message = (
            f"signals to '{event.peer_id}' may have been lost: its server lost its "
            "connection to Redis for a moment"
        )
        frame = error_frame(ErrorCode.BACKEND_UNAVAILABLE, message, event.peer_id).encode()
        self._deliver_to_room(event.room, frame, skip=event.peer_id)

    def _relay_remote(self, event: RoomEvent) -> None:
        """A signal from a peer on another server: delivered, or refused back to it."""
        target = self.local.get(event.to)
        if target is None or target.room != event.room or event.data is None:
            # It left after the sender's server last heard of it.
            message = f"peer '{event.to[:40]}' left room '{event.room}' before this reached it"
            self.backend.refuse(event, ErrorCode.UNKNOWN_PEER, message)
            return
        frame = signal_frame(event.peer_id, event.data_json or encode(event.data))
        if not self._deliver(target, frame.encode()):
            self.backend.refuse(event, ErrorCode.PEER_UNAVAILABLE, self._full(target))

    def _apply(self, event: RoomEvent) -> None:
        members = self.rooms.get(event.room)
        state_of = None
        if event.kind == EventKind.JOINED:
            assert event.peer is not None
            if members is None:
                return
            members[event.peer_id] = event.peer
            frame = peer_joined_frame(event.peer)
        elif members is None or event.peer_id not in members:
            return
        elif event.kind == EventKind.LEFT:
            del members[event.peer_id]
            if not members:
                self._drop_room(event.room)
            frame = peer_left_frame(event.peer_id)
        elif event.kind == EventKind.STATE and event.state is not None:
            members[event.peer_id]["state"] = event.state
            frame = peer_state_frame(event.peer_id, event.state, event.by)
            state_of = state_key(event.peer_id, event.by)
        else:
            return
        encoded = frame.encode()  # once for the whole room
        for pid in list(members):
            target = self.local.get(pid)
            if (pid != event.peer_id or event.by) and target is not None:
                self._deliver_event(target, encoded, state_of)

    def _failure_reporter(self, sender: Peer, to: str | None) -> Callable[[str], None]:
        def report(reason: str) -> None:
            what = f"signal to '{to}'" if to else "room update"
            if self.local.get(sender.id) is sender:
                frame = error_frame(
                    ErrorCode.BACKEND_UNAVAILABLE, f"{what} not delivered: {reason}", to
                )
                self._deliver_event(sender, frame.encode())

        return report
