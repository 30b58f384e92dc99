"""A joined signaling session that survives a dropped socket.

When the socket drops, the session reconnects with backoff and rejoins with its resume
token while the server's grace window lasts (``limits.reconnect_grace_seconds`` from
``welcome``), so the peer keeps its id and the server hands over the signals queued for
it meanwhile. Frames sent while the socket is down wait and go out after the rejoin.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .socket import ABNORMAL_CLOSE, SignalingError, SignalingSocket

# Closes after which resuming is pointless: abuse (1008) or a newer socket took over (4000).
FINAL_CLOSE_CODES = frozenset({1008, 4000})
MAX_BACKOFF = 2.0


class SignalingSession:
    """Joins ``room`` on ``url`` and stays joined until :meth:`close` or the grace is over.

    ``state`` is the presence state (``camera``, ...) sent with every join; the caller
    may change the dict in place, and the current value goes with a rejoin.
    """

    def __init__(
        self,
        url: str,
        token: str,
        room: str,
        name: str,
        state: dict[str, bool],
        timeout: float,
    ) -> None:
        self.url, self.room, self.name = url, room, name
        self._token, self._state, self._timeout = token, state, timeout
        self._client: SignalingSocket | None = None
        self._outbox: list[dict[str, Any]] = []
        self.welcome: dict[str, Any] = {}
        self.reconnecting = False
        self.closed = False
        self.error = ""

    async def open(self) -> dict[str, Any]:
        """Connect and join; returns ``welcome`` or raises :class:`SignalingError`."""
        self._client = await SignalingSocket.connect(self.url, self._token, self._timeout)
        try:
            self.welcome = await self._client.join(
                self.room, self.name, self._state, timeout=self._timeout
            )
        except BaseException:
            await self._client.aclose()
            raise
        return self.welcome

    def send(self, message: dict[str, Any]) -> None:
        """Send now, or after the rejoin when the socket is down."""
        if self._client is None or not self._client.send(message):
            self._outbox.append(message)

    async def receive(self) -> dict[str, Any] | None:
        """The next server frame; None once the session is over (see :attr:`error`).

        After a reconnect the new ``welcome`` is returned like any frame: ``resumed``
        false in it means the grace had passed and this is a new peer with a new id.
        """
        while not self.closed and self._client is not None:
            frame = await self._client.receive()
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
        if self._client is not None:
            if leave:
                self._client.send({"type": "leave"})
            await self._client.aclose(1000, "left")

    def drop(self) -> None:
        """Close the socket the way a network failure would (the server keeps our peer)."""
        if self._client is not None:
            self._client.close(ABNORMAL_CLOSE, "dropped")

    async def _rejoin(self) -> bool:
        assert self._client is not None
        if self._client.close_code in FINAL_CLOSE_CODES:
            self.error = f"the signaling server closed the socket: {self._client.why()}"
            return False
        self.reconnecting = True
        try:
            client = await self._reconnect()
        finally:
            self.reconnecting = False
        if client is None:
            return False
        self._client = client
        outbox, self._outbox = self._outbox, []
        for message in outbox:
            self.send(message)
        return True

    async def _reconnect(self) -> SignalingSocket | None:
        grace = float(self.welcome.get("limits", {}).get("reconnect_grace_seconds", 15.0))
        deadline, delay = time.monotonic() + grace, 0.25
        while time.monotonic() < deadline and not self.closed:
            wait = max(0.5, min(self._timeout, deadline - time.monotonic()))
            try:
                client = await SignalingSocket.connect(self.url, self._token, wait)
            except SignalingError as exc:
                if exc.code == "forbidden":
                    self.error = exc.message
                    return None
                await asyncio.sleep(max(0.0, min(delay, deadline - time.monotonic())))
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            try:
                self.welcome = await client.join(
                    self.room, self.name, self._state, self.welcome.get("resume"), wait
                )
            except SignalingError as exc:
                await client.aclose()
                self.error = exc.message
                return None
            return client
        self.error = self.error or f"lost the signaling server at {self.url} for {grace:g} s"
        return None
