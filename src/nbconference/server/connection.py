"""The socket side of signaling, shared by the Jupyter handler and the standalone app."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..protocol import Join, Leave, ProtocolError, Signal, State, error_frame, parse_client_message
from .rooms import Peer, RateLimiter, RoomRegistry

log = logging.getLogger("nbconference")

# Close codes of RFC 6455 that mean the client left on purpose (a closed tab sends 1001).
CLEAN_CLOSE_CODES = frozenset({1000, 1001})
POLICY_VIOLATION = 1008
VIOLATION_WINDOW_SECONDS = 10.0


class SignalingConnection(WebSocketHandler):
    """One peer's socket: parses frames, enforces limits and hands them to the registry.

    Errors are answered with an ``error`` frame and the socket stays open; only a client
    that keeps sending bad frames (``max_violations`` within ten seconds) is closed with
    1008. Frames beyond ``max_message_bytes`` get ``too-large``; tornado itself closes a
    socket whose frame exceeds four times that.
    """

    registry: RoomRegistry
    peer: Peer | None = None

    def initialize(self, registry: RoomRegistry, **kwargs: Any) -> None:
        self.registry = registry
        limits = registry.limits
        self._limiter = RateLimiter(limits.messages_per_second, limits.message_burst)
        self._violations = 0
        self._violation_window = time.monotonic()
        self._join_pending = False

    @property
    def max_message_size(self) -> int:
        return 4 * self.registry.limits.max_message_bytes

    def open(self, *args: Any, **kwargs: Any) -> Any:
        stream = self.ws_connection.stream if self.ws_connection else None  # type: ignore[attr-defined]
        if stream is not None:
            stream.set_nodelay(True)
        return super().open(*args, **kwargs)

    # -- Transport for the registry --------------------------------------------------

    def send_frame(self, frame: str) -> bool:
        try:
            self.write_message(frame)
        except WebSocketClosedError:
            return False
        return True

    def close_socket(self, code: int, reason: str) -> None:
        self.peer = None
        self.close(code, reason)

    # -- frames from the client ------------------------------------------------------

    def on_message(self, message: str | bytes) -> Awaitable[None] | None:
        if not self._limiter.allow():
            self._refuse(ProtocolError("rate-limited", "too many messages; slow down"))
            return None
        try:
            msg = parse_client_message(message, self.registry.limits.max_message_bytes)
            if isinstance(msg, Signal):
                if self.peer is None:
                    raise ProtocolError("not-joined", "send 'join' before signaling")
                self.registry.signal(self.peer, msg)
            elif isinstance(msg, Join):
                if self.peer is not None or self._join_pending:
                    raise ProtocolError("already-joined", "this socket has joined already")
                self._join_pending = True
                return self._join(msg)
            elif self.peer is None:
                raise ProtocolError("not-joined", "send 'join' first")
            elif isinstance(msg, State):
                self.registry.set_state(self.peer, msg.state)
            elif isinstance(msg, Leave):
                peer, self.peer = self.peer, None
                return self.registry.leave(peer)
        except ProtocolError as exc:
            self._refuse(exc)
        return None

    async def _join(self, msg: Join) -> None:
        try:
            self.peer = await self.registry.join(self, msg)
        except ProtocolError as exc:
            self._refuse(exc)
        finally:
            self._join_pending = False

    def _refuse(self, exc: ProtocolError) -> None:
        self.send_frame(error_frame(exc.code, exc.message))
        now = time.monotonic()
        if now - self._violation_window > VIOLATION_WINDOW_SECONDS:
            self._violation_window, self._violations = now, 0
        self._violations += 1
        if self._violations > self.registry.limits.max_violations:
            log.warning(
                "nbconference: closing %s after repeated bad messages", self.request.remote_ip
            )
            self.close(POLICY_VIOLATION, "too many invalid messages")

    def on_close(self) -> None:
        peer, self.peer = self.peer, None
        if peer is None:
            return
        if self.close_code in CLEAN_CLOSE_CODES:
            asyncio.get_running_loop().create_task(self.registry.leave(peer))
        else:
            self.registry.disconnected(peer, self)
