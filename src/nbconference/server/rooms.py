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
from dataclasses import dataclass
from typing import Any, Protocol

from ..protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_POLICY,
    CLOSE_REPLACED,
    DEFAULT_CHAT_LIMITS,
    DEFAULT_LIMITS,
    ERROR_CODES,
    Chat,
    ChatLimits,
    ErrorCode,
    Join,
    Limits,
    LowerHand,
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
    PeerBusy,
    PeerInfo,
    RoomEvent,
    RoomFull,
)
from .chat import ChatGate, hand_raised, hand_stamp
from .limits import SocketCounts
from .mailbox import Mailbox
from .names import kept_apart
from .outgoing import Watchdog

log = logging.getLogger("nbconference")


class Transport(Protocol):
    """One client socket as the registry sees it."""

    def send_frame(self, frame: bytes) -> bool:
        """Queue a frame (UTF-8 JSON) for this socket alone: its ``welcome``, an
        ``error``. False when the socket is already closed."""

    def attach(self, mailbox: Mailbox | None) -> None:
        """Drain this peer's mailbox from now on (None: stop)."""

    def wake(self) -> None:
        """The mailbox attached has new frames."""

    def close_socket(self, code: int, reason: str) -> None: ...


@dataclass(eq=False)
class Peer:
    """A peer connected to this process, or dropped and inside its grace window.

    ``mailbox`` holds what its socket has not taken yet, and outlives a dropped socket."""

    info: PeerInfo
    room: str
    resume: str
    transport: Transport | None
    mailbox: Mailbox
    user: Mapping[str, Any] | None = None
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
        chat_limits: ChatLimits | None = None,
    ) -> None:
        self.backend = backend
        self.chat_gate = ChatGate(chat_limits or DEFAULT_CHAT_LIMITS)
        self.limits = limits or DEFAULT_LIMITS
        self.ice_servers = ice_servers or []
        self.rooms: dict[str, dict[str, PeerInfo]] = {}
        self.local: dict[str, Peer] = {}
        self._resume_tokens: dict[str, Peer] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.sockets = SocketCounts()
        self.watchdog = Watchdog(self.limits.send_timeout_seconds)
        self.joins_per_second = self.limits.joins_per_minute / 60

    async def start(self) -> None:
        await self.backend.start(self._apply_remote)

    async def stop(self) -> None:
        for peer in list(self.local.values()):
            if peer.transport is not None:
                peer.transport.close_socket(CLOSE_GOING_AWAY, "server shutting down")
            await self._remove(peer)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.watchdog.stop()
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
        self._stamp_hand(info["state"], msg.room)
        if user is None:
            # A label must not pass for a verified member (names.py). The room as this
            # server knows it is every member with the memory backend, and with Redis
            # whenever one of ours is in the room.
            info = kept_apart(info, self.rooms.get(msg.room, {}).values())
        others = await self._add_peer(msg.room, info)
        if user is None and kept_apart(info, others) != info:
            # With Redis, members on other servers this one did not follow: take the join
            # back and join again, kept apart from them (their pages see the first
            # record come and go).
            await self._remove_from_backend_now(msg.room, str(info["id"]))
            info = kept_apart({**info, "id": secrets.token_urlsafe(12)}, others)
            others = await self._add_peer(msg.room, info)
        limits = self.limits
        mailbox = Mailbox(limits.max_queued_bytes, limits.max_pending_messages)
        peer = Peer(info, msg.room, secrets.token_urlsafe(24), transport, mailbox, user)
        members = self.rooms.setdefault(msg.room, {})
        for other in others:
            members.setdefault(other["id"], other)
        members[peer.id] = info
        self.local[peer.id] = peer
        self._resume_tokens[peer.resume] = peer
        transport.send_frame(self._welcome(peer, resumed=False))
        for frame in self.backend.chat_history(msg.room, peer.id):
            transport.send_frame(frame.encode())
        transport.attach(mailbox)
        self._announce(RoomEvent(EventKind.JOINED, msg.room, peer.id, peer=info), sender=peer)
        return peer

    async def _add_peer(self, room: str, info: PeerInfo) -> list[PeerInfo]:
        try:
            return await self.backend.add_peer(room, info, self.limits.max_peers_per_room)
        except RoomFull:
            raise ProtocolError(
                ErrorCode.ROOM_FULL,
                f"room '{room}' is full ({self.limits.max_peers_per_room} peers)",
            ) from None
        except BackendUnavailable as exc:
            raise ProtocolError(ErrorCode.BACKEND_UNAVAILABLE, f"cannot join now: {exc}") from None

    async def _remove_from_backend_now(self, room: str, peer_id: str) -> None:
        try:
            await self.backend.remove_peer(room, peer_id)
        except BackendUnavailable as exc:
            raise ProtocolError(ErrorCode.BACKEND_UNAVAILABLE, f"cannot join now: {exc}") from None

    def _resume(self, peer: Peer, transport: Transport) -> Peer:
        if peer.expiry is not None:
            peer.expiry.cancel()
            peer.expiry = None
        old, peer.transport = peer.transport, transport
        if old is not None and old is not transport:
            old.close_socket(CLOSE_REPLACED, "replaced by a resumed connection")
        # The welcome first, then what waited in the mailbox, in bounded writes.
        transport.send_frame(self._welcome(peer, resumed=True))
        transport.attach(peer.mailbox)
        return peer

    def _welcome(self, peer: Peer, resumed: bool) -> bytes:
        others = [p for pid, p in self.rooms.get(peer.room, {}).items() if pid != peer.id]
        frame = welcome_frame(
            peer_id=peer.id,
            peer=peer.info,
            resume=peer.resume,
            resumed=resumed,
            room=peer.room,
            peers=others,
            ice_servers=self.ice_servers,
            limits=self.limits,
            chat_limits=self.chat_gate.limits,
        )
        return frame.encode()

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
        self.chat_gate.forget(peer.id)
        peer.mailbox.clear()
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
                ErrorCode.UNKNOWN_PEER,
                f"no peer '{msg.to[:40]}' in room '{sender.room}'",
                peer=msg.to,
            )
        data_json = msg.data_json or encode(msg.data)
        target = self.local.get(msg.to)
        if target is None:
            event = RoomEvent(
                EventKind.SIGNAL,
                sender.room,
                sender.id,
                to=msg.to,
                data=msg.data,
                data_json=data_json,
            )
            try:
                self.backend.publish(event, self._failure_reporter(sender, msg.to))
            except PeerBusy as busy:
                raise ProtocolError(ErrorCode.PEER_UNAVAILABLE, str(busy), peer=msg.to) from None
            return
        if not self._deliver(target, signal_frame(sender.id, data_json).encode()):
            raise ProtocolError(ErrorCode.PEER_UNAVAILABLE, self._full(target), peer=msg.to)

    def set_state(self, peer: Peer, state: Mapping[str, Any], by: str = "") -> None:
        """Merge ``state`` into the peer's; ``by`` is who lowers its hand, if another."""
        update = dict(state)
        old = peer.info["state"]
        if "hand" in update:
            if update["hand"] is True and hand_raised(old):
                update["hand"] = old["hand"]  # still up: it keeps its place
            elif update["hand"] is True:
                self._stamp_hand(update, peer.room)
            else:
                update["hand"] = False
                if hand_raised(old):
                    by = by or peer.id
        merged = {**old, **update}
        if merged == old:
            return  # changes nothing: the room hears nothing
        peer.info["state"] = merged
        event = RoomEvent(EventKind.STATE, peer.room, peer.id, state=merged, by=by)
        self._announce(event, sender=peer)
        if hand_raised(merged) and not hand_raised(old):
            # Its own client learns the time its hand went up, its place in the queue; a
            # newer state of its own still waiting replaces it, as for everyone else.
            frame = peer_state_frame(peer.id, merged).encode()
            self._deliver_event(peer, frame, state_key(peer.id, ""))

    # -- chat and raised hands -------------------------------------------------------

    def chat(self, sender: Peer, msg: Chat) -> None:
        """Stamp ``msg`` (an id, the time, the sender's record) and relay it to the whole
        room, the sender's own socket included: it learns its message's id that way."""
        frame = self.chat_gate.stamp(sender.info, msg.text, msg.from_code)
        self._deliver_chat(sender.room, frame.encode())
        self.backend.add_chat(sender.room, frame, self._failure_reporter(sender, None))

    def lower_hand(self, sender: Peer, msg: LowerHand) -> None:
        """Lower the hand of ``msg.peer``, anyone in the sender's room; the room hears
        who lowered it."""
        members = self.rooms.get(sender.room, {})
        if msg.peer not in members:
            raise ProtocolError(
                ErrorCode.UNKNOWN_PEER,
                f"no peer '{msg.peer[:40]}' in room '{sender.room}'",
                peer=msg.peer,
            )
        target = self.local.get(msg.peer)
        if target is not None:
            if hand_raised(target.info["state"]):
                self.set_state(target, {"hand": False}, by=sender.id)
            return
        if not hand_raised(members[msg.peer].get("state") or {}):
            return  # down already: nothing to tell its server
        event = RoomEvent(EventKind.LOWER, sender.room, sender.id, to=msg.peer)
        self.backend.publish(event, self._failure_reporter(sender, msg.peer))

    def _stamp_hand(self, state: dict[str, Any], room: str) -> None:
        if state.get("hand") is True:
            others = [p.get("state") or {} for p in self.rooms.get(room, {}).values()]
            state["hand"] = hand_stamp(others)

    def _deliver_chat(self, room: str, frame: bytes) -> None:
        for pid in list(self.rooms.get(room, {})):
            target = self.local.get(pid)
            if target is not None:
                self._deliver_event(target, frame)

    def _lower_remote(self, event: RoomEvent) -> None:
        target = self.local.get(event.to)
        if target is not None and target.room == event.room and hand_raised(target.info["state"]):
            self.set_state(target, {"hand": False}, by=event.peer_id)

    # -- delivery --------------------------------------------------------------------

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
        if event.kind == EventKind.SIGNAL:
            self._relay_remote(event)
        elif event.kind == EventKind.REFUSED:
            self._refused_remote(event)
        elif event.kind == EventKind.LOST:
            self._lost_remote(event)
        elif event.kind == EventKind.CHAT:
            self._deliver_chat(event.room, event.data_json.encode())
        elif event.kind == EventKind.LOWER:
            self._lower_remote(event)
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
        for pid in list(self.rooms.get(event.room, {})):
            target = self.local.get(pid)
            if target is not None and pid != event.peer_id:
                self._deliver_event(target, frame)

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
                del self.rooms[event.room]
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


def state_key(peer_id: str, by: str) -> str:
    """What a waiting ``peer-state`` frame is merged by (see :class:`Mailbox`): a newer
    state of the same peer replaces it, so toggling a camera or a hand cannot fill anyone's
    mailbox. A hand lowered by another peer is kept apart (the last one of each peer):
    the room is told who lowered it, and its own peer that it is down."""
    return peer_id if by in ("", peer_id) else f"{peer_id} by"
