"""Pings for every socket of ``nbconference serve`` from one timer.

tornado's own keep-alive (``websocket_ping_interval``) runs a task per socket, which
costs every idle socket close to 2 KB. Here one timer visits every socket once per
interval, a slice at a time so that the pings (and their pongs) of thousands of sockets
do not all land in the same moment. A socket that did not answer its previous ping (a
pong) has lost its client without a goodbye, and is closed as tornado would (its peer
keeps its grace window).
"""

from __future__ import annotations

import math
from typing import Protocol

from tornado.ioloop import PeriodicCallback

# Every socket is visited once per interval, a slice every TICK seconds.
TICK = 0.1


class Pinged(Protocol):
    def keepalive(self) -> None:
        """Close if the last ping went unanswered; else send a new one."""


class KeepAlive:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.sockets: set[Pinged] = set()
        self._round: list[Pinged] = []
        self._slices = max(1, round(interval / TICK))
        self._per_tick = 0
        self._ticks = self._slices - 1  # the first tick begins a round
        self._timer = PeriodicCallback(self._tick, interval * 1000 / self._slices)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._round = []

    def _tick(self) -> None:
        self._ticks += 1
        if self._ticks >= self._slices:
            # A new round: each socket open now gets one visit in the next ticks.
            self._ticks = 0
            self._round = list(self.sockets)
            self._per_tick = math.ceil(len(self._round) / self._slices)
        visit = self._round[-self._per_tick :] if self._per_tick else []
        del self._round[len(self._round) - len(visit) :]
        for socket in visit:
            if socket in self.sockets:  # not closed since the round began
                socket.keepalive()
