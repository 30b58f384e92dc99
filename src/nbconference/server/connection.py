"""The socket side of signaling, shared by the Jupyter handler and the standalone app."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from typing import Any, get_args

from tornado.iostream import IOStream
from tornado.web import HTTPError
from tornado.websocket import WebSocketHandler, WebSocketProtocol, WebSocketProtocol13

from ..protocol import (
    ABUSE_CODES,
    CLEAN_CLOSE_CODES,
    CLOSE_POLICY,
    PING_BURST,
    PINGS_PER_SECOND,
    BreakoutRequest,
    Chat,
    ErrorCode,
    HostRequest,
    Join,
    Leave,
    LobbyRequest,
    LowerHand,
    Ping,
    ProtocolError,
    Signal,
    State,
    error_frame,
    parse_client_message,
    pong_frame,
)
from ..protocol.sfu import (
    SfuAnswer,
    SfuMessage,
    SfuPublish,
    SfuSubscribe,
    SfuTrickle,
    SfuUnpublish,
    SfuUpdate,
)
from .access import NO_GRANTS, Grants
from .framing import BatchedProtocol13
from .hosts import Actor
from .limits import RateLimiter
from .mailbox import Mailbox
from .outgoing import Outgoing
from .peer import Peer
from .rooms import RoomRegistry

log = logging.getLogger("nbconference")

VIOLATION_WINDOW_SECONDS = 10.0
SFU_FRAMES = (SfuPublish, SfuSubscribe, SfuUpdate, SfuAnswer, SfuTrickle, SfuUnpublish)
HOST_REQUESTS = get_args(HostRequest)
LOBBY_REQUESTS = get_args(LobbyRequest)
BREAKOUT_REQUESTS = get_args(BreakoutRequest)
# What a peer waiting in a lobby may send (lobby.py); anything else gets in-lobby.
WHILE_WAITING = (State, Ping, Leave, Join)


class SignalingConnection(WebSocketHandler):
    """One peer's socket: parses frames, enforces limits and hands them to the registry.

    Errors are answered with an ``error`` frame and the socket stays open; only a client
    that keeps sending bad frames (``max_violations`` within ten seconds), or that stops
    reading (see :mod:`.outgoing`), is closed with ``CLOSE_POLICY``. Frames beyond
    ``max_message_bytes`` get ``too-large``; a frame over four times that closes the
    socket (``CLOSE_TOO_BIG``).
    """

    registry: RoomRegistry
    peer: Peer | None = None
    _socket_key: str | None = None

    def initialize(self, registry: RoomRegistry, **kwargs: Any) -> None:
        self.registry = registry
        limits = registry.limits
        self._limiter = RateLimiter(limits.messages_per_second, limits.message_burst)
        self._violations = 0
        self._violation_window = time.monotonic()
        self._join_limiter = RateLimiter(registry.joins_per_second, limits.join_burst)
        self._join_pending = False
        self._ping_limiter = RateLimiter(PINGS_PER_SECOND, PING_BURST)
        self._closed = False
        self._out = Outgoing(self, registry.watchdog, limits.max_queued_bytes)

    def socket_key(self) -> tuple[str, int, str]:
        """What this socket counts against: a key, its cap (0: none) and the setting
        that sets the cap. Here, the remote address; the Jupyter handler counts users."""
        limits = self.registry.limits
        key = f"address {self.request.remote_ip}"
        return key, limits.max_sockets_per_address, "max_sockets_per_address"

    def admit(self) -> None:
        """Count this socket against its cap (see :meth:`socket_key`), or refuse it with
        HTTP 429. Called by the handlers' ``get`` once the request is authenticated; the
        count is released when the socket closes or its handshake is refused."""
        key, cap, setting = self.socket_key()
        if not self.registry.sockets.admit(key, cap):
            log.warning("nbconference: refused a socket: %s has %d open", key, cap)
            raise HTTPError(
                429,
                f"{key} has {cap} signaling sockets open ({setting})",
                reason=f"Too many signaling sockets ({cap}) for this {key.split()[0]}",
            )
        self._socket_key = key

    def _release_socket(self) -> None:
        key, self._socket_key = self._socket_key, None
        if key is not None:
            self.registry.sockets.release(key)

    def on_finish(self) -> None:
        if self.ws_connection is None:
            self._release_socket()  # the handshake was refused: no socket after all

    @property
    def max_message_size(self) -> int:
        return 4 * self.registry.limits.max_message_bytes

    def open(self, *args: Any, **kwargs: Any) -> Any:
        stream = self.ws_connection.stream if self.ws_connection else None  # type: ignore[attr-defined]
        if stream is not None:
            stream.set_nodelay(True)
        return super().open(*args, **kwargs)

    # -- Transport for the registry --------------------------------------------------

    def send_frame(self, frame: bytes) -> bool:
        # Not tornado's write_message, which makes a task per call: frames are written
        # pre-framed, a burst to one socket in one write (see Outgoing).
        return self._out.send(frame)

    def attach(self, mailbox: Mailbox | None) -> None:
        self._out.attach(mailbox)

    def wake(self) -> None:
        self._out.wake()

    def open_stream(self) -> IOStream | None:
        connection = self.ws_connection
        if connection is None or connection.is_closing() or self._closed:
            return None
        stream: IOStream | None = connection.stream  # type: ignore[attr-defined]
        return stream

    def stalled(self, why: str) -> None:
        """The client stopped reading: rather than hold its messages without bound, close
        it (it may resume and be brought up to date from its mailbox)."""
        if self.open_stream() is None:
            return
        log.warning("nbconference: closing %s: not reading its messages (%s)", self._who(), why)
        self.close(CLOSE_POLICY, "not reading messages")

    def get_compression_options(self) -> None:
        # Frames are written pre-framed by Outgoing and read by BatchedProtocol13, neither
        # of which compresses.
        return None

    def get_websocket_protocol(self) -> WebSocketProtocol | None:
        protocol = super().get_websocket_protocol()
        if isinstance(protocol, WebSocketProtocol13):
            return BatchedProtocol13(self, False, protocol.params)
        return protocol

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        # This socket's own frames (the error that explains the close) go out before the
        # close frame; its peer's mailbox stays with the peer.
        self._out.attach(None)
        self._out.flush_direct()
        super().close(code, reason)

    def close_socket(self, code: int, reason: str) -> None:
        self.peer = None
        self.close(code, reason)

    def moved(self, peer: Peer) -> None:
        if not self._closed:
            self.peer = peer

    # -- frames from the client ------------------------------------------------------

    def on_message(self, message: str | bytes) -> Awaitable[None] | None:
        if not self._limiter.allow():
            self._refuse(ProtocolError(ErrorCode.RATE_LIMITED, "too many messages; slow down"))
            return None
        try:
            msg = parse_client_message(message, self.registry.limits.max_message_bytes)
            if self._waiting() and not isinstance(msg, WHILE_WAITING):
                raise ProtocolError(
                    ErrorCode.IN_LOBBY,
                    "you are waiting for a host to let you in: until then you may send only "
                    "'state', 'ping' and 'leave'",
                )
            if isinstance(msg, Signal):
                if self.peer is None:
                    raise ProtocolError(ErrorCode.NOT_JOINED, "send 'join' before signaling")
                self.registry.signal(self.peer, msg)
            elif isinstance(msg, Join):
                if self.peer is not None or self._join_pending:
                    raise ProtocolError(ErrorCode.ALREADY_JOINED, "this socket has joined already")
                if not self._join_limiter.allow():
                    # Every join makes each browser in the room build a peer connection.
                    raise ProtocolError(
                        ErrorCode.RATE_LIMITED,
                        "too many joins on this socket; wait before rejoining",
                    )
                self._join_pending = True
                return self._join(msg)
            elif isinstance(msg, Ping):
                # Answered by this socket, joined or not: the round trip to this server.
                if not self._ping_limiter.allow():
                    raise ProtocolError(ErrorCode.RATE_LIMITED, "too many pings; slow down")
                self.send_frame(pong_frame(msg.id).encode())
            elif isinstance(msg, HOST_REQUESTS):
                return self._host_request(msg)
            elif isinstance(msg, LOBBY_REQUESTS):
                return self._lobby_request(msg)
            elif isinstance(msg, BREAKOUT_REQUESTS):
                return self._breakout_request(msg)
            elif self.peer is None:
                raise ProtocolError(ErrorCode.NOT_JOINED, "send 'join' first")
            elif isinstance(msg, State):
                self.registry.peer_state(self.peer, msg.state)
            elif isinstance(msg, Chat):
                self.registry.chat(self.peer, msg)
            elif isinstance(msg, LowerHand):
                self.registry.lower_hand(self.peer, msg)
            elif isinstance(msg, SFU_FRAMES):
                return self._sfu(self.peer, msg)
            elif isinstance(msg, Leave):
                peer, self.peer = self.peer, None
                self._out.attach(None)
                return self.registry.leave(peer)
        except ProtocolError as exc:
            self._refuse(exc)
        return None

    async def _sfu(self, peer: Peer, msg: SfuMessage) -> None:
        # Tornado waits for this before it reads the next frame: one SFU step at a time.
        try:
            if self.registry.sfu is None:
                raise ProtocolError(
                    ErrorCode.SFU_UNAVAILABLE, "this server has no SFU (its sfu setting is '')"
                )
            await self.registry.sfu.handle(peer, msg)
        except ProtocolError as exc:
            self._refuse(exc)

    async def _host_request(self, msg: HostRequest) -> None:
        # A socket that has not joined may act on the room it names. Tornado waits for
        # this before it reads the next frame (a peer of another server answers through
        # the backend).
        try:
            await self.registry.host_request(self._actor(msg), msg)
        except ProtocolError as exc:
            exc.request = msg.request  # the error names the request it refuses
            self._refuse(exc)

    async def _lobby_request(self, msg: LobbyRequest) -> None:
        # Tornado waits for this before it reads the next frame (letting someone in waits
        # for the backend).
        try:
            await self.registry.lobby_request(self._actor(msg), msg)
        except ProtocolError as exc:
            exc.request = msg.request
            self._refuse(exc)

    async def _breakout_request(self, msg: BreakoutRequest) -> None:
        # Tornado waits for this before it reads the next frame (moving peers waits for
        # the backend).
        try:
            await self.registry.breakout_request(self._actor(msg), msg)
        except ProtocolError as exc:
            exc.request = msg.request
            self._refuse(exc)

    def _waiting(self) -> bool:
        """Our peer waits in the lobby of a locked room (lobby.py)."""
        return self.peer is not None and self.peer.waiting_since is not None

    def _actor(self, msg: HostRequest | LobbyRequest | BreakoutRequest) -> Actor:
        """Who asks: our peer, in the room it joined, or this socket in the room named."""
        user, host = self.identity(), self.host_token()
        if self.peer is not None:
            if msg.room not in (None, self.peer.room):
                raise ProtocolError(
                    ErrorCode.BAD_MESSAGE,
                    f"this socket joined room '{self.peer.room}' and acts on that room only",
                )
            return Actor(self, self.peer.room, self.peer, user, host, msg.request)
        if msg.room is None:
            raise ProtocolError(
                ErrorCode.NOT_JOINED,
                "name the room in 'room', or join it first",
            )
        return Actor(self, msg.room, None, user, host, msg.request)

    def host_token(self) -> bool:
        """Whether this socket showed a host token (``nbconference serve``'s
        ``--host-token-file``): its peer hosts every room it joins."""
        return False

    def identity(self) -> dict[str, Any] | None:
        """Who is on this socket, as the server knows it (an identity stamp), or None.

        The standalone server knows nobody: its token says only that a client may join.
        """
        return None

    def grants(self) -> Grants:
        """What this socket may open beyond who it is, as the server that authenticated
        it says (on a JupyterHub, its token's ``access:servers`` scopes): read by the
        entry check alone, never shown to peers. Nothing, here."""
        return NO_GRANTS

    async def _join(self, msg: Join) -> None:
        try:
            peer = await self.registry.join(
                self, msg, self.identity(), self.host_token(), self.grants()
            )
        except ProtocolError as exc:
            self._refuse(exc)
            return
        finally:
            self._join_pending = False
        if self._closed:
            # The socket closed while the backend admitted it: on_close found no peer.
            self._out.attach(None)
            self._release(peer)
        else:
            self.peer = peer
            if self.registry.sfu is not None and peer.waiting_since is None:
                self.registry.sfu.joined(peer)  # a waiting peer: once it is let in

    def _refuse(self, exc: ProtocolError) -> None:
        self.send_frame(error_frame(exc.code, exc.message, exc.peer, exc.request).encode())
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
        self._release_socket()
        self._out.close()
        peer, self.peer = self.peer, None
        if peer is not None:
            self._release(peer)

    def _release(self, peer: Peer) -> None:
        if self.close_code in CLEAN_CLOSE_CODES:
            self.registry.leave_now(peer)
        else:
            self.registry.disconnected(peer, self)
