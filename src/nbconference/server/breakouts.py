"""Breakout rooms, run here: a host splits a room into groups for a while, the server
moves each participant it assigned into the room of its group, and back when the time is
up or a host ends it (docs/protocol.md, "Breakout rooms").

A move happens on the participant's own socket, without a click: the peer leaves its
room (the room hears ``peer-left``), the socket gets ``moved`` and a ``welcome`` to the
other room, with the same peer id, and the other room hears ``peer-joined``. Devices,
name and a host's mute go along; a raised hand stays behind. Each group room is a room
of its own: its plane (mesh or SFU) follows its size, and it has no lobby.

Who may enter a group room is decided here: those a host put in that group (by their
identity, where the socket shows one: a page that reconnects after its grace window),
the main room's hosts (a visit), and a peer that resumes its place there. Anyone else
who names a group room, or names one that is not open, gets ``not-allowed``; but a join
naming a group room that closed lately (a page that was away when its breakout ended)
is moved to the main room instead. A group's
host is only a host of the main room: nobody becomes host of a group by coming first,
and nobody is promoted there when a host leaves it.

The state of a breakout lives in this process. Between replicas of ``nbconference
serve`` sharing a Redis, the layer above (breakouts_across.py) tells the other replicas,
which move their own peers; a Jupyter server with the Redis backend moves only its own
peers (the others get ``peer-unavailable``), and the other servers know nothing of it
(see docs/protocol.md, "Breakout rooms").

A layer of :class:`~nbconference.server.rooms.RoomRegistry`, over :class:`LobbyAcross`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..protocol import (
    RECORDER_KIND,
    Breakout,
    BreakoutRequest,
    EndBreakout,
    ErrorCode,
    Join,
    Limits,
    ProtocolError,
    Visit,
    breakout_room,
    breakouts_frame,
    error_frame,
    help_entry,
    is_breakout_room,
    moved_frame,
)
from .backends.base import PeerInfo
from .chat import hand_raised
from .hosts import Actor
from .lobby_across import LobbyAcross
from .mailbox import Mailbox
from .peer import Peer, Transport

log = logging.getLogger("nbconference")

# How long a join naming a closed group room still finds its way back to the main room:
# long enough for a page that lost its network during the breakout to come back.
CLOSED_GROUP_SECONDS = 15 * 60

Identity = Mapping[str, Any]


@dataclass
class Running:
    """A breakout of ``main`` under way."""

    main: str
    # Each group's name and the main room's peer ids a host put in it.
    groups: dict[str, tuple[str, ...]]
    # Each group's room.
    rooms: dict[str, str]
    ends: float  # time.monotonic()
    timer: asyncio.TimerHandle | None = None
    # The group of each identity put in one: a page back after its grace window.
    by_username: dict[str, str] = field(default_factory=dict)

    def seconds_left(self) -> float:
        return max(0.0, self.ends - time.monotonic())


class BreakoutRooms(LobbyAcross):
    """The breakouts of the rooms of this process, and the host requests that run them."""

    limits: Limits  # the registry's

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # By main room.
        self.breakouts: dict[str, Running] = {}
        # Each open group room: its main room and its group.
        self._group_rooms: dict[str, tuple[str, str]] = {}
        # Each group room closed lately: its main room and when it closed (monotonic).
        self._closed_groups: dict[str, tuple[str, float]] = {}

    # -- what the registry does (rooms.py) ----------------------------------------------

    def _spawn(self, work: Any) -> None:
        raise NotImplementedError

    # -- who may enter a group room -----------------------------------------------------

    def main_room(self, room: str) -> str:
        """The main room of ``room`` when it is an open group room, else ``room``."""
        found = self._group_rooms.get(room)
        return found[0] if found is not None else room

    def _back_from_closed_group(self, msg: Join, transport: Transport) -> Join:
        """A join naming a group room that closed lately (a page whose socket was down
        when its breakout ended, and whose place went with it) is a join to the main
        room: the socket hears ``moved`` first, as those moved back did, and is then
        admitted to the main room as any newcomer there is."""
        found = self._closed_groups.get(msg.room)
        if found is None or msg.room in self._group_rooms:
            return msg
        main = found[0]
        transport.send_frame(moved_frame(main, "", main).encode())
        return dataclasses.replace(msg, room=main, resume=None)

    def _check_group(self, room: str, user: Identity | None, host_token: bool, kind: str) -> None:
        """Raise ``not-allowed`` unless a new peer of ``user`` (of ``kind``) may enter
        ``room`` (any room that is no group room may be entered as far as breakouts go)."""
        if not is_breakout_room(room):
            return
        if kind == RECORDER_KIND:
            raise ProtocolError(
                ErrorCode.NOT_ALLOWED, "a recorder stays in the main room: groups are not recorded"
            )
        found = self._group_rooms.get(room)
        if found is None:
            raise ProtocolError(
                ErrorCode.NOT_ALLOWED, f"no breakout group has the room '{room}' now"
            )
        main, group = found
        if host_token or self._by_right(main, user):
            return  # a host visits
        username = self._username(user)
        if username and self.breakouts[main].by_username.get(username) == group:
            return
        raise ProtocolError(
            ErrorCode.NOT_ALLOWED,
            f"only those a host put in breakout group '{group}' may enter it",
        )

    def _stamp_host(
        self, info: dict[str, Any], room: str, user: Identity | None, host_token: bool
    ) -> None:
        """In a group room, the main room's hosts host (nobody by coming first)."""
        if not is_breakout_room(room):
            super()._stamp_host(info, room, user, host_token)
        elif info.get("kind") != RECORDER_KIND and (
            host_token or self._by_right(self.main_room(room), user)
        ):
            info["host"] = True

    def _host_left(self, room: str) -> None:
        # Nobody is promoted in a group, nor in a main room whose hosts may be visiting.
        if not is_breakout_room(room) and room not in self.breakouts:
            super()._host_left(room)

    def _drop_room(self, room: str) -> None:
        # A main room emptied into its groups keeps its lobby (locked, it stays locked).
        lobby = self.lobbies.get(room) if room in self.breakouts else None
        super()._drop_room(room)
        if lobby is not None:
            self.lobbies[room] = lobby

    def _arrived(self, peer: Peer) -> None:
        super()._arrived(peer)
        main = self.main_room(peer.room)
        if main in self.breakouts:
            self._deliver_event(peer, self._breakouts_frame(main))

    def _end_call(self, actor: Actor) -> None:
        """The call ends for the main room and every group of its breakout, whichever of
        them the host is in."""
        main = self.main_room(actor.room)
        super()._end_call(dataclasses.replace(actor, room=main))
        self._close_groups(main, self._ended_by(actor))

    def _close_groups(self, main: str, reason: str) -> None:
        """The breakout of ``main`` is over, and every group room closed (``reason``)."""
        running = self.breakouts.pop(main, None)
        if running is None:
            return
        if running.timer is not None:
            running.timer.cancel()
        now = time.monotonic()
        for room, (_, closed) in list(self._closed_groups.items()):
            if now - closed > CLOSED_GROUP_SECONDS:
                del self._closed_groups[room]
        for room in running.rooms.values():
            self._group_rooms.pop(room, None)
            self._closed_groups[room] = (main, now)
            self._close_room(room, reason)

    # -- the requests -----------------------------------------------------------------

    async def breakout_request(self, actor: Actor, msg: BreakoutRequest) -> None:
        """Carry out ``msg`` for ``actor``, or raise :class:`ProtocolError` (``not-host``
        for anyone but a host of the main room) and change nothing. A host in a group
        acts on its main room."""
        actor = dataclasses.replace(actor, room=self.main_room(actor.room))
        if isinstance(msg, EndBreakout):
            self._require_host(actor, "end a breakout")
            await self.end_breakout(actor.room)
        elif isinstance(msg, Breakout):
            self._require_host(actor, "split the room into breakout groups")
            await self._start(actor.room, self._assign(actor.room, msg), msg.minutes)
        elif isinstance(msg, Visit):
            self._require_host(actor, "visit a breakout group")
            await self._visit(actor, msg.group)
        self._done(actor)

    async def _visit(self, actor: Actor, group: str) -> None:
        """Move ``actor``'s own peer to ``group``'s room, or back to the main room."""
        main = actor.room
        running = self.breakouts.get(main)
        if running is None:
            raise ProtocolError(ErrorCode.NOT_ALLOWED, f"no breakout of room '{main}' runs now")
        if actor.peer is None:
            raise ProtocolError(ErrorCode.NOT_JOINED, "join the room to visit its groups")
        room = running.rooms.get(group) if group else main
        if room is None:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, f"the breakout of room '{main}' has no group '{group}'"
            )
        if actor.peer.room != room:
            await self._move(actor.peer, room, group, main)

    def _assign(self, main: str, msg: Breakout) -> dict[str, tuple[str, ...]]:
        """The groups of ``msg`` in ``main``, checked; raises ProtocolError."""
        if main in self.breakouts:
            raise ProtocolError(
                ErrorCode.NOT_ALLOWED,
                f"room '{main}' is split into breakout groups already: end that breakout first",
            )
        if msg.n_groups:
            return self._deal(main, msg.n_groups)
        for _, members in msg.groups:
            for pid in members:
                self._check_movable(main, pid)
        return dict(msg.groups)

    def _check_movable(self, main: str, pid: str) -> None:
        """Raise ProtocolError unless a host may put ``pid`` of ``main`` in a group."""
        self._movable(main, pid)

    def _movable(self, main: str, pid: str) -> Peer:
        """The peer ``pid`` of ``main`` that a host may put in a group."""
        self._check_member(main, pid)
        peer = self.local.get(pid)
        if peer is None or peer.transport is None:
            where = "is reconnecting" if peer is not None else "is on another server of the room"
            raise ProtocolError(
                ErrorCode.PEER_UNAVAILABLE,
                f"peer '{pid[:40]}' {where}: it cannot be moved now",
                peer=pid,
            )
        return peer

    def _check_member(self, main: str, pid: str) -> None:
        """Raise ProtocolError unless ``pid`` is a member of ``main`` that may go to a
        group (on any server: no recorder)."""
        info = self.rooms.get(main, {}).get(pid)
        if info is None:
            raise ProtocolError(
                ErrorCode.UNKNOWN_PEER, f"no peer '{pid[:40]}' in room '{main}'", peer=pid
            )
        if info.get("kind") == RECORDER_KIND:
            raise ProtocolError(
                ErrorCode.NOT_ALLOWED,
                "a recorder stays in the main room: groups are not recorded",
                peer=pid,
            )

    def _deal(self, main: str, n_groups: int) -> dict[str, tuple[str, ...]]:
        """``main``'s participants that :meth:`_may_deal` (no hosts, no recorders),
        dealt in turn into ``group-1`` ... ``group-N``."""
        people = [
            pid
            for pid, info in self.rooms.get(main, {}).items()
            if info.get("kind") != RECORDER_KIND
            and info.get("host") is not True
            and self._may_deal(pid)
        ]
        if len(people) < n_groups:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE,
                f"room '{main}' has {len(people)} participants to split (hosts and recorders "
                f"stay): not enough for {n_groups} groups",
            )
        return {f"group-{n + 1}": tuple(people[n::n_groups]) for n in range(n_groups)}

    def _may_deal(self, pid: str) -> bool:
        """Whether ``n_groups`` may deal member ``pid`` (no host, no recorder) into a
        group: a peer of this server that is not reconnecting."""
        peer = self.local.get(pid)
        return peer is not None and peer.transport is not None

    async def _start(self, main: str, groups: dict[str, tuple[str, ...]], minutes: float) -> None:
        seconds = minutes * 60
        running = Running(
            main,
            groups,
            {group: breakout_room(main, group) for group in groups},
            time.monotonic() + seconds,
        )
        self.breakouts[main] = running
        for group, room in running.rooms.items():
            self._group_rooms[room] = (main, group)
        running.timer = asyncio.get_running_loop().call_later(seconds, self._time_up, running)
        for group, members in groups.items():
            for pid in members:
                if self.breakouts.get(main) is not running:
                    return  # ended meanwhile (its time was short, or a host ended it)
                peer = self.local.get(pid)
                if peer is None or peer.room != main:
                    continue  # it left meanwhile
                username = self._username(peer.user)
                if username:
                    running.by_username[username] = group
                await self._move_quietly(peer, running.rooms[group], group, main)
        self._tell_breakouts(running)

    def _time_up(self, running: Running) -> None:
        if self.breakouts.get(running.main) is running:
            self._spawn(self.end_breakout(running.main))

    async def end_breakout(self, main: str) -> None:
        """Bring everyone in the groups of ``main``'s breakout back (none: nothing)."""
        running = self.breakouts.pop(main, None)
        if running is None:
            return
        if running.timer is not None:
            running.timer.cancel()
        now = time.monotonic()
        for room, (_, closed) in list(self._closed_groups.items()):
            if now - closed > CLOSED_GROUP_SECONDS:
                del self._closed_groups[room]
        for room in running.rooms.values():
            self._group_rooms.pop(room, None)
            self._closed_groups[room] = (main, now)
        for room in running.rooms.values():
            for pid in list(self.rooms.get(room, {})):
                peer = self.local.get(pid)
                if peer is None:
                    continue
                if peer.transport is None:
                    self.leave_now(peer)  # it would resume into a room that is closed
                    continue
                await self._move_quietly(peer, main, "", main)
        self._deliver_to_room(main, breakouts_frame(main, {}, 0).encode())

    # -- moving a peer ----------------------------------------------------------------

    async def _move_quietly(self, peer: Peer, room: str, group: str, main: str) -> None:
        """Move ``peer``; one that cannot be moved stays and is told why."""
        try:
            await self._move(peer, room, group, main)
        except ProtocolError as refused:
            log.warning("nbconference: could not move %s to %s: %s", peer.id, room, refused)
            if peer.transport is not None:
                frame = error_frame(refused.code, f"could not move you: {refused.message}")
                peer.transport.send_frame(frame.encode())

    async def _move(self, peer: Peer, room: str, group: str, main: str) -> None:
        """Move ``peer`` from its room to ``room`` on its own socket, keeping its id.
        Raises ProtocolError (``room-full``, ...) and leaves it where it was."""
        transport = peer.transport
        if transport is None:
            return
        state = dict(peer.info.get("state", {}))
        if "hand" in state:
            state["hand"] = False  # a raised hand stays in its queue's room
        info: PeerInfo = {**peer.info, "state": state}
        info.pop("host", None)
        # A host stays a host wherever it goes, and nobody becomes one by arriving first
        # (in a main room its hosts may have left for a group).
        if peer.info.get("host") is True:
            info["host"] = True
        moved = Peer(
            info,
            room,
            secrets.token_urlsafe(24),
            transport,
            Mailbox(self.limits.max_queued_bytes, self.limits.max_pending_messages),
            peer.user,
        )
        moved.forced = dict(peer.forced)
        info, others = await self._add_member(moved)
        if peer.transport is not transport or self.local.get(peer.id) is not peer:
            await self._take_back(room, str(info["id"]))  # it left or dropped meanwhile
            return
        transport.send_frame(moved_frame(room, group, main).encode())
        self.leave_now(peer)
        peer.transport = None
        transport.moved(moved)
        self._settle(moved, info, others)
        self._admitted(moved)

    # -- asking for help ----------------------------------------------------------------

    def set_state(self, peer: Peer, state: Mapping[str, Any], by: str = "") -> None:
        """A hand raised in a group asks for help: the main room (and every group) hears
        who asks, whenever that changes."""
        before = hand_raised(peer.info["state"])
        super().set_state(peer, state, by)
        found = self._group_rooms.get(peer.room)
        if found is not None and hand_raised(peer.info["state"]) != before:
            self._tell_breakouts(self.breakouts[found[0]], everywhere=True)

    def _asking(self, running: Running) -> list[dict[str, Any]]:
        """Who in the groups of ``running`` has a hand up, first raised first."""
        asking = []
        for group, room in running.rooms.items():
            for pid, info in self.rooms.get(room, {}).items():
                state = info.get("state") or {}
                if hand_raised(state) and pid in self.local:
                    name = str(info.get("name", ""))
                    asking.append(help_entry(pid, name, group, int(state["hand"])))
        return sorted(asking, key=lambda entry: (entry["hand"], entry["id"]))

    # -- telling the rooms --------------------------------------------------------------

    def _breakouts_frame(self, main: str) -> bytes:
        running = self.breakouts.get(main)
        if running is None:
            return breakouts_frame(main, {}, 0).encode()
        left = running.seconds_left()
        return breakouts_frame(main, running.groups, left, self._asking(running)).encode()

    def _tell_breakouts(self, running: Running, everywhere: bool = False) -> None:
        """The main room hears what runs now (each group heard it as it arrived), and
        with ``everywhere`` every group too."""
        frame = self._breakouts_frame(running.main)
        rooms = (running.main, *running.rooms.values()) if everywhere else (running.main,)
        for room in rooms:
            self._deliver_to_room(room, frame)
