"""A small test client for the signaling protocol over a real tornado WebSocket."""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

TIMEOUT = 5.0


class Closed(Exception):
    """The server closed the socket; ``code`` and ``reason`` say why."""

    def __init__(self, code: int | None, reason: str | None) -> None:
        super().__init__(f"socket closed: {code} {reason}")
        self.code = code
        self.reason = reason


async def connect_url(
    url: str, headers: dict[str, str] | None = None, tls: ssl.SSLContext | None = None
) -> WebSocketClientConnection:
    request = HTTPRequest(url, headers=headers or {}, connect_timeout=10, ssl_options=tls)
    return await websocket_connect(request)


class Client:
    """One peer: JSON in and out, with assertions that say what was expected."""

    def __init__(self, ws: WebSocketClientConnection) -> None:
        self.ws = ws
        self.id = ""
        self.resume = ""

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        if isinstance(message, dict):
            message = json.dumps(message)
        await self.ws.write_message(message, binary=isinstance(message, bytes))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        text = await asyncio.wait_for(self.ws.read_message(), timeout)
        if text is None:
            raise Closed(self.ws.close_code, self.ws.close_reason)
        assert isinstance(text, str), "the server sent a binary frame"
        message = json.loads(text)
        assert isinstance(message, dict)
        return message

    async def expect(self, kind: str, timeout: float = TIMEOUT, **fields: Any) -> dict[str, Any]:
        """The next frame must be of type ``kind`` and carry ``fields``."""
        message = await self.recv(timeout)
        assert message["type"] == kind, f"expected {kind}, got {message}"
        for key, value in fields.items():
            assert message.get(key) == value, f"expected {key}={value!r} in {message}"
        return message

    async def next_of(self, kind: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        """The next frame of type ``kind`` (carrying ``fields``), skipping others in
        between; an error on the way fails unless an error is what is awaited."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            message = await self.recv(max(left, 0.01))
            if message["type"] == kind and all(message.get(k) == v for k, v in fields.items()):
                return message
            assert message["type"] != "error", f"waiting for {kind}, got {message}"

    async def expect_error(self, code: str) -> dict[str, Any]:
        message = await self.expect("error", code=code)
        assert isinstance(message["message"], str) and message["message"]
        return message

    async def silent(self, seconds: float = 0.3) -> None:
        """Nothing arrives for ``seconds``."""
        try:
            message = await self.recv(seconds)
        except asyncio.TimeoutError:
            return
        raise AssertionError(f"unexpected frame {message}")

    async def join(
        self, room: str, name: str = "", timeout: float = TIMEOUT, **extra: Any
    ) -> dict[str, Any]:
        await self.send({"type": "join", "room": room, "name": name or room, **extra})
        welcome = await self.expect("welcome", timeout, room=room)
        self.id, self.resume = welcome["id"], welcome["resume"]
        return welcome

    async def signal(self, to: Client | str, data: dict[str, Any] | None = None) -> None:
        target = to.id if isinstance(to, Client) else to
        await self.send({"type": "signal", "to": target, "data": data or {"candidate": {}}})

    async def closed(self, timeout: float = TIMEOUT) -> tuple[int | None, str | None]:
        """Read until the server closes the socket; frames before that are skipped."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            text = await asyncio.wait_for(self.ws.read_message(), max(left, 0.01))
            if text is None:
                return self.ws.close_code, self.ws.close_reason

    def drop(self) -> None:
        """Lose the connection without a close frame, as a crashed tab or a network cut does."""
        stream = self.ws.protocol.stream if self.ws.protocol else None
        if stream is not None:
            stream.close()

    def close(self, code: int = 1000) -> None:
        self.ws.close(code)
