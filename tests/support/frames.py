"""A verified person joining a room through a registry directly, for servers that know
nobody by themselves (``nbconference serve`` knows identities only as a JupyterHub
service): the registry is handed the identity stamp a Hub would give, and a socket that
keeps every frame the registry sends it, as a WebSocket would carry them.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from nbconference.protocol import ProtocolError, identity_stamp, parse_client_message
from nbconference.server.mailbox import Mailbox
from nbconference.server.peer import Peer
from nbconference.server.rooms import RoomRegistry

TIMEOUT = 5.0


class FrameSocket:
    """The registry's side of one socket (a ``Transport``): the frames it was sent, in
    order, and how it was closed (``closed``: code and reason)."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed: tuple[int, str] | None = None
        self.welcome: dict[str, Any] | None = None
        self.peer: Peer | None = None
        self._mailbox: Mailbox | None = None

    @property
    def id(self) -> str:
        assert self.peer is not None
        return self.peer.id

    def send_frame(self, frame: bytes) -> bool:
        if self.closed is not None:
            return False
        message = json.loads(frame)
        if message.get("type") == "welcome":
            self.welcome = message
        self.frames.put_nowait(message)
        return True

    def attach(self, mailbox: Mailbox | None) -> None:
        self._mailbox = mailbox
        self.wake()

    def wake(self) -> None:
        while self._mailbox:
            for frame in self._mailbox.take(64 * 1024):
                self.send_frame(frame)

    def close_socket(self, code: int, reason: str) -> None:
        self._mailbox = None
        self.closed = (code, reason)

    def moved(self, peer: Peer) -> None:
        self.peer = peer

    async def next_of(self, kind: str, timeout: float = TIMEOUT, **fields: Any) -> dict[str, Any]:
        """The next frame of ``kind`` with ``fields`` (others are skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.frames.get()
                if frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items()):
                    return frame


async def join_as(registry: RoomRegistry, room: str, username: str, expect: str = "") -> Any:
    """``username`` joins ``room`` through ``registry``: its :class:`FrameSocket`; or, with
    ``expect`` (an error code), the :class:`ProtocolError` that refuses the join."""
    person = SimpleNamespace(username=username, name=username, display_name=username.title())
    join = parse_client_message(json.dumps({"type": "join", "room": room, "name": username}), 4096)
    socket = FrameSocket()
    try:
        socket.peer = await registry.join(socket, join, user=identity_stamp(person))  # type: ignore[arg-type]
    except ProtocolError as refused:
        assert refused.code == expect, refused
        return refused
    assert not expect, f"joined, though {expect!r} was expected"
    return socket
