"""Hosts, and the powers only they have: mute, remove (with a ban), end the call, make
another participant a host, lower anyone's hand.

Who hosts a room is decided here, in the trusted signaling process, never by a page:

- the hosts the room's ``room_access`` rule names;
- where no rule names hosts, the first verified identity to join a room that has no host
  (a socket that names a person; in the extension a socket with only the server's token
  stands for the server's owner);
- on ``nbconference serve``, every socket that showed the host token;
- a host makes another participant a host;
- when the last host leaves, the participant present longest whose identity is verified.

A host is marked in its public record (``"host": true``); a ``hosts`` frame tells the
room when its hosts change. Recorders never host. Besides the marked hosts, the server's
owner may use host powers in every room whose rule names no hosts (a notebook's code,
over a socket with the server's token: whoever runs code in that kernel acts as its
owner already), and so may any socket of a person the rule names, or of the same
person as a host of the room (their kernel on a JupyterHub, a second tab), joined or
not. The state lives with the room's
members (:attr:`RoomEvents.rooms`) and the bans here; the lobby of a locked room is the
layer above (lobby.py): a room's hosts decide, the registry enforces.

This layer decides for the peers of this process. The replicas of ``nbconference
serve`` sharing a Redis share host state through the layer above (hosts_across.py); a
Jupyter server with the Redis backend does not (docs/protocol.md, "Hosts").

A layer of :class:`~nbconference.server.rooms.RoomRegistry`, over chat and hands.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..protocol import (
    CLOSE_ENDED,
    CLOSE_REMOVED,
    MUTE_DEVICES,
    RECORDER_KIND,
    ChatLimits,
    EndCall,
    ErrorCode,
    HostRequest,
    LowerHand,
    MakeHost,
    Mute,
    ProtocolError,
    Remove,
    close_reason,
    done_frame,
    hosts_frame,
    muted_frame,
)
from .access import RoomAccess
from .backends.base import Backend
from .hands import ChatAndHands
from .peer import Peer, Transport

Identity = Mapping[str, Any]
# A name in a close reason: the reason must fit in 123 bytes.
NAME_IN_REASON = 40


@dataclass(frozen=True)
class Actor:
    """Who makes a host request: the peer of a socket that joined ``room``, or a socket
    that did not (``peer`` None: a notebook's code naming the room it acts on)."""

    transport: Transport | None
    room: str
    peer: Peer | None
    user: Identity | None
    host_token: bool = False
    request: str | None = None


class HostPowers(ChatAndHands):
    """Who hosts each room of this process, and the host requests."""

    def __init__(self, backend: Backend, chat_limits: ChatLimits, access: RoomAccess) -> None:
        super().__init__(backend, chat_limits)
        self.access = access
        # (room, username) -> when its ban ends (time.monotonic()).
        self._bans: dict[tuple[str, str], float] = {}

    # -- who is a host ------------------------------------------------------------------

    def hosts(self, room: str) -> list[str]:
        """The ids of the hosts in ``room``, in the order they came."""
        return [pid for pid, info in self.rooms.get(room, {}).items() if info.get("host") is True]

    def _username(self, identity: Identity | None) -> str:
        who = self.access.who(identity)
        return str((who or {}).get("username") or "")

    def _stamp_host(
        self, info: dict[str, Any], room: str, user: Identity | None, host_token: bool
    ) -> None:
        """Mark a joining peer's record ``host`` when it hosts the room on arrival: it
        showed the host token, the room's rule names it among the hosts, or it is the
        first verified identity in a room that has no host (where no rule names hosts)."""
        if info.get("kind") == RECORDER_KIND:
            return
        if self.access.names_hosts(room):
            hosts = host_token or self.access.is_host(room, user)
        else:
            first = not self.hosts(room) and self.access.who(user) is not None
            hosts = host_token or first
        if hosts:
            info["host"] = True

    def _by_right(self, room: str, user: Identity | None) -> bool:
        """May act as a host of ``room`` without being marked one: a host the rule names,
        the server's owner where no rule names hosts (a notebook's code, with the token
        of the server it runs on), or the same person as one of the room's hosts here."""
        return self.access.host_by_right(room, user) or self._same_person_as_a_host(room, user)

    def _same_person_as_a_host(self, room: str, user: Identity | None) -> bool:
        username = self._username(user)
        return bool(username) and any(
            self._username(peer.user) == username for peer in self._local_hosts(room)
        )

    def _local_hosts(self, room: str) -> Iterator[Peer]:
        for pid in self.hosts(room):
            peer = self.local.get(pid)
            if peer is not None:
                yield peer

    def _host_left(self, room: str) -> None:
        """A host left ``room``: with no host left, the participant present longest whose
        identity is verified hosts it (none: the room has no host until one comes)."""
        members = self.rooms.get(room)
        if not members or self.hosts(room):
            return
        for pid, info in members.items():
            peer = self.local.get(pid)
            if peer is None or info.get("kind") == RECORDER_KIND:
                continue
            if self.access.who(peer.user) is not None:
                info["host"] = True
                self._hosts_changed(room)
                return

    def _hosts_changed(self, room: str) -> None:
        """The hosts of ``room`` changed: everyone in it hears who they are now."""
        self._deliver_to_room(room, hosts_frame(self.hosts(room)).encode())

    def _require_host(self, actor: Actor, what: str) -> None:
        """Raise ``not-host`` unless ``actor`` hosts its room."""
        marked = actor.peer is not None and actor.peer.info.get("host") is True
        if marked or actor.host_token or self._by_right(actor.room, actor.user):
            return
        hosts = len(self.hosts(actor.room))
        plural = "s" if hosts != 1 else ""
        who = f"its {hosts} host{plural}" if hosts else "a host (it has none now)"
        raise ProtocolError(
            ErrorCode.NOT_HOST,
            f"only a host of room '{actor.room}' may {what}; ask {who}",
        )

    # -- bans -------------------------------------------------------------------------

    def _check_ban(self, room: str, user: Identity | None) -> None:
        """Raise ``banned`` while a host's ban keeps ``user``'s identity out of ``room``."""
        username = self._username(user)
        if not username:
            return
        until = self._bans.get((room, username))
        if until is None:
            return
        left = until - time.monotonic()
        if left <= 0:
            del self._bans[(room, username)]
            return
        minutes = max(1, math.ceil(left / 60))
        raise ProtocolError(
            ErrorCode.BANNED,
            f"a host removed you from room '{room}'; you may join it again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}",
        )

    def _ban(self, room: str, user: Identity | None, minutes: float) -> bool:
        """Keep ``user``'s identity out of ``room`` for ``minutes``; False when the socket
        named nobody (it cannot be told from another, so nobody is banned)."""
        username = self._username(user)
        if not username or minutes <= 0:
            return False
        now = time.monotonic()
        self._bans = {key: end for key, end in self._bans.items() if end > now}
        self._bans[(room, username)] = now + minutes * 60
        return True

    # -- the requests -----------------------------------------------------------------

    async def host_request(self, actor: Actor, msg: HostRequest) -> None:
        """Carry out ``msg`` for ``actor``, or raise :class:`ProtocolError` (``not-host``
        for anyone but a host) and change nothing."""
        if isinstance(msg, Mute):
            self._mute_someone(actor, msg)
        elif isinstance(msg, Remove):
            self._remove_someone(actor, msg)
        elif isinstance(msg, EndCall):
            self._end_call(actor)
        elif isinstance(msg, MakeHost):
            self._make_host(actor, msg)

    def _target(self, actor: Actor, peer_id: str) -> Peer:
        """The peer of ``actor``'s room that a request is about: one of this server's."""
        if peer_id not in self.rooms.get(actor.room, {}):
            raise ProtocolError(
                ErrorCode.UNKNOWN_PEER,
                f"no peer '{peer_id[:40]}' in room '{actor.room}'",
                peer=peer_id,
            )
        target = self.local.get(peer_id)
        if target is None or target.room != actor.room:
            raise ProtocolError(
                ErrorCode.PEER_UNAVAILABLE,
                f"peer '{peer_id[:40]}' is connected to another server of the room; host "
                "requests reach only the peers of the server they are sent to",
                peer=peer_id,
            )
        return target

    def _done(self, actor: Actor) -> None:
        if actor.request is not None and actor.transport is not None:
            actor.transport.send_frame(done_frame(actor.request).encode())

    def _name(self, actor: Actor) -> str:
        """The host as the room knows them."""
        if actor.peer is not None:
            return str(actor.peer.info.get("name") or "a host")
        if actor.user is not None:
            return str(actor.user.get("display_name") or actor.user.get("username") or "a host")
        username = self._username(None)
        return f"{username}'s notebook" if username else "a host"

    def _mute_someone(self, actor: Actor, msg: Mute) -> None:
        self._require_host(actor, "mute someone")
        target = self._target(actor, msg.peer)
        by = actor.peer.id if actor.peer is not None else ""
        self._mute(target, by, self._name(actor), msg.microphone, msg.camera)
        self._done(actor)

    def _mute(self, target: Peer, by: str, name: str, microphone: bool, camera: bool) -> None:
        """Turn ``target``'s devices off for the host ``by`` (its peer id, or ``""``),
        known to the room as ``name``; everyone in the room hears who did."""
        devices = [d for d, off in zip(MUTE_DEVICES, (microphone, camera), strict=True) if off]
        for device in devices:
            target.forced.setdefault(device, False)
        self.set_state(target, dict.fromkeys(devices, False))
        frame = muted_frame(target.id, by, name, microphone, camera)
        self._tell_room(target.room, frame)
        self._enforce_mute(target, devices, True)

    def _tell_room(self, room: str, frame: str) -> None:
        """A frame for everyone in ``room`` (hosts_across.py: on every server)."""
        self._deliver_to_room(room, frame.encode())

    def peer_state(self, peer: Peer, state: Mapping[str, Any]) -> None:
        """A ``state`` from ``peer`` itself. A device a host turned off stays off until the
        peer has said it is off: a state of the peer's that crossed the mute on the wire
        cannot turn it back on; a later one can (the person unmuted)."""
        update = dict(state)
        for device, acknowledged in list(peer.forced.items()):
            said = update.get(device)
            if said is False:
                peer.forced[device] = True
            elif said is True and acknowledged:
                del peer.forced[device]
                self._enforce_mute(peer, [device], False)
            elif said is True:
                update[device] = False
        self.set_state(peer, update)

    def _enforce_mute(self, peer: Peer, devices: list[str], muted: bool) -> None:
        """Where the room's media go through the SFU, have it enforce the mute too (the
        registry does; on a mesh the receivers do)."""

    def _remove_someone(self, actor: Actor, msg: Remove) -> None:
        self._require_host(actor, "remove someone")
        target = self._target(actor, msg.peer)
        if target is actor.peer:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE,
                "a host cannot remove themselves: leave instead",
            )
        banned = self._ban(actor.room, target.user, msg.ban_minutes)
        self._close_removed(target, self._name(actor), msg.ban_minutes if banned else 0)
        self._done(actor)

    def _close_removed(self, target: Peer, name: str, ban_minutes: float) -> None:
        """``target`` leaves for good: removed by the host ``name``, banned for
        ``ban_minutes`` (0: not banned)."""
        reason = f"{name[:NAME_IN_REASON]} removed you from the call"
        if ban_minutes:
            reason += f"; you may rejoin in {ban_minutes:g} minutes"
        transport = target.transport
        # Its resume token goes with it: it cannot come back as the same peer.
        self.leave_now(target)
        if transport is not None:
            transport.close_socket(CLOSE_REMOVED, close_reason(reason))

    def _end_call(self, actor: Actor) -> None:
        self._require_host(actor, "end the call")
        self._done(actor)
        self._close_room(actor.room, self._ended_by(actor))

    def _ended_by(self, actor: Actor) -> str:
        """The close reason of a call ``actor`` ended for everyone."""
        return close_reason(f"{self._name(actor)[:NAME_IN_REASON]} ended the call for everyone")

    def _close_room(self, room: str, reason: str) -> None:
        """Our peers in ``room`` leave at once, their sockets closed for good (4003)."""
        for pid in list(self.rooms.get(room, {})):
            target = self.local.get(pid)
            if target is None:
                continue
            transport = target.transport
            self.leave_now(target)
            if transport is not None:
                transport.close_socket(CLOSE_ENDED, reason)

    def _make_host(self, actor: Actor, msg: MakeHost) -> None:
        self._require_host(actor, "make someone a host")
        target = self._target(actor, msg.peer)
        if target.info.get("kind") == RECORDER_KIND:
            raise ProtocolError(
                ErrorCode.NOT_ALLOWED,
                "a recorder cannot be a host",
                peer=msg.peer,
            )
        if target.info.get("host") is not True:
            target.info["host"] = True
            self._hosts_changed(actor.room)
        self._done(actor)

    def lower_hand(self, sender: Peer, msg: LowerHand) -> None:
        """Anyone may lower their own hand; only a host another's."""
        if msg.peer != sender.id:
            self._require_host(
                Actor(None, sender.room, sender, sender.user), "lower another's hand"
            )
        super().lower_hand(sender, msg)
