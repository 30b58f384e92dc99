"""The lobby across the servers of a room: the ``nbconference serve`` replicas of one
deployment sharing a Redis, which trust each other (hosts_across.py says why and how
the registry knows; docs/protocol.md, "The lobby").

A locked room is locked on every replica: a replica that has no peer in the room reads
its shared lobby before a newcomer enters, and the others hear every change of it, so a
newcomer joining through any replica waits. Every waiting newcomer is listed
in the shared lobby with the replica its socket is on, so the hosts on every replica see
them all (``lobby`` frames list the whole room's lobby). A host's ``admit`` or ``deny``
of a newcomer waiting on another replica travels to that replica, which lets it in (or
turns it away) and answers; ``unlock`` lets everyone in, on every replica. The sockets of
the waiting newcomers stay with their own replica (lobby.py), as do their resume tokens.

Where host state is not shared (a Jupyter server, one process, or a server that does not
trust the others), this layer does nothing.

A layer of :class:`~nbconference.server.rooms.RoomRegistry`, over :class:`LobbyDoors`.
"""

from __future__ import annotations

import logging
from typing import Any

from ..protocol import (
    ERROR_CODES,
    Admit,
    ChatLimits,
    Deny,
    ErrorCode,
    LobbyRequest,
    Lock,
    ProtocolError,
    Unlock,
    lobby_entry,
    lobby_frame,
)
from .access import RoomAccess
from .backends.base import Backend, BackendUnavailable, EventKind, RoomEvent, SharedLobby
from .hosts import Actor
from .lobby import LOBBY_KEY, Lobby, LobbyDoors, lobby_entry_of
from .peer import Peer

log = logging.getLogger("nbconference")


