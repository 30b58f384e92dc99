"""Breakouts across the servers of a room: the ``nbconference serve`` replicas of one
deployment sharing a Redis, which trust each other (hosts_across.py says why and how the
registry knows; docs/protocol.md, "Breakout rooms").

A host's ``breakout`` may put the peers of any replica in its groups (``n_groups`` deals
the participants of every replica). The replica that took the request tells the others
through the backend, and each of them runs the same breakout for the main room: it moves
its own peers into their groups, opens the group rooms (which then refuse joins by the
breakout's rules there too), keeps the same countdown, and brings its peers back when
the breakout ends (a host's ``end-breakout``, told to every replica, or its time).
``end-call`` closes the groups on every replica.

A layer of :class:`~nbconference.server.rooms.RoomRegistry`, over :class:`BreakoutRooms`.
"""

from __future__ import annotations

import dataclasses
import logging

from ..protocol import (
    Breakout,
    BreakoutRequest,
    EndBreakout,
)
from .backends.base import EventKind, RoomEvent
from .breakouts import BreakoutRooms
from .hosts import Actor

log = logging.getLogger("nbconference")


class BreakoutsAcross(BreakoutRooms):
    """The breakouts of the rooms this process serves, run on every trusted server."""

    def _check_movable(self, main: str, pid: str) -> None:
        if not self._shared or pid in self.local:
            super()._check_movable(main, pid)
            return
        self._check_member(main, pid)  # its own server moves it

    def _may_deal(self, pid: str) -> bool:
        if not self._shared:
            return super()._may_deal(pid)
        # Another replica's member is dealt too (its own server moves it).
        peer = self.local.get(pid)
        return peer is None or peer.transport is not None

    async def breakout_request(self, actor: Actor, msg: BreakoutRequest) -> None:
        if not self._shared or not isinstance(msg, (Breakout, EndBreakout)):
            await super().breakout_request(actor, msg)
            return
        actor = dataclasses.replace(actor, room=self.main_room(actor.room))
        main = actor.room
        if isinstance(msg, EndBreakout):
            self._require_host(actor, "end a breakout")
            # Told in the groups too: a server whose peers all left the main room for
            # them follows only the groups.
            for room in self._rooms_of_call(main):
                await self._backend_call(self.backend.breakout_event(room, None, 0))
            await self.end_breakout(main)
        else:
            self._require_host(actor, "split the room into breakout groups")
            groups = self._assign(main, msg)
            shared = {group: list(members) for group, members in groups.items()}
            await self._backend_call(self.backend.breakout_event(main, shared, msg.minutes * 60))
            await self._start(main, groups, msg.minutes)
        self._done(actor)

    def _apply_remote(self, event: RoomEvent) -> None:
        if event.kind != EventKind.BREAKOUT:
            super()._apply_remote(event)
            return
        if not self._shared or event.room not in self.rooms:
            return  # not trusted, or none of ours is in that room
        data = event.data or {}
        groups = data.get("groups")
        if groups is None:
            self._spawn(self.end_breakout(self.main_room(event.room)))
        elif event.room not in self.breakouts:
            assigned = {str(group): tuple(members) for group, members in groups.items()}
            minutes = float(data.get("seconds", 0)) / 60
            self._spawn(self._start(event.room, assigned, minutes))
        else:
            log.warning("nbconference: a second breakout of %s was ignored", event.room)

    def _rooms_of_call(self, main: str) -> list[str]:
        running = self.breakouts.get(main)
        return [main, *(running.rooms.values() if running is not None else ())]

    def _host_event(self, event: RoomEvent) -> None:
        main = self.main_room(event.room)  # before the groups close
        super()._host_event(event)
        if event.kind == EventKind.END:
            reason = str((event.data or {}).get("reason", ""))
            self._close_groups(main, reason)
            if main != event.room:
                self._close_room(main, reason)
