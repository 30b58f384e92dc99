"""Host state across the servers of a room: the ``nbconference serve`` replicas of one
deployment sharing a Redis (docs/protocol.md, "Hosts", "With Redis").

A host's check counts only where a process every participant trusts makes it. Replicas
of ``nbconference serve`` trust each other (only they hold the Redis), so the registry
shares host state with the other servers only when told it may
(:attr:`HostsAcross.trusts_other_servers`, set by standalone.py) and the backend can
(``Backend.shares_hosts``: Redis). A Jupyter server extension sharing Redis with other
users' servers trusts none of them: it keeps host state to itself, as hosts.py does on
one server, and ignores the host events of other servers.

What is shared (redis_hosts.py holds the Redis side):

- the room's hosts, one set for the whole room: a server changes it only through the
  backend (``make-host``, the promotion when the last host leaves, a host on arrival),
  and every server, the one that asked included, marks the hosts when the backend's
  ``hosts`` event comes back. The first verified joiner of a room with no host, and the
  longest present verified member when the last host left, are chosen by one script from
  the members' join times, whichever server asks first;
- a host's ``mute`` and ``remove`` of a peer of another server: that server carries it
  out and answers, and only then does the host get ``done`` (or the error);
- ``end-call``: every server closes its peers in the room;
- bans: in Redis, expiring with the ban, read by every server when an identity joins;
- ``muted`` frames, which every server hands to its own peers of the room.

A layer of :class:`~nbconference.server.rooms.RoomRegistry`, over :class:`HostPowers`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Coroutine
from typing import Any

from ..protocol import (
    ERROR_CODES,
    RECORDER_KIND,
    EndCall,
    ErrorCode,
    HostRequest,
    MakeHost,
    Mute,
    ProtocolError,
    Remove,
)
from .backends.base import BackendUnavailable, EventKind, RoomEvent
from .hosts import Actor, HostPowers, Identity
from .peer import Peer

log = logging.getLogger("nbconference")


class HostsAcross(HostPowers):
    """Host state shared with the other trusted servers of a room, through the backend."""

    trusts_other_servers = False
    """Whether the other servers of this backend are replicas of this deployment, whose
    host events may be acted on (``nbconference serve``); never a Jupyter server's."""

    @property
    def _shared(self) -> bool:
        return self.trusts_other_servers and self.backend.shares_hosts

    # -- who is a host ------------------------------------------------------------------

    def _stamp_host(
        self, info: dict[str, Any], room: str, user: Identity | None, host_token: bool
    ) -> None:
        if not self._shared:
            super()._stamp_host(info, room, user, host_token)
            return
        # The first verified joiner of a room with no host is chosen by the backend once
        # the peer is in (see _arrived), where every server's members are known.
        if info.get("kind") == RECORDER_KIND:
            return
        if host_token or self.access.is_host(room, user):
            info["host"] = True

    async def _read_lobby(self, room: str) -> None:
        """Before a newcomer may enter ``room``: its lobby, where it is shared
        (lobby_across.py)."""

    def _admitted(self, peer: Peer) -> None:
        """``peer`` came in from the lobby."""

    def _arrived(self, peer: Peer) -> None:
        """A member arrived (its welcome is out). In a room with no host, where no rule
        names hosts, the verified member that joined first hosts it: as when the last
        host leaves (and, like that, never in a group room: breakouts.py)."""
        if self._shared and not self.access.names_hosts(peer.room):
            self._host_left(peer.room)

    def _seed_hosts(self, room: str) -> None:
        hosts = self.backend.room_hosts(room) if self._shared else None
        if hosts is not None:
            self._mark_hosts(room, hosts)

    def _host_left(self, room: str) -> None:
        if not self._shared:
            super()._host_left(room)
        elif room in self.rooms and not self.hosts(room):
            self._promote(room)

    def _promote(self, room: str) -> None:
        """Ask the backend to make the verified member that joined first the host of
        ``room``, if it still has none when the request gets there."""
        candidates = [
            pid
            for pid, info in self.rooms.get(room, {}).items()
            if info.get("kind") != RECORDER_KIND and self._verified(pid, info)
        ]
        if candidates:
            self.backend.promote(room, candidates)

    def _verified(self, peer_id: str, info: dict[str, Any]) -> bool:
        peer = self.local.get(peer_id)
        user = peer.user if peer is not None else info.get("user")
        return self.access.who(user) is not None

    def _mark_hosts(self, room: str, hosts: list[str]) -> bool:
        """Mark exactly ``hosts`` among the members of ``room``; whether that changed."""
        changed = False
        chosen = set(hosts)
        for pid, info in self.rooms.get(room, {}).items():
            if (info.get("host") is True) != (pid in chosen):
                changed = True
                if pid in chosen:
                    info["host"] = True
                else:
                    info.pop("host", None)
        return changed

    def _same_person_as_a_host(self, room: str, user: Identity | None) -> bool:
        if not self._shared:
            return super()._same_person_as_a_host(room, user)
        username = self._username(user)
        members = self.rooms.get(room, {})
        return bool(username) and any(
            self._username(self._user_of(pid, members[pid])) == username for pid in self.hosts(room)
        )

    def _user_of(self, peer_id: str, info: dict[str, Any]) -> Identity | None:
        peer = self.local.get(peer_id)
        return peer.user if peer is not None else info.get("user")

    # -- bans -------------------------------------------------------------------------

    async def _check_ban_across(self, room: str, user: Identity | None) -> None:
        username = self._username(user)
        if not self._shared or not username:
            return
        try:
            left = await self.backend.ban_left(room, username)
        except BackendUnavailable as exc:
            raise ProtocolError(ErrorCode.BACKEND_UNAVAILABLE, f"cannot join now: {exc}") from None
        if left > 0:
            minutes = max(1, math.ceil(left / 60))
            raise ProtocolError(
                ErrorCode.BANNED,
                f"a host removed you from room '{room}'; you may join it again in "
                f"{minutes} minute{'s' if minutes != 1 else ''}",
            )

    async def _ban_across(self, room: str, user: Identity | None, minutes: float) -> bool:
        """Like :meth:`_ban`, on every server."""
        banned = self._ban(room, user, minutes)
        if banned:
            await self._backend_call(self.backend.ban(room, self._username(user), minutes * 60))
        return banned

    # -- the requests -----------------------------------------------------------------

    async def host_request(self, actor: Actor, msg: HostRequest) -> None:
        if not self._shared:
            await super().host_request(actor, msg)
        elif isinstance(msg, EndCall):
            self._require_host(actor, "end the call")
            main = self.main_room(actor.room)
            for room in self._rooms_of_call(main):
                await self._backend_call(self.backend.end_call(room, self._ended_by(actor)))
            self._end_call(actor)
        elif isinstance(msg, MakeHost):
            await self._make_host_across(actor, msg)
        elif isinstance(msg, (Mute, Remove)):
            await self._act_on(actor, msg)
        else:
            await super().host_request(actor, msg)

    def main_room(self, room: str) -> str:
        """The main room of ``room`` (breakouts.py: of a group room)."""
        return room

    def _rooms_of_call(self, main: str) -> list[str]:
        """The rooms a call in ``main`` spans (breakouts_across.py: its groups too)."""
        return [main]

    async def _make_host_across(self, actor: Actor, msg: MakeHost) -> None:
        self._require_host(actor, "make someone a host")
        info = self.rooms.get(actor.room, {}).get(msg.peer)
        if info is None:
            raise self._unknown(actor.room, msg.peer)
        if info.get("kind") == RECORDER_KIND:
            raise ProtocolError(ErrorCode.NOT_ALLOWED, "a recorder cannot be a host", peer=msg.peer)
        if not await self._backend_call(self.backend.make_host(actor.room, msg.peer)):
            raise self._unknown(actor.room, msg.peer)
        self._done(actor)

    async def _act_on(self, actor: Actor, msg: Mute | Remove) -> None:
        """Mute or remove a member of ``actor``'s room, on whichever server it is."""
        what = "mute someone" if isinstance(msg, Mute) else "remove someone"
        self._require_host(actor, what)
        if msg.peer not in self.rooms.get(actor.room, {}):
            raise self._unknown(actor.room, msg.peer)
        by = actor.peer.id if actor.peer is not None else ""
        if isinstance(msg, Remove) and msg.peer == by:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, "a host cannot remove themselves: leave instead"
            )
        request: dict[str, Any] = {"by": by, "name": self._name(actor)}
        if isinstance(msg, Mute):
            request.update(type="mute", microphone=msg.microphone, camera=msg.camera)
        else:
            request.update(type="remove", ban_minutes=msg.ban_minutes)
        target = self.local.get(msg.peer)
        if target is not None:
            await self._carry_out(target, request)
        else:
            answer = self.backend.host_act(actor.room, msg.peer, request)
            code, message = await self._backend_call(answer)
            if code:
                known = code if code in ERROR_CODES else ErrorCode.PEER_UNAVAILABLE
                raise ProtocolError(known, message, peer=msg.peer)
        self._done(actor)

    async def _carry_out(self, target: Peer, request: dict[str, Any]) -> None:
        """Carry out a host's ``request`` (checked already) on ``target``, one of ours."""
        name = str(request.get("name") or "a host")
        if request.get("type") == "mute":
            microphone, camera = bool(request.get("microphone")), bool(request.get("camera"))
            self._mute(target, str(request.get("by", "")), name, microphone, camera)
        elif request.get("type") == "remove":
            minutes = float(request.get("ban_minutes", 0))
            room = self.main_room(target.room)
            banned = await self._ban_across(room, target.user, minutes)
            if self.local.get(target.id) is target:
                self._close_removed(target, name, minutes if banned else 0)
        else:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "not a host request")

    async def _backend_call(self, call: Any) -> Any:
        try:
            return await call
        except BackendUnavailable as exc:
            raise ProtocolError(
                ErrorCode.BACKEND_UNAVAILABLE, f"the other servers cannot be reached: {exc}"
            ) from None

    @staticmethod
    def _unknown(room: str, peer_id: str) -> ProtocolError:
        return ProtocolError(
            ErrorCode.UNKNOWN_PEER, f"no peer '{peer_id[:40]}' in room '{room}'", peer=peer_id
        )

    def _tell_room(self, room: str, frame: str) -> None:
        super()._tell_room(room, frame)
        if self._shared:
            self.backend.room_frame(room, frame)

    # -- events of the other servers ----------------------------------------------------

    def _apply_remote(self, event: RoomEvent) -> None:
        kinds = (EventKind.HOSTS, EventKind.HOST_ACT, EventKind.END, EventKind.FRAME)
        if event.kind in kinds:
            if self._shared:
                self._host_event(event)
            else:
                log.debug("nbconference: ignored a %s event of another server", event.kind)
            return
        members = self.rooms.get(event.room, {})
        was_host = event.kind == EventKind.LEFT and members.get(event.peer_id, {}).get("host")
        super()._apply_remote(event)
        if was_host:
            self._host_left(event.room)

    def _host_event(self, event: RoomEvent) -> None:
        room, data = event.room, event.data or {}
        if event.kind == EventKind.HOSTS:
            if self._mark_hosts(room, list(data.get("hosts", []))):
                self._hosts_changed(room)
        elif event.kind == EventKind.FRAME:
            self._deliver_to_room(room, event.data_json.encode())
        elif event.kind == EventKind.END:
            self._close_room(room, str(data.get("reason", "")))
        elif event.kind == EventKind.HOST_ACT:
            self._spawn(self._act_for(event))

    async def _act_for(self, event: RoomEvent) -> None:
        """A host's request from another server, about one of our peers."""
        target = self.local.get(event.to)
        code, message = "", ""
        if target is None or target.room != event.room:
            code = ErrorCode.UNKNOWN_PEER
            message = f"no peer '{event.to[:40]}' in room '{event.room}'"
        else:
            try:
                await self._carry_out(target, event.data or {})
            except ProtocolError as refused:
                code, message = ErrorCode(refused.code).value, refused.message
        self.backend.host_reply(event, code, message)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background (the registry holds the task)."""
        raise NotImplementedError
