"""A joined signaling session that survives a dropped socket.

It follows the one reconnect policy of the protocol (docs/protocol.md, "Closing and
reconnecting"), as the browser does:

- after any close but ``FINAL_CLOSE_CODES``, reconnect after ``RECONNECT_FIRST_DELAY``,
  doubling after each failed attempt up to ``RECONNECT_MAX_DELAY``, and rejoin with the
  resume token; a welcome starts the delays over;
- never give up because of time: past the server's grace window the ``welcome`` says
  ``resumed: false`` and the session carries on as a new peer with a new id;
- stop on a ``FINAL_CLOSE_CODES`` close, on a handshake the server refuses (HTTP 401,
  403, 404) and on a join refused with one of ``FATAL_JOIN_ERRORS``; other join errors
  (``backend-unavailable``) are retried like a drop.

Frames sent while the socket is down are held (at most :data:`MAX_HELD_FRAMES`, oldest
dropped first) and sent after a resumed welcome; after a new-peer welcome they are
dropped, because the links they were meant for are gone, all but our own ``state``
frames, which are sent all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

from ..protocol import (
    CLOSE_DROPPED,
    CLOSE_LEFT,
    FATAL_JOIN_ERRORS,
    FINAL_CLOSE_CODES,
    PARTICIPANT_KIND,
    RECONNECT_FIRST_DELAY,
    RECONNECT_MAX_DELAY,
    ClientFrame,
    leave_message,
)
from .socket import REFUSED_CODES, SignalingError, SignalingSocket

log = logging.getLogger("nbconference")

MAX_HELD_FRAMES = 500


class SignalingSession:
    """Joins ``room`` on ``url`` and stays joined until :meth:`close` or a final refusal.

    ``state`` is the presence state (``camera``, ...) sent with every join; the caller
    may change the dict in place, and the current value goes with a rejoin.
    ``timeout`` bounds each connect and join.
    """

    def __init__(
        self,
        url: str,
        token: str,
        room: str,
        name: str,
        state: dict[str, bool],
        timeout: float,
        kind: str = PARTICIPANT_KIND,
    ) -> None:
        self.url, self.room, self.name = url, room, name
        self.kind = kind  # declared in every join, rejoins included
        self._token, self._state, self._timeout = token, state, timeout
        self._socket: SignalingSocket | None = None
        self._held: deque[dict[str, Any]] = deque(maxlen=MAX_HELD_FRAMES)
        self._overflowed = False
        self._closing = asyncio.Event()
        self.welcome: dict[str, Any] = {}
        self.reconnecting = False
        self.closed = False
        # Why the session ended; while reconnecting, why the last attempt failed.
        self.error = ""

    async def open(self) -> dict[str, Any]:
        """Connect and join; returns ``welcome`` or raises :class:`SignalingError`.

        The first join is not retried: a caller joining learns at once what is wrong.
        """
        self._socket = await self._join(resume=None)
        return self.welcome

    def send(self, message: dict[str, Any]) -> None:
        """Send now, or hold until the rejoin when the socket is down."""
        if self._socket is not None and self._socket.send(message):
            return
        if len(self._held) == MAX_HELD_FRAMES and not self._overflowed:
            self._overflowed = True
            log.warning("nbconference: signaling down too long; dropping the oldest held frames")
        self._held.append(message)

    async def receive(self) -> dict[str, Any] | None:
        """The next server frame; None once the session is over (see :attr:`error`).

        After a reconnect the new ``welcome`` is returned like any frame: ``resumed``
        false in it means the grace had passed and this is a new peer with a new id.
        """
        while not self.closed and self._socket is not None:
            frame = await self._socket.receive()
            if frame is not None:
                return frame
            if self.closed:
                break
            if await self._rejoin():
                return self.welcome
            self.closed = True
        return None

    async def close(self, leave: bool = True) -> None:
        """Say goodbye (unless ``leave`` is false) and close the socket."""
        self.closed = True
        self._closing.set()
        if self._socket is not None:
            if leave:
                self._socket.send(leave_message())
            await self._socket.aclose(CLOSE_LEFT, "left")

    def drop(self) -> None:
        """Close the socket the way a network failure would (the server keeps our peer)."""
        if self._socket is not None:
            self._socket.close(CLOSE_DROPPED, "dropped")

    async def _rejoin(self) -> bool:
        assert self._socket is not None
        if self._socket.close_code in FINAL_CLOSE_CODES:
            self.error = f"the signaling server closed the socket: {self._socket.why()}"
            return False
        self.reconnecting = True
        try:
            socket = await self._reconnect()
        finally:
            self.reconnecting = False
        if socket is None:
            return False
        self._socket, self.error = socket, ""
        held = list(self._held)
        self._held.clear()
        self._overflowed = False
        resumed = bool(self.welcome.get("resumed"))
        for message in held:
            # A new peer: the signals were for links that are gone, but our own state
            # holds, and may be newer than the join (changed while it was on its way).
            if resumed or message.get("type") == ClientFrame.STATE:
                self.send(message)
        return True

    async def _reconnect(self) -> SignalingSocket | None:
        """Try until a welcome, a final refusal, or :meth:`close`."""
        delay = RECONNECT_FIRST_DELAY
        while not await self._closed_within(delay):
            delay = min(delay * 2, RECONNECT_MAX_DELAY)
            try:
                return await self._join(resume=self.welcome.get("resume"))
            except SignalingError as exc:
                self.error = exc.message
                if exc.code in REFUSED_CODES or exc.code in FATAL_JOIN_ERRORS:
                    return None
                log.info("nbconference: reconnecting in %g s: %s", delay, exc.message)
        return None

    async def _join(self, resume: str | None) -> SignalingSocket:
        socket = await SignalingSocket.connect(self.url, self._token, self._timeout)
        try:
            welcome = await socket.join(
                self.room, self.name, self._state, resume, self._timeout, self.kind
            )
            if self.closed:
                raise SignalingError("closed", "the session was closed while joining")
        except BaseException:
            await socket.aclose()
            raise
        self.welcome = welcome
        return socket

    async def _closed_within(self, seconds: float) -> bool:
        """Wait ``seconds``, or less if :meth:`close` is called; True when closed."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)
        return self.closed
