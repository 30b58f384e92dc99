"""The socket side of signaling, shared by the Jupyter handler and the standalone app."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

from tornado.iostream import StreamBufferFullError, StreamClosedError
from tornado.web import HTTPError
from tornado.websocket import WebSocketHandler, WebSocketProtocol, WebSocketProtocol13

from ..protocol import (
    ABUSE_CODES,
    CLEAN_CLOSE_CODES,
    CLOSE_POLICY,
    Join,
    Leave,
    ProtocolError,
    Signal,
    State,
    error_frame,
    parse_client_message,
)
from .framing import BatchedProtocol13, text_frame
from .limits import RateLimiter
from .rooms import Peer, RoomRegistry

log = logging.getLogger("nbconference")

# Bytes written to a socket and not yet taken by the kernel; past this, its reader is gone.
MAX_UNSENT_BYTES = 1024 * 1024
VIOLATION_WINDOW_SECONDS = 10.0


class SignalingConnection(WebSocketHandler):
    """One peer's socket: parses frames, enforces limits and hands them to the registry.

    Errors are answered with an ``error`` frame and the socket stays open; only a client
    that keeps sending bad frames (``max_violations`` within ten seconds) is closed with
    ``CLOSE_POLICY``. Frames beyond ``max_message_bytes`` get ``too-large``; a frame over
    four times that closes the socket (``CLOSE_TOO_BIG``).
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
        self._closed = False
        self._outbox: list[str] = []

    def socket_key(self) -> tuple[str, int, str]:
        """What this socket counts against: a key, its cap (0: none) and the setting
        that sets the cap. Here, the remote address; the Jupyter handler counts users."""
        limits = self.registry.limits
        key = f"address {self.request.remote_ip}"
        return key, limits.max_sockets_per_address, "max_sockets_per_address"

    async def get(self, *args: Any, **kwargs: Any) -> None:
        key, cap, setting = self.socket_key()
        sockets = self.registry.sockets
        if not sockets.admit(key, cap):
            log.warning("nbconference: refused a socket: %s has %d open", key, cap)
            raise HTTPError(
                429,
                f"{key} has {cap} signaling sockets open ({setting})",
                reason=f"Too many signaling sockets ({cap}) for this {key.split()[0]}",
            )
        try:
            # Returns when the socket has closed (or its handshake was refused).
            await super().get(*args, **kwargs)
        finally:
            sockets.release(key)

    @property
    def max_message_size(self) -> int:
        return 4 * self.registry.limits.max_message_bytes

    def open(self, *args: Any, **kwargs: Any) -> Any:
        stream = self.ws_connection.stream if self.ws_connection else None  # type: ignore[attr-defined]
        if stream is not None:
            stream.set_nodelay(True)
            stream.max_write_buffer_size = MAX_UNSENT_BYTES
        return super().open(*args, **kwargs)

    # -- Transport for the registry --------------------------------------------------

    def send_frame(self, frame: str) -> bool:
        # Frames wait in an outbox until the end of this loop turn, then go out in one
        # write: a burst to one socket costs one syscall, and no message costs a task
        # (tornado's write_message makes one per call).
        if not self._outbox:
            connection = self.ws_connection
            if connection is None or connection.is_closing():
                return False
            asyncio.get_running_loop().call_soon(self._flush)
        self._outbox.append(frame)
        return True

    def _flush(self) -> None:
        frames, self._outbox = self._outbox, []
        connection = self.ws_connection
        if not frames or connection is None or connection.is_closing():
            return
        stream = connection.stream
        if stream is None:
            return
        try:
            stream.write(b"".join([text_frame(f.encode()) for f in frames]))
        except StreamBufferFullError:
            # The client stopped reading: rather than hold its messages without bound,
            # close it (it may resume and be brought up to date from its queue).
            log.warning("nbconference: closing %s: not reading its messages", self._who())
            stream.max_write_buffer_size = None  # room for the close frame
            self.close(CLOSE_POLICY, "not reading messages")
        except StreamClosedError:
            pass  # on_close follows

    def get_compression_options(self) -> None:
        # Frames are written pre-framed by _flush and read by BatchedProtocol13, neither
        # of which compresses.
        return None

    def get_websocket_protocol(self) -> WebSocketProtocol | None:
        protocol = super().get_websocket_protocol()
        if isinstance(protocol, WebSocketProtocol13):
            return BatchedProtocol13(self, False, protocol.params)
        return protocol

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        self._flush()  # what was sent before the close frame goes out before it
        super().close(code, reason)

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

    def identity(self) -> dict[str, Any] | None:
        """Who is on this socket, as the server knows it (an identity stamp), or None.

        The standalone server knows nobody: its token says only that a client may join.
        """
        return None

    async def _join(self, msg: Join) -> None:
        try:
            peer = await self.registry.join(self, msg, self.identity())
        except ProtocolError as exc:
            self._refuse(exc)
            return
        finally:
            self._join_pending = False
        if self._closed:
            # The socket closed while the backend admitted it: on_close found no peer.
            self._release(peer)
        else:
            self.peer = peer

    def _refuse(self, exc: ProtocolError) -> None:
        self.send_frame(error_frame(exc.code, exc.message, exc.peer))
        if exc.code not in ABUSE_CODES:
            return
        now = time.monotonic()
        if now - self._violation_window > VIOLATION_WINDOW_SECONDS:
            self._violation_window, self._violations = now, 0
        self._violations += 1
        if self._violations > self.registry.limits.max_violations:
            log.warning("nbconference: closing %s after repeated bad messages", self._who())
            peer, self.peer = self.peer, None
            if peer is not None:
                self.registry.leave_now(peer)  # no grace: it would only come back to abuse
            self.close(CLOSE_POLICY, "too many invalid messages")

    def _who(self) -> str:
        return f"{self.request.remote_ip} ({self.peer.id if self.peer else 'not joined'})"

    def on_close(self) -> None:
        self._closed = True
        self._outbox = []
        peer, self.peer = self.peer, None
        if peer is not None:
            self._release(peer)

    def _release(self, peer: Peer) -> None:
        if self.close_code in CLEAN_CLOSE_CODES:
            self.registry.leave_now(peer)
        else:
            self.registry.disconnected(peer, self)
