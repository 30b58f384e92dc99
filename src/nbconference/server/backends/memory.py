"""The default backend: rooms live in this process and need nothing else."""

from __future__ import annotations

from collections.abc import Callable

from .base import Backend, EventSink, PeerInfo, RoomEvent, RoomFull


class MemoryBackend(Backend):
    """Membership in a dict; with one process there are no other servers to tell."""

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, PeerInfo]] = {}

    async def start(self, sink: EventSink) -> None:
        pass

    async def stop(self) -> None:
        self._rooms.clear()

    async def add_peer(self, room: str, peer: PeerInfo, max_peers: int) -> list[PeerInfo]:
        members = self._rooms.setdefault(room, {})
        if len(members) >= max_peers:
            raise RoomFull(room)
        others = list(members.values())
        members[peer["id"]] = peer
        return others

    async def remove_peer(self, room: str, peer_id: str) -> None:
        members = self._rooms.get(room)
        if members is not None:
            members.pop(peer_id, None)
            if not members:
                del self._rooms[room]

    def publish(self, event: RoomEvent, on_failure: Callable[[str], None]) -> None:
        pass

    def refuse(self, event: RoomEvent, code: str, message: str) -> None:
        pass  # events of other servers never come from this backend
