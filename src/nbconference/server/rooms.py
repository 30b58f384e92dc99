"""RoomRegistry: joining a room (or resuming a dropped peer), leaving it, and relaying
signals between its members.

The registry owns the peers connected to this process. It delivers every room event
to its own peers directly (a broadcast is encoded once) and hands the same event to
the backend, which carries it to the other servers of the room, if there are any. It
stands on layers: room_events.py (delivery, and the events of other servers), hands.py
(peer state, raised hands and chat), hosts.py (who hosts a room, and what only they may
do), lobby.py (who waits to be let into a locked room), hosts_across.py and
lobby_across.py (the same two shared across trusted servers), breakouts.py (groups of
a room for a while) and breakouts_across.py.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Coroutine, Mapping
from typing import Any

from ..protocol import (
    CLOSE_GOING_AWAY,
    CLOSE_REPLACED,
    DEFAULT_CHAT_LIMITS,
    DEFAULT_LIMITS,
    ChatLimits,
    ErrorCode,
    Join,
    Limits,
    ProtocolError,
    Signal,
    encode,
    media_frame,
    peer_record,
    signal_frame,
    waiting_frame,
    welcome_frame,
)
from .access import NO_GRANTS, Grants, RoomAccess
from .backends.base import (
    Backend,
    BackendUnavailable,
    EventKind,
    PeerBusy,
    PeerInfo,
    RoomEvent,
    RoomFull,
)
from .breakouts_across import BreakoutsAcross
from .limits import SocketCounts
from .mailbox import Mailbox
from .names import kept_apart
from .outgoing import Watchdog
from .peer import Peer, Transport
from .turn import IceServers, TurnSettings

log = logging.getLogger("nbconference")


class RoomRegistry(BreakoutsAcross):
    """The peers of this process and their rooms: joining (or resuming), leaving, and
    relaying signals; the room events themselves, chat and hands, hosts and the lobby
    are its layers below."""

    def __init__(
        self,
        backend: Backend,
        limits: Limits | None = None,
        ice_servers: list[dict[str, Any]] | None = None,
        chat_limits: ChatLimits | None = None,
        mesh_max_peers: int = 4,
        access: RoomAccess | None = None,
    ) -> None:
        super().__init__(backend, chat_limits or DEFAULT_CHAT_LIMITS, access or RoomAccess())
        self.planes.mesh_max_peers = mesh_max_peers
        self.limits = limits or DEFAULT_LIMITS
        self.ice_servers = ice_servers or []
        self.ice = IceServers(self.ice_servers, None, _send_to)
        self.ice_transport_policy = "all"
        self._resume_tokens: dict[str, Peer] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.sockets = SocketCounts()
        self.watchdog = Watchdog(self.limits.send_timeout_seconds)
        self.joins_per_second = self.limits.joins_per_minute / 60
        # Set while the SFU plane starts (janus/own.py): the server may listen before it
        # is in place, and a join that comes meanwhile waits for it, so that no room opens
        # on the mesh for want of an SFU that is merely not up yet.
        self.sfu_starting: asyncio.Event | None = None

    def use_turn(self, turn: TurnSettings | None, ice_transport_policy: str = "all") -> None:
        """Give every peer TURN credentials of its own (None: only ``ice_servers``), and
        tell clients which candidates to use."""
        self.ice = IceServers(self.ice_servers, turn, _send_to)
        self.ice_transport_policy = ice_transport_policy

    async def start(self) -> None:
        await self.backend.start(self._apply_remote)

    async def stop(self) -> None:
        for running in self.breakouts.values():
            if running.timer is not None:
                running.timer.cancel()
        waiting = [peer for lobby in self.lobbies.values() for peer in lobby.waiting.values()]
        for peer in [*self.local.values(), *waiting]:
            if peer.transport is not None:
                peer.transport.close_socket(CLOSE_GOING_AWAY, "server shutting down")
            await self._remove(peer)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.watchdog.stop()
        self.ice.stop()
        await self.backend.stop()

    # -- joining and leaving ---------------------------------------------------------

    async def join(
        self,
        transport: Transport,
        msg: Join,
        user: Mapping[str, Any] | None = None,
        host_token: bool = False,
        grants: Grants = NO_GRANTS,
    ) -> Peer:
        """Admit ``transport`` to a room (or resume its peer) and send it ``welcome``.

        ``user`` is who the server authenticated on that socket (an identity stamp), or
        None where it knows nobody; the peer's record carries it, whatever the client says.
        ``host_token``: the socket showed the standalone server's host token (hosts.py).
        ``grants``: what the socket may open beyond who it is (access.py); the entry check
        alone reads them, and nothing of them goes into the peer's record.
        A join that ``room_access`` refuses gets ``not-allowed`` before anything reaches
        the backend or the room: nobody there learns of it; so does an identity a host
        removed from the room, with ``banned``, until its ban ends. In a locked room a
        newcomer that is no host gets ``waiting`` instead, and waits in the lobby
        (lobby.py); its peer is returned all the same. A group room of a breakout admits
        only those breakouts.py lets in (``not-allowed`` for anyone else).
        """
        if self.sfu_starting is not None:
            await self.sfu_starting.wait()
        msg = self._back_from_closed_group(msg, transport)
        # A group room is entered as its main room allows, and only as breakouts allow.
        await self.access.admit(self.main_room(msg.room), user, grants)
        resumed = self._resume_tokens.get(msg.resume or "")
        if resumed is not None and resumed.room == msg.room and resumed.user == user:
            return self._resume(resumed, transport)
        self._check_group(msg.room, user, host_token, msg.kind)
        self._check_ban(self.main_room(msg.room), user)
        await self._check_ban_across(self.main_room(msg.room), user)
        info: PeerInfo = peer_record(secrets.token_urlsafe(12), msg, user)
        self._stamp_hand(info["state"], msg.room)
        self._stamp_host(info, msg.room, user, host_token)
        limits = self.limits
        mailbox = Mailbox(limits.max_queued_bytes, limits.max_pending_messages)
        peer = Peer(info, msg.room, secrets.token_urlsafe(24), transport, mailbox, user)
        await self._read_lobby(msg.room)
        if self._must_wait(msg.room, info, user):
            self._resume_tokens[peer.resume] = peer
            self._wait(peer)
            transport.send_frame(self._waiting_frame(peer))
            return peer
        info, others = await self._add_member(peer)
        self._settle(peer, info, others)
        return peer

    async def _add_member(self, peer: Peer) -> tuple[PeerInfo, list[PeerInfo]]:
        info, room = peer.info, peer.room
        if peer.user is None:
            # A label must not pass for a verified member (names.py). The room as this
            # server knows it is every member with the memory backend, and with Redis
            # whenever one of ours is in the room.
            info = kept_apart(info, self.rooms.get(room, {}).values())
        others = await self._add_peer(room, info)
        if peer.user is None and kept_apart(info, others) != info:
            # With Redis, members on other servers this one did not follow: take the join
            # back and join again, kept apart from them (their pages see the first
            # record come and go).
            await self._remove_from_backend_now(room, str(info["id"]))
            info = kept_apart({**info, "id": secrets.token_urlsafe(12)}, others)
            others = await self._add_peer(room, info)
        return info, others

    async def _take_back(self, room: str, peer_id: str) -> None:
        try:
            await self.backend.remove_peer(room, peer_id)
        except BackendUnavailable as exc:
            log.warning("nbconference: could not take %s back from %s: %s", peer_id, room, exc)

    def _settle(self, peer: Peer, info: PeerInfo, others: list[PeerInfo]) -> None:
        room, transport = peer.room, peer.transport
        assert transport is not None
        peer.info = info
        shared = self._shared_media(room) if room not in self.rooms else None
        members = self.rooms.setdefault(room, {})
        for other in others:
            members.setdefault(other["id"], other)
        members[peer.id] = info
        self.local[peer.id] = peer
        self._resume_tokens[peer.resume] = peer
        moved = self._moves_after_join(room, members.values())
        self._seed_feeds(room, shared)
        self._seed_hosts(room)
        transport.send_frame(self._welcome(peer, resumed=False))
        self.ice.keep_fresh(peer)
        for frame in self.backend.chat_history(room, peer.id):
            transport.send_frame(frame.encode())
        transport.attach(peer.mailbox)
        if moved:
            # Before peer-joined: those already in the room make no mesh offer to it.
            moved_frame = media_frame(self.planes.of(room)).encode()
            self._deliver_to_room(room, moved_frame, skip=peer.id)
        self._announce(RoomEvent(EventKind.JOINED, room, peer.id, peer=info), sender=peer)
        self._arrived(peer)

    def _admitted(self, peer: Peer) -> None:
        super()._admitted(peer)
        if self.sfu is not None:
            self.sfu.joined(peer)

    def _waiting_frame(self, peer: Peer) -> bytes:
        return waiting_frame(peer.id, peer.resume, peer.room, peer.waiting_since or 0).encode()

    async def _add_peer(self, room: str, info: PeerInfo) -> list[PeerInfo]:
        try:
            return await self.backend.add_peer(room, info, self.limits.max_peers_per_room)
        except RoomFull:
            message = f"room '{room}' is full ({self.limits.max_peers_per_room} peers)"
            if self.sfu is None:
                message += (
                    "; a full mesh stops here: a server with an SFU (sfu = 'janus') lifts the cap"
                )
            raise ProtocolError(ErrorCode.ROOM_FULL, message) from None
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
        if peer.waiting_since is not None:
            # Back in the lobby, in its place (or in the room, if it was unlocked meanwhile).
            transport.send_frame(self._waiting_frame(peer))
            self._lobby_changed(peer.room)
            if not self.locked(peer.room) and not peer.entering:
                self._spawn(self._let_in_quietly(peer))
            return peer
        # The welcome first, then what waited in the mailbox, in bounded writes.
        transport.send_frame(self._welcome(peer, resumed=True))
        self.ice.keep_fresh(peer)
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
            ice_servers=self.ice.for_peer(peer.id),
            limits=self.limits,
            chat_limits=self.chat_gate.limits,
            ice_transport_policy=self.ice_transport_policy,
            media=self.planes.of(peer.room),
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
        waiting = peer.waiting_since is not None
        if peer.transport is not transport or not (waiting or peer.id in self.local):
            return
        peer.transport = None
        # leave_now, not a task: a resume arriving in the same loop turn as the expiry
        # must find the peer either fully present or fully gone.
        peer.expiry = asyncio.get_running_loop().call_later(
            self.limits.reconnect_grace_seconds, self.leave_now, peer
        )
        if waiting:
            self._lobby_changed(peer.room)  # the hosts see it go; a resume brings it back

    async def _remove(self, peer: Peer) -> None:
        if self._forget(peer):
            await self._remove_from_backend(peer)

    def _forget(self, peer: Peer) -> bool:
        if peer.waiting_since is not None:
            # No member: the room and the backend never knew it; its hosts see it go.
            self._resume_tokens.pop(peer.resume, None)
            if peer.expiry is not None:
                peer.expiry.cancel()
                peer.expiry = None
            self._leave_lobby(peer)
            return False
        if self.local.pop(peer.id, None) is None:
            return False
        if peer.expiry is not None:
            peer.expiry.cancel()
            peer.expiry = None
        self._resume_tokens.pop(peer.resume, None)
        self.ice.forget(peer.id)
        self.chat_gate.forget(peer.id)
        peer.mailbox.clear()
        self._announce(RoomEvent(EventKind.LEFT, peer.room, peer.id), sender=peer)
        members = self.rooms.get(peer.room)
        if self.sfu is not None:
            # Members on other servers may use the same Janus room: it stays for them.
            elsewhere = any(pid not in self.local for pid in members or {})
            self._spawn(self.sfu.leave(peer, elsewhere))
        if members is not None and not any(pid in self.local for pid in members):
            # Other servers' members are followed only while one of ours is in the room.
            self._drop_room(peer.room)
        elif peer.info.get("host") is True:
            self._host_left(peer.room)
        return True

    async def _remove_from_backend(self, peer: Peer) -> None:
        try:
            await self.backend.remove_peer(peer.room, peer.id)
        except BackendUnavailable as exc:
            log.warning("nbconference: could not remove %s from %s: %s", peer.id, peer.room, exc)

    def _enforce_mute(self, peer: Peer, devices: list[str], muted: bool) -> None:
        if self.sfu is not None:
            self._spawn(self.sfu.moderate(peer, devices, muted))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        # The loop keeps only weak references to tasks: hold them until they finish.
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- relaying signals ------------------------------------------------------------

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


def _send_to(peer: Peer, frame: bytes) -> None:
    if peer.transport is not None:
        peer.transport.send_frame(frame)
