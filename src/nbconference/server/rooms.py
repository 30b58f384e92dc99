"""RoomRegistry: who is in which room, relaying between them, and resuming dropped peers.

The registry owns the peers connected to this process. It delivers every room event
to its own peers directly (a broadcast is encoded once) and hands the same event to
the backend, which carries it to the other servers of the room, if there are any.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_REPLACED,
    DEFAULT_LIMITS,
    Join,
    Limits,
    ProtocolError,
    Signal,
    encode,
    error_frame,
    peer_joined_frame,
    peer_left_frame,
    peer_record,
    peer_state_frame,
    signal_frame,
    welcome_frame,
)
from .backends.base import (
    Backend,
    BackendUnavailable,
    EventKind,
    PeerInfo,
    RoomEvent,
    RoomFull,
)
from .limits import SocketCounts

log = logging.getLogger("nbconference")


class Transport(Protocol):
    """One client socket as the registry sees it."""

    def send_frame(self, frame: str) -> bool:
        """Queue ``frame``; False when the socket is already closed."""

    def close_socket(self, code: int, reason: str) -> None: ...


@dataclass(eq=False)
class Peer:
    """A peer connected to this process, or dropped and inside its grace window."""

    info: PeerInfo
    room: str
    resume: str
    transport: Transport | None
    user: Mapping[str, Any] | None = None
    pending: list[str] = field(default_factory=list)
    expiry: asyncio.TimerHandle | None = None

    @property
    def id(self) -> str:
        return str(self.info["id"])


class RoomRegistry:
    def __init__(
        self,
        backend: Backend,
        limits: Limits | None = None,
        ice_servers: list[dict[str, Any]] | None = None,
    ) -> None:
        self.backend = backend
        self.limits = limits or DEFAULT_LIMITS
        self.ice_servers = ice_servers or []
        self.rooms: dict[str, dict[str, PeerInfo]] = {}
        self.local: dict[str, Peer] = {}
        self._resume_tokens: dict[str, Peer] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.sockets = SocketCounts()

    async def start(self) -> None:
        await self.backend.start(self._apply_remote)

    async def stop(self) -> None:
        for peer in list(self.local.values()):
            if peer.transport is not None:
                peer.transport.close_socket(CLOSE_GOING_AWAY, "server shutting down")
            await self._remove(peer)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.backend.stop()

    # -- joining and leaving ---------------------------------------------------------

    async def join(
        self, transport: Transport, msg: Join, user: Mapping[str, Any] | None = None
    ) -> Peer:
        """Admit ``transport`` to a room (or resume its peer) and send it ``welcome``.

        ``user`` is who the server authenticated on that socket (an identity stamp), or
        None where it knows nobody; the peer's record carries it, whatever the client says.
        """
        resumed = self._resume_tokens.get(msg.resume or "")
        if resumed is not None and resumed.room == msg.room and resumed.user == user:
            return self._resume(resumed, transport)
        info: PeerInfo = peer_record(secrets.token_urlsafe(12), msg, user)
        try:
            others = await self.backend.add_peer(msg.room, info, self.limits.max_peers_per_room)
        except RoomFull:
            raise ProtocolError(
                "room-full",
                f"room '{msg.room}' is full ({self.limits.max_peers_per_room} peers)",
            ) from None
        except BackendUnavailable as exc:
            raise ProtocolError("backend-unavailable", f"cannot join now: {exc}") from None
        peer = Peer(info, msg.room, secrets.token_urlsafe(24), transport, user)
        members = self.rooms.setdefault(msg.room, {})
        for other in others:
            members.setdefault(other["id"], other)
        members[peer.id] = info
        self.local[peer.id] = peer
        self._resume_tokens[peer.resume] = peer
        transport.send_frame(self._welcome(peer, resumed=False))
        self._announce(RoomEvent(EventKind.JOINED, msg.room, peer.id, peer=info), sender=peer)
        return peer

    def _resume(self, peer: Peer, transport: Transport) -> Peer:
        if peer.expiry is not None:
            peer.expiry.cancel()
            peer.expiry = None
        old, peer.transport = peer.transport, transport
        if old is not None and old is not transport:
            old.close_socket(CLOSE_REPLACED, "replaced by a resumed connection")
        transport.send_frame(self._welcome(peer, resumed=True))
        pending, peer.pending = peer.pending, []
        for frame in pending:
            transport.send_frame(frame)
        return peer

    def _welcome(self, peer: Peer, resumed: bool) -> str:
        others = [p for pid, p in self.rooms.get(peer.room, {}).items() if pid != peer.id]
        return welcome_frame(
            peer_id=peer.id,
            peer=peer.info,
            resume=peer.resume,
            resumed=resumed,
            room=peer.room,
            peers=others,
            ice_servers=self.ice_servers,
            limits=self.limits,
        )

    async def leave(self, peer: Peer) -> None:
        """The peer said goodbye: it leaves at once."""
        await self._remove(peer)

    def leave_now(self, peer: Peer) -> None:
        """Like :meth:`leave`, for callers that cannot wait: the room forgets the peer
        before this returns (so nothing more is queued for it) and the backend is told
        in the background."""
        if self._forget(peer):
            self._spawn(self._remove_from_backend(peer))

    def disconnected(self, peer: Peer, transport: Transport) -> None:
        """The socket dropped without a goodbye: keep the peer for the grace window."""
        if peer.transport is not transport or peer.id not in self.local:
            return
        peer.transport = None
        # leave_now, not a task: a resume arriving in the same loop turn as the expiry
        # must find the peer either fully present or fully gone.
        peer.expiry = asyncio.get_running_loop().call_later(
            self.limits.reconnect_grace_seconds, self.leave_now, peer
        )

    async def _remove(self, peer: Peer) -> None:
        if self._forget(peer):
            await self._remove_from_backend(peer)

    def _forget(self, peer: Peer) -> bool:
        if self.local.pop(peer.id, None) is None:
            return False
        if peer.expiry is not None:
            peer.expiry.cancel()
            peer.expiry = None
        self._resume_tokens.pop(peer.resume, None)
        peer.pending.clear()
        self._announce(RoomEvent(EventKind.LEFT, peer.room, peer.id), sender=peer)
        members = self.rooms.get(peer.room)
        if members is not None and not any(pid in self.local for pid in members):
            # Other servers' members are followed only while one of ours is in the room.
            del self.rooms[peer.room]
        return True

    async def _remove_from_backend(self, peer: Peer) -> None:
        try:
            await self.backend.remove_peer(peer.room, peer.id)
        except BackendUnavailable as exc:
            log.warning("nbconference: could not remove %s from %s: %s", peer.id, peer.room, exc)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        # The loop keeps only weak references to tasks: hold them until they finish.
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- messages inside a room ------------------------------------------------------

    def signal(self, sender: Peer, msg: Signal) -> None:
        """Relay ``msg`` to its target, stamped with the sender's id."""
        members = self.rooms.get(sender.room, {})
        if msg.to not in members or msg.to == sender.id:
            raise ProtocolError(
                "unknown-peer", f"no peer '{msg.to[:40]}' in room '{sender.room}'", peer=msg.to
            )
        target = self.local.get(msg.to)
        if target is None:
            event = RoomEvent(EventKind.SIGNAL, sender.room, sender.id, to=msg.to, data=msg.data)
            self.backend.publish(event, self._failure_reporter(sender, msg.to))
            return
        frame = signal_frame(sender.id, msg.data_json or encode(msg.data))
        if not self._deliver(target, frame):
            raise ProtocolError(
                "peer-unavailable", f"peer '{msg.to}' is reconnecting; retry later", peer=msg.to
            )

    def set_state(self, peer: Peer, state: dict[str, bool]) -> None:
        peer.info["state"] = {**peer.info["state"], **state}
        self._announce(
            RoomEvent(EventKind.STATE, peer.room, peer.id, state=peer.info["state"]), sender=peer
        )

    # -- delivery --------------------------------------------------------------------

    def _deliver(self, peer: Peer, frame: str) -> bool:
        """Send to a local peer, or keep for it while it reconnects. False when full."""
        if peer.transport is not None and peer.transport.send_frame(frame):
            return True
        if len(peer.pending) >= self.limits.max_pending_messages:
            return False
        peer.pending.append(frame)
        return True

    def _announce(self, event: RoomEvent, sender: Peer | None) -> None:
        """Apply a room event here and hand it to the other servers."""
        self._apply(event)
        if sender is not None:
            self.backend.publish(event, self._failure_reporter(sender, None))

    def _apply_remote(self, event: RoomEvent) -> None:
        if event.kind == EventKind.SIGNAL:
            target = self.local.get(event.to)
            if target is not None and target.room == event.room and event.data is not None:
                frame = signal_frame(event.peer_id, encode(event.data))
                if not self._deliver(target, frame):
                    # The sender is on another server and cannot be answered with an
                    # error; like a missed room event, the overflowing peer leaves, so
                    # the sender learns of it from 'peer-left' rather than from silence.
                    self.leave_now(target)
            return
        self._apply(event)

    def _apply(self, event: RoomEvent) -> None:
        members = self.rooms.get(event.room)
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
                del self.rooms[event.room]
            frame = peer_left_frame(event.peer_id)
        elif event.kind == EventKind.STATE and event.state is not None:
            members[event.peer_id]["state"] = event.state
            frame = peer_state_frame(event.peer_id, event.state)
        else:
            return
        for pid in list(members):
            target = self.local.get(pid)
            if pid != event.peer_id and target is not None and not self._deliver(target, frame):
                # A reconnecting peer that missed this much cannot be brought up to date by
                # a resume: it leaves now (before a resume could slip in), and a later
                # join gets a fresh welcome instead.
                self.leave_now(target)

    def _failure_reporter(self, sender: Peer, to: str | None) -> Callable[[str], None]:
        def report(reason: str) -> None:
            what = f"signal to '{to}'" if to else "room update"
            if sender.transport is not None:
                sender.transport.send_frame(
                    error_frame("backend-unavailable", f"{what} not delivered: {reason}", to)
                )

        return report
