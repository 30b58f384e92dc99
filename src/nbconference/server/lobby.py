"""The lobby of a locked room, enforced here: who waits, who sees them, and a host's
``lock``, ``unlock``, ``admit`` and ``deny`` (docs/protocol.md, "The lobby").

A host locks a room. A newcomer then enters directly only if it hosts the room on
arrival (:meth:`HostPowers._stamp_host`: the host token, the rule's hosts, the first
verified identity of a room that has no host) or may act as its host by right (the
rule's hosts, the server's owner where no rule names hosts, the same person as a host
here). Anyone else waits: a :class:`~.peer.Peer` that is no member of the room (not in
the backend, not in :attr:`rooms`, not in :attr:`local`), whose socket gets ``waiting``
and nothing else, until a host lets it in or not.

Those who may act as the room's hosts and are in it get ``lobby`` whenever it changes,
when they arrive while it exists, and when they become hosts. So when the last host
leaves and the promotion rule makes someone host, that host sees the lobby; when
nobody can be promoted (no verified participant is left), the lobby is kept, locked,
and the next host to arrive (who enters directly, being a host) sees it. A lobby is
forgotten once it is unlocked and empty, or once nobody is in the room or waiting.

A waiting peer whose socket drops leaves the visible lobby at once (hosts see it go),
but keeps its resume token for the grace window: back in time, it waits again, with
the time it first started waiting. One that leaves on purpose is gone.

Each server keeps the lobbies of its own sockets here. Between replicas of
``nbconference serve`` sharing a Redis, the layer above (lobby_across.py) shares the
lock and the list of who waits, so that hosts on every replica see and run it
(docs/protocol.md, "The lobby").

A layer of :class:`~nbconference.server.rooms.RoomRegistry`, over :class:`HostsAcross`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..protocol import (
    CLOSE_DENIED,
    CLOSE_ENDED,
    RECORDER_KIND,
    Admit,
    ChatLimits,
    Deny,
    ErrorCode,
    LobbyRequest,
    Lock,
    ProtocolError,
    Unlock,
    close_reason,
    lobby_entry,
    lobby_frame,
)
from .access import RoomAccess
from .backends.base import Backend, PeerInfo
from .hosts import NAME_IN_REASON, Actor
from .hosts_across import HostsAcross
from .names import kept_apart
from .peer import Peer

# What a lobby frame waiting in a mailbox is merged by: a newer one replaces it. Peer
# ids (16 characters) never equal it.
LOBBY_KEY = "lobby"


@dataclass
class Lobby:
    """A room's lobby: whether it is locked, and who waits (in the order they came),
    connected or inside their grace window."""

    locked: bool = False
    waiting: dict[str, Peer] = field(default_factory=dict)

    def shown(self) -> list[Peer]:
        """Those the hosts see: connected (one that dropped comes back with a resume)."""
        return [p for p in self.waiting.values() if p.transport is not None]


class LobbyDoors(HostsAcross):
    """The lobbies of the rooms of this process, and the host requests that run them."""

    def __init__(self, backend: Backend, chat_limits: ChatLimits, access: RoomAccess) -> None:
        super().__init__(backend, chat_limits, access)
        self.lobbies: dict[str, Lobby] = {}

    # -- what the registry does (rooms.py) ----------------------------------------------

    async def _add_member(self, peer: Peer) -> tuple[PeerInfo, list[PeerInfo]]:
        """Add ``peer``'s record to the backend: its record as the room sees it, and the
        room's other members. Raises ProtocolError (``room-full``, ...)."""
        raise NotImplementedError

    async def _take_back(self, room: str, peer_id: str) -> None:
        """Undo :meth:`_add_member`."""
        raise NotImplementedError

    def _settle(self, peer: Peer, info: PeerInfo, others: list[PeerInfo]) -> None:
        """Make ``peer`` a member once the backend took it: the room, its welcome."""
        raise NotImplementedError

    def _admitted(self, peer: Peer) -> None:
        """``peer`` came in from the lobby (the SFU hears of it)."""
        super()._admitted(peer)

    # -- who waits, who sees them ---------------------------------------------------------

    def locked(self, room: str) -> bool:
        lobby = self.lobbies.get(room)
        return lobby is not None and lobby.locked

    def _must_wait(
        self, room: str, info: Mapping[str, Any], user: Mapping[str, Any] | None
    ) -> bool:
        """Whether a newcomer (its record stamped by :meth:`_stamp_host`) waits: the room
        is locked, and it neither hosts it on arrival nor may act as its host by right."""
        if not self.locked(room) or info.get("host") is True:
            return False
        return not self._by_right(room, user)

    def _sees_lobby(self, peer: Peer) -> bool:
        """A member that may act as a host of its room (a recorder never does)."""
        if peer.info.get("kind") == RECORDER_KIND:
            return False
        return peer.info.get("host") is True or self._by_right(peer.room, peer.user)

    def _wait(self, peer: Peer) -> None:
        """``peer``, a newcomer of a locked room, waits in its lobby from now on. Its name
        is kept apart from the verified members' as the hosts see it (names.py)."""
        peer.waiting_since = int(time.time() * 1000)
        state = peer.info["state"]
        if "hand" in state:
            state["hand"] = False  # a hand goes up in the room, not in its lobby
        if peer.user is None:
            peer.info = kept_apart(peer.info, self.rooms.get(peer.room, {}).values())
        self.lobbies.setdefault(peer.room, Lobby()).waiting[peer.id] = peer
        self._lobby_changed(peer.room)

    def _leave_lobby(self, peer: Peer) -> None:
        """``peer`` waits no more (it left, was denied, or its grace window passed)."""
        lobby = self.lobbies.get(peer.room)
        if lobby is None or lobby.waiting.get(peer.id) is not peer:
            return
        del lobby.waiting[peer.id]
        self._lobby_changed(peer.room)

    def _lobby_changed(self, room: str) -> None:
        """Tell those who may act as the room's hosts what its lobby is now; forget a
        lobby that is unlocked and empty, or that has nobody in the room or waiting."""
        lobby = self.lobbies.get(room)
        if lobby is not None and not lobby.waiting and (not lobby.locked or room not in self.rooms):
            del self.lobbies[room]
        for pid in list(self.rooms.get(room, {})):
            target = self.local.get(pid)
            if target is not None and self._sees_lobby(target):
                self._tell_lobby(target, lobby)

    def _tell_lobby(self, peer: Peer, lobby: Lobby | None) -> None:
        if lobby is None:
            frame = lobby_frame(False, [])
        else:
            waiting = [lobby_entry_of(p, self.access.who(p.user)) for p in lobby.shown()]
            frame = lobby_frame(lobby.locked, waiting)
        self._deliver_event(peer, frame.encode(), LOBBY_KEY)

    def _arrived(self, peer: Peer) -> None:
        """A member arrived (its welcome is out): one who may act as a host sees the
        lobby, if the room has one."""
        super()._arrived(peer)
        lobby = self.lobbies.get(peer.room)
        if lobby is not None and self._sees_lobby(peer):
            self._tell_lobby(peer, lobby)

    def _hosts_changed(self, room: str) -> None:
        super()._hosts_changed(room)
        if room in self.lobbies:
            self._lobby_changed(room)  # a new host sees the lobby

    def _drop_room(self, room: str) -> None:
        super()._drop_room(room)
        lobby = self.lobbies.get(room)
        if lobby is not None and not lobby.waiting:
            del self.lobbies[room]  # nobody in the room or waiting: the next call is open

    def peer_state(self, peer: Peer, state: Mapping[str, Any]) -> None:
        """A waiting peer's ``state`` is kept for its welcome and told to nobody."""
        if peer.waiting_since is None:
            super().peer_state(peer, state)
            return
        update = {key: value for key, value in state.items() if key != "hand"}
        peer.info["state"] = {**peer.info["state"], **update}

    # -- the requests -----------------------------------------------------------------

    async def lobby_request(self, actor: Actor, msg: LobbyRequest) -> None:
        """Carry out ``msg`` for ``actor``, or raise :class:`ProtocolError` (``not-host``
        for anyone but a host) and change nothing."""
        if isinstance(msg, Lock):
            self._require_host(actor, "lock the room")
            lobby = self.lobbies.setdefault(actor.room, Lobby())
            if not lobby.locked:
                lobby.locked = True
                self._lobby_changed(actor.room)
        elif isinstance(msg, Unlock):
            self._require_host(actor, "unlock the room")
            await self._unlock(actor.room)
        elif isinstance(msg, Admit):
            self._require_host(actor, "let someone in")
            await self._let_in(self._waiting(actor, msg.peer))
        elif isinstance(msg, Deny):
            self._require_host(actor, "turn someone away")
            self._deny(actor, self._waiting(actor, msg.peer))
        self._done(actor)

    def _waiting(self, actor: Actor, peer_id: str) -> Peer:
        """The peer waiting in the lobby of ``actor``'s room that a request is about."""
        lobby = self.lobbies.get(actor.room)
        peer = lobby.waiting.get(peer_id) if lobby is not None else None
        if peer is None or peer.transport is None or peer.entering:
            raise ProtocolError(
                ErrorCode.UNKNOWN_PEER,
                f"nobody '{peer_id[:40]}' waits in the lobby of room '{actor.room}'",
                peer=peer_id,
            )
        return peer

    async def _unlock(self, room: str) -> None:
        """Unlock ``room``: everyone waiting comes in, as many as the room has places for
        (the rest wait on, and the hosts see them)."""
        lobby = self.lobbies.get(room)
        if lobby is None:
            return
        lobby.locked = False
        for peer in [p for p in lobby.shown() if not p.entering]:
            try:
                await self._let_in(peer)
            except ProtocolError as refused:
                if refused.code == ErrorCode.ROOM_FULL:
                    break
        self._lobby_changed(room)

    async def _let_in(self, peer: Peer) -> None:
        """Make the waiting ``peer`` a member: the room gets ``peer-joined``, and it its
        ``welcome`` (with the members and the chat history). Raises ProtocolError when
        the room is full, or when the peer left the lobby meanwhile."""
        room = peer.room
        peer.entering = True  # hidden from further requests; the hosts see it until it is in
        try:
            info, others = await self._add_member(peer)
        finally:
            peer.entering = False
        lobby = self.lobbies.get(room)
        if lobby is None or lobby.waiting.get(peer.id) is not peer or peer.transport is None:
            # It left (or dropped) while the backend took it: it is no member after all.
            await self._take_back(room, str(info["id"]))
            self._lobby_changed(room)
            raise ProtocolError(
                ErrorCode.PEER_UNAVAILABLE,
                f"'{peer.id[:40]}' left the lobby before it could be let in",
                peer=peer.id,
            )
        del lobby.waiting[peer.id]
        peer.waiting_since = None
        self._settle(peer, info, others)
        self._admitted(peer)
        self._lobby_changed(room)

    async def _let_in_quietly(self, peer: Peer) -> None:
        """Let ``peer`` in if it can be; otherwise it waits on (the hosts see it)."""
        with contextlib.suppress(ProtocolError):
            await self._let_in(peer)

    def _deny(self, actor: Actor, peer: Peer) -> None:
        self._turn_away(peer, self._name(actor))

    def _turn_away(self, peer: Peer, name: str) -> None:
        """Turn ``peer`` away for the host ``name``: its socket closes for good, its
        resume token dies."""
        reason = f"{name[:NAME_IN_REASON]} did not let you in"
        transport = peer.transport
        self.leave_now(peer)
        if transport is not None:
            transport.close_socket(CLOSE_DENIED, close_reason(reason))

    def _close_room(self, room: str, reason: str) -> None:
        """The room's members leave, and so does everyone waiting in its lobby."""
        super()._close_room(room, reason)
        lobby = self.lobbies.get(room)
        if lobby is None:
            return
        for peer in list(lobby.waiting.values()):
            transport = peer.transport
            self.leave_now(peer)
            if transport is not None:
                transport.close_socket(CLOSE_ENDED, reason)
        self.lobbies.pop(room, None)


def lobby_entry_of(peer: Peer, who: Mapping[str, Any] | None) -> dict[str, Any]:
    """A waiting peer as the hosts see it."""
    username = str((who or {}).get("username") or "")
    return lobby_entry(peer.id, str(peer.info.get("name", "")), username, peer.waiting_since or 0)
