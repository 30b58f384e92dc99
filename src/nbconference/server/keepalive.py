"""Pings for every socket of ``nbconference serve`` from one timer.

tornado's own keep-alive (``websocket_ping_interval``) runs a task per socket, which
costs every idle socket close to 2 KB. Here one periodic sweep pings all of them; a
socket that did not answer the previous sweep's ping (a pong, or any frame) has lost its
client without a goodbye, and is closed like tornado would (its peer keeps its grace).
"""

from __future__ import annotations

from typing import Protocol

from tornado.ioloop import PeriodicCallback


class Pinged(Protocol):
    def keepalive(self) -> None:
        """Close if the last ping went unanswered; else send a new one."""


class KeepAlive:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.sockets: set[Pinged] = set()
        self._timer = PeriodicCallback(self._sweep, interval * 1000)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _sweep(self) -> None:
        for socket in list(self.sockets):
            socket.keepalive()
