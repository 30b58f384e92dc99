"""The default backend: rooms live in this process and need nothing else."""

from __future__ import annotations

from collections.abc import Callable

from ...protocol import DEFAULT_CHAT_LIMITS, ChatLimits
from ..chat import ChatHistory
from .base import Backend, EventSink, PeerInfo, RoomEvent, RoomFull


class MemoryBackend(Backend):
    """Membership in a dict; with one process there are no other servers to tell."""

    def __init__(self, chat_limits: ChatLimits = DEFAULT_CHAT_LIMITS) -> None:
        self._rooms: dict[str, dict[str, PeerInfo]] = {}
        self.chat_limits = chat_limits
        self._chats: dict[str, ChatHistory] = {}

    async def start(self, sink: EventSink) -> None:
        pass

    async def stop(self) -> None:
        self._rooms.clear()
        self._chats.clear()

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
                self._chats.pop(room, None)  # the history goes with the last peer

    def publish(self, event: RoomEvent, on_failure: Callable[[str], None]) -> None:
        pass

    def refuse(self, event: RoomEvent, code: str, message: str) -> None:
        pass  # events of other servers never come from this backend

    def add_chat(self, room: str, frame: str, on_failure: Callable[[str], None]) -> None:
        if room not in self._rooms:
            return
        history = self._chats.get(room)
        if history is None:
            limits = self.chat_limits
            history = self._chats[room] = ChatHistory(
                limits.chat_history_messages, limits.chat_history_bytes
            )
        history.add(frame)

    def chat_history(self, room: str, peer_id: str) -> list[str]:
        history = self._chats.get(room)
        return history.frames() if history is not None else []
