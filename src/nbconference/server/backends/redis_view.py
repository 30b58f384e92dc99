"""What one process follows of a Redis room: its own peers, and the other servers' peers.

The mirror of the other servers' peers is kept from the room's event stream, the same
stream the registry sees, so both agree. Each method returns the event the registry must
apply, or nothing when the stream only repeated what was known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .base import EventKind, RoomEvent

Record = dict[str, Any]
"""A member as stored in Redis: ``{"info": {id, name, state}, "server": id}``."""


@dataclass(eq=False)
class RoomView:
    room: str
    channel: str
    server_id: str
    local: set[str] = field(default_factory=set)
    remote: dict[str, Record] = field(default_factory=dict)
    missing_since: dict[str, float] = field(default_factory=dict)
    joining: int = 0

    def in_use(self) -> bool:
        return bool(self.local or self.joining)

    def is_remote(self, rec: Record) -> bool:
        return rec.get("server") != self.server_id

    def reset(self, records: list[Record]) -> None:
        """Our first peer joined: the join's snapshot is the whole truth about the others."""
        self.remote = {r["info"]["id"]: r for r in records if self.is_remote(r)}
        self.missing_since.clear()

    def joined(self, rec: Record) -> RoomEvent | None:
        peer_id = rec["info"]["id"]
        self.missing_since.pop(peer_id, None)
        known = self.remote.get(peer_id)
        self.remote[peer_id] = rec
        if known is None:
            return RoomEvent(EventKind.JOINED, self.room, peer_id, peer=rec["info"])
        if known["info"].get("state") != rec["info"].get("state"):
            # A peer put back after a Redis restart, with a state we had not heard of.
            return RoomEvent(EventKind.STATE, self.room, peer_id, state=rec["info"]["state"])
        return None

    def left(self, peer_id: str) -> RoomEvent | None:
        # One of our own peers, swept while we could not refresh it, is not in ``remote``:
        # our next refresh puts it back and announces it again.
        self.missing_since.pop(peer_id, None)
        if self.remote.pop(peer_id, None) is None:
            return None
        return RoomEvent(EventKind.LEFT, self.room, peer_id)

    def state(self, peer_id: str, state: dict[str, bool]) -> RoomEvent | None:
        known = self.remote.get(peer_id)
        if known is None or known["info"].get("state") == state:
            return None
        known["info"] = {**known["info"], "state": state}
        return RoomEvent(EventKind.STATE, self.room, peer_id, state=state)

    def sync(self, records: list[Record], now: float, patience: float) -> list[RoomEvent]:
        """Repair the mirror from a snapshot taken at this point of the stream.

        Without missed messages the two agree and nothing happens. A peer absent from the
        snapshot gets ``patience`` seconds to reappear before it is taken as gone: after
        a Redis restart its server may not have put it back yet.
        """
        events = []
        present = set()
        for rec in records:
            if self.is_remote(rec):
                present.add(rec["info"]["id"])
                event = self.joined(rec)
                if event is not None:
                    events.append(event)
        for peer_id in [pid for pid in self.remote if pid not in present]:
            since = self.missing_since.setdefault(peer_id, now)
            if now - since >= patience:
                event = self.left(peer_id)
                if event is not None:
                    events.append(event)
        return events