class LobbyAcross(LobbyDoors):
    """The lobbies of the rooms this process serves, shared with the trusted servers."""

    def __init__(self, backend: Backend, chat_limits: ChatLimits, access: RoomAccess) -> None:
        super().__init__(backend, chat_limits, access)
        # The shared lobby of each room, as the backend last told it.
        self.shared_lobbies: dict[str, SharedLobby] = {}

    # -- the shared state ---------------------------------------------------------------

    async def _read_lobby(self, room: str) -> None:
        """Before a newcomer may enter ``room``: whether it is locked, on any server. A
        server that follows the room (one of its peers is in it) hears every change of
        its lobby already; another one reads it."""
        if self._shared and room not in self.rooms:
            self._take_lobby(room, await self._change_lobby(room, "read"))

    async def _change_lobby(
        self, room: str, change: str, peer_id: str = "", entry: dict[str, Any] | None = None
    ) -> SharedLobby:
        try:
            return await self.backend.lobby_change(room, change, peer_id, entry)
        except BackendUnavailable as exc:
            raise ProtocolError(
                ErrorCode.BACKEND_UNAVAILABLE, f"the room's lobby cannot be reached: {exc}"
            ) from None

    def _take_lobby(self, room: str, shared: SharedLobby) -> None:
        """Keep ``shared`` as the lobby of ``room``; our own lobby follows its lock."""
        if shared.locked or shared.waiting:
            self.shared_lobbies[room] = shared
        else:
            self.shared_lobbies.pop(room, None)  # no lobby: nothing to keep
        lobby = self.lobbies.get(room)
        if lobby is None and shared.locked:
            lobby = self.lobbies[room] = Lobby()
        if lobby is not None:
            lobby.locked = shared.locked

    def _share(self, room: str, change: str, peer_id: str, entry: Any = None) -> None:
        """Tell the other servers, in the background, that ``peer_id`` waits or not."""

        async def share() -> None:
            try:
                await self.backend.lobby_change(room, change, peer_id, entry)
            except BackendUnavailable as exc:
                log.warning("nbconference: could not share the lobby of %s: %s", room, exc)

        self._spawn(share())

    def _wait(self, peer: Peer) -> None:
        super()._wait(peer)
        if self._shared:
            entry = lobby_entry_of(peer, self.access.who(peer.user))
            self._share(peer.room, "wait", peer.id, entry)

    def _leave_lobby(self, peer: Peer) -> None:
        super()._leave_lobby(peer)
        if self._shared:
            self._share(peer.room, "gone", peer.id)

    def _admitted(self, peer: Peer) -> None:
        super()._admitted(peer)
        if self._shared:
            self._share(peer.room, "gone", peer.id)

    def _tell_lobby(self, peer: Peer, lobby: Lobby | None) -> None:
        shared = self.shared_lobbies.get(peer.room) if self._shared else None
        if shared is None:
            super()._tell_lobby(peer, lobby)
            return
        listed = sorted(shared.waiting, key=lambda w: (int(w["waiting_since"]), str(w["id"])))
        waiting = [
            lobby_entry(str(w["id"]), str(w["name"]), str(w["username"]), int(w["waiting_since"]))
            for w in listed
        ]
        self._deliver_event(peer, lobby_frame(shared.locked, waiting).encode(), LOBBY_KEY)

    def _drop_room(self, room: str) -> None:
        super()._drop_room(room)
        if self._shared and self.shared_lobbies.pop(room, None) is not None:
            self.backend.forget_lobby(room)

    # -- the requests -----------------------------------------------------------------

    async def lobby_request(self, actor: Actor, msg: LobbyRequest) -> None:
        local = self.lobbies.get(actor.room)
        ours = isinstance(msg, (Admit, Deny)) and local is not None and msg.peer in local.waiting
        if not self._shared or ours:
            await super().lobby_request(actor, msg)
            return
        if isinstance(msg, Lock):
            self._require_host(actor, "lock the room")
            self._take_lobby(actor.room, await self._change_lobby(actor.room, "lock"))
        elif isinstance(msg, Unlock):
            self._require_host(actor, "unlock the room")
            shared = await self._change_lobby(actor.room, "unlock")
            self._take_lobby(actor.room, shared)
            await self._unlock(actor.room)  # ours
            for entry in shared.waiting:
                if local is None or entry["id"] not in local.waiting:
                    await self._ask_about(actor, entry, "admit", quietly=True)
        elif isinstance(msg, (Admit, Deny)):
            change = "admit" if isinstance(msg, Admit) else "deny"
            self._require_host(
                actor, "let someone in" if change == "admit" else "turn someone away"
            )
            shared = await self._change_lobby(actor.room, "read")
            found = [w for w in shared.waiting if w["id"] == msg.peer]
            if not found:
                raise ProtocolError(
                    ErrorCode.UNKNOWN_PEER,
                    f"nobody '{msg.peer[:40]}' waits in the lobby of room '{actor.room}'",
                    peer=msg.peer,
                )
            await self._ask_about(actor, found[0], change)
        self._done(actor)

    async def _ask_about(
        self, actor: Actor, entry: dict[str, Any], change: str, quietly: bool = False
    ) -> None:
        """Have the server a newcomer waits on let it in (or turn it away)."""
        peer_id = str(entry["id"])
        what = {"type": change, "name": self._name(actor)}
        try:
            answer = self.backend.host_act(actor.room, peer_id, what, str(entry["server"]))
            code, message = await self._backend_call(answer)
            if code:
                known = code if code in ERROR_CODES else ErrorCode.PEER_UNAVAILABLE
                raise ProtocolError(known, message, peer=peer_id)
        except ProtocolError:
            if not quietly:
                raise

    async def _act_for(self, event: RoomEvent) -> None:
        change = (event.data or {}).get("type")
        if change not in ("admit", "deny"):
            await super()._act_for(event)
            return
        code, message = "", ""
        lobby = self.lobbies.get(event.room)
        peer = lobby.waiting.get(event.to) if lobby is not None else None
        try:
            if peer is None or peer.transport is None or peer.entering:
                raise ProtocolError(
                    ErrorCode.UNKNOWN_PEER,
                    f"nobody '{event.to[:40]}' waits in the lobby of room '{event.room}'",
                )
            if change == "admit":
                await self._let_in(peer)
            else:
                self._turn_away(peer, str((event.data or {}).get("name") or "a host"))
        except ProtocolError as refused:
            code, message = ErrorCode(refused.code).value, refused.message
        self.backend.host_reply(event, code, message)

    # -- events of the other servers ----------------------------------------------------

    def _apply_remote(self, event: RoomEvent) -> None:
        if event.kind != EventKind.LOBBY:
            super()._apply_remote(event)
        elif self._shared:
            data = event.data or {}
            room = event.room
            was_locked = self.locked(room)
            self._take_lobby(room, SharedLobby(bool(data["locked"]), list(data["waiting"])))
            if was_locked and not self.locked(room):
                self._spawn(self._unlock(room))  # our own newcomers come in
            else:
                self._lobby_changed(room)
