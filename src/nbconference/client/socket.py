"""One WebSocket to a signaling server, for Python peers (``KernelPeer``).

It speaks to the Jupyter server extension and to ``nbconference serve`` alike: the token
travels in an ``Authorization`` header, so it never lands in a server's access log.
Every wait is bounded, and every failure becomes a :class:`SignalingError` whose
message says what went wrong and what to try.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from typing import Any

from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClientConnection, WebSocketClosedError, websocket_connect

from ..protocol import (
    CLOSE_DENIED,
    CLOSE_LEFT,
    FINAL_CLOSE_CODES,
    PARTICIPANT_KIND,
    SIGNAL_PATH,
    ErrorCode,
    ServerFrame,
    join_message,
)

log = logging.getLogger("nbconference")

# Codes of a handshake the server refused (HTTP 401/403/404), or of a join it ended for
# good (a final close code, such as a host's "deny"): trying again cannot help.
REFUSED_CODES = frozenset({"bad-url", "forbidden", "not-found", "denied", "closed-for-good"})


class SignalingError(RuntimeError):
    """Joining or talking to the signaling server failed.

    ``code`` is one of the server's protocol error codes (``room-full``; ``not-allowed``
    where the server's ``room_access`` keeps this user out; ...) or a client-side one:
    ``bad-url``, ``forbidden`` (wrong or missing token), ``not-found`` (no nbconference
    endpoint there), ``unreachable``, ``timeout``, ``closed``, ``denied`` (a host did not
    let us in from the lobby of a locked room), ``closed-for-good`` (another of
    ``FINAL_CLOSE_CODES`` while joining), ``no-server``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class SignalingSocket:
    """One WebSocket to a signaling server; frames are JSON objects both ways.

    It does not reconnect: :class:`~nbconference.client.SignalingSession` does.
    """

    def __init__(self, url: str, connection: WebSocketClientConnection) -> None:
        self.url = url
        self._connection = connection
        self._closed = False
        self._stream: Any = None

    @classmethod
    async def connect(cls, url: str, token: str, timeout: float = 10.0) -> SignalingSocket:
        """Open the socket, raising :class:`SignalingError` within ``timeout`` seconds."""
        if not url.startswith(("ws://", "wss://")):
            raise SignalingError("bad-url", f"signaling URL must start with ws:// or wss://: {url}")
        headers = {"Authorization": f"token {token}"} if token else {}
        request = HTTPRequest(
            url, headers=headers, connect_timeout=timeout, request_timeout=timeout
        )
        try:
            connection = await asyncio.wait_for(
                websocket_connect(request, ping_interval=10, ping_timeout=10), timeout
            )
        except asyncio.TimeoutError:
            raise _timeout(url, timeout) from None
        except HTTPClientError as exc:
            if exc.code == 599 and "timeout" in str(exc).lower():
                raise _timeout(url, timeout) from None
            raise _http_error(url, exc) from None
        except (OSError, socket.gaierror) as exc:
            raise SignalingError(
                "unreachable", f"cannot reach the signaling server at {url}: {exc}"
            ) from None
        return cls(url, connection)

    async def join(
        self,
        room: str,
        name: str,
        state: dict[str, bool],
        resume: str | None = None,
        timeout: float = 10.0,
        kind: str = PARTICIPANT_KIND,
    ) -> dict[str, Any]:
        """Send ``join`` and return the ``welcome`` frame; a refusal raises.

        In a locked room the server answers ``waiting`` first: this then waits, without
        a time limit, until a host lets us in (the ``welcome``) or does not (a close with
        ``CLOSE_DENIED``: ``SignalingError`` code ``denied``).

        ``kind`` declares what kind of participant joins (``recorder``); see
        :data:`~nbconference.protocol.PEER_KINDS`."""
        self.send(join_message(room, name, state, resume, kind=kind))
        try:
            reply = await asyncio.wait_for(self.receive(), timeout)
        except asyncio.TimeoutError:
            raise SignalingError(
                "timeout", f"the signaling server did not answer 'join' within {timeout:g} s"
            ) from None
        while reply is not None and reply.get("type") == ServerFrame.WAITING:
            log.warning(
                "nbconference: room %r is locked: %s", room, reply.get("message") or "waiting"
            )
            reply = await self.receive()
        if reply is None:
            raise SignalingError(
                _closed_code(self.close_code),
                f"the signaling server closed the socket: {self.why()}",
            )
        if reply.get("type") == ServerFrame.ERROR:
            raise SignalingError(str(reply.get("code")), str(reply.get("message")))
        if reply.get("type") != ServerFrame.WELCOME:
            raise SignalingError(
                ErrorCode.BAD_MESSAGE, f"expected 'welcome', got {reply.get('type')!r}"
            )
        return reply

    def send(self, message: dict[str, Any]) -> bool:
        """Queue one frame; False when the socket is already closed."""
        if self._closed:
            return False
        try:
            self._connection.write_message(json.dumps(message, separators=(",", ":")))
        except WebSocketClosedError:
            return False
        return True

    async def receive(self) -> dict[str, Any] | None:
        """The next frame from the server, or None once the socket has closed.

        Frames that are not JSON objects are skipped: the server never sends them.
        """
        while True:
            text = await self._connection.read_message()
            if text is None:
                self.close()  # releases tornado's side of a socket the server closed
                return None
            try:
                frame = json.loads(text)
            except (TypeError, ValueError):
                continue
            if isinstance(frame, dict):
                return frame

    def why(self) -> str:
        """Close code and reason as text, for error messages."""
        code = self._connection.close_code
        reason = self._connection.close_reason or "no reason given"
        return f"code {code}, {reason}" if code is not None else "connection lost"

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def close_code(self) -> int | None:
        """The close code the server sent, once closed."""
        code = self._connection.close_code
        return int(code) if code is not None else None

    def close(self, code: int = CLOSE_LEFT, reason: str = "") -> None:
        """Start closing. ``CLOSE_LEFT`` means "left"; ``CLOSE_DROPPED`` (or any code but
        the clean ones) looks like a dropped network, and the server keeps our peer."""
        if not self._closed:
            self._closed = True
            self._stream = getattr(self._connection.protocol, "stream", None)
            self._connection.close(code, reason)

    async def aclose(self, code: int = CLOSE_LEFT, reason: str = "", timeout: float = 2.0) -> None:
        """Close and wait (at most ``timeout``) for the server to finish the handshake.

        Frames that arrive meanwhile are read and dropped: tornado hands them over one at
        a time, so one that nobody reads holds back the server's close frame behind it,
        and closing would wait the whole ``timeout``.
        """
        self.close(code, reason)
        stream, deadline = self._stream, time.monotonic() + timeout
        # asyncio.wait rather than wait_for: on Python 3.11, wait_for swallows a
        # cancellation that comes as the frame arrives, and leaving must stay cancellable.
        reading: asyncio.Future[Any] | None = None
        try:
            while stream is not None and not stream.closed() and time.monotonic() < deadline:
                if reading is None or reading.done():
                    reading = asyncio.ensure_future(self._connection.read_message())
                await asyncio.wait((reading,), timeout=0.02)
        finally:
            if reading is not None:
                reading.cancel()
        if stream is not None and not stream.closed():
            stream.close()


def _closed_code(close_code: int | None) -> str:
    """The SignalingError code of a socket the server closed while we joined."""
    if close_code == CLOSE_DENIED:
        return "denied"
    return "closed-for-good" if close_code in FINAL_CLOSE_CODES else "closed"


def _timeout(url: str, timeout: float) -> SignalingError:
    return SignalingError(
        "timeout", f"no answer from the signaling server at {url} within {timeout:g} s"
    )


def _http_error(url: str, exc: HTTPClientError) -> SignalingError:
    if exc.code in (401, 403):
        return SignalingError(
            "forbidden",
            f"the signaling server at {url} refused the token (HTTP {exc.code}); "
            "pass the token the server printed or the Jupyter server's token",
        )
    if exc.code == 404:
        return SignalingError(
            "not-found",
            f"no nbconference signaling at {url} (HTTP 404): is the nbconference server "
            f"extension enabled there, or is the URL missing '/{SIGNAL_PATH}'?",
        )
    if exc.code == 599:
        return SignalingError("unreachable", f"cannot reach the signaling server at {url}: {exc}")
    return SignalingError("unreachable", f"the signaling server at {url} answered {exc}")
