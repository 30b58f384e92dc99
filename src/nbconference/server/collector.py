"""Keep Python's garbage collector from pausing every room of ``nbconference serve`` at once.

An open socket holds about 85 tracked objects for as long as it lives (its handler, its
stream, the coroutine frames that wait on it). A full collection examines every tracked
object, so once thousands of sockets are open it pauses the whole process: 0.6 s at
10,000 sockets by itself (benchmarks/README.md, "soak.py"), for every room at once.

So once enough new sockets have opened, everything tracked is moved out of the
collector's way (``gc.freeze()``, which costs nothing): later collections examine only
what came since. A frozen object is never collected, so a frozen socket that closes
leaves whatever reference cycles it had. When half of the frozen sockets have closed,
they are handed back (``gc.unfreeze()``) and collected at once: one pause, on purpose,
logged, at a time when half of what it examines is garbage.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Collection

from tornado.ioloop import PeriodicCallback

log = logging.getLogger("nbconference")

# How often the sockets are counted.
CHECK_SECONDS = 1.0
# Freeze once this many sockets have opened since the last freeze.
FREEZE_STEP = 250


class Collector:
    """Freezes the objects of settled sockets (module docstring); ``sockets`` is the set
    of open sockets, read every ``interval`` seconds."""

    def __init__(
        self,
        sockets: Collection[object],
        interval: float = CHECK_SECONDS,
        step: int = FREEZE_STEP,
    ) -> None:
        self._sockets = sockets
        self._step = step
        self._frozen: set[int] = set()  # ids of the sockets open at the last freeze
        self.freezes = 0
        self.thaws = 0
        self._timer = PeriodicCallback(self.check, interval * 1000)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        """Stop, and hand every frozen object back to the collector."""
        self._timer.stop()
        if self._frozen:
            gc.unfreeze()
            self._frozen = set()

    def check(self) -> None:
        open_now = {id(socket) for socket in self._sockets}
        closed = len(self._frozen - open_now)
        if self._frozen and closed * 2 > len(self._frozen):
            self._thaw(closed, len(open_now))
        if len(open_now - self._frozen) >= self._step:
            gc.freeze()
            self._frozen = open_now
            self.freezes += 1

    def _thaw(self, closed: int, open_now: int) -> None:
        frozen, started = len(self._frozen), time.perf_counter()
        gc.unfreeze()
        found = gc.collect()
        self._frozen = set()
        self.thaws += 1
        log.info(
            "nbconference: %d of the %d sockets frozen out of the collector's way have "
            "closed; collected them: %d objects in %.0f ms (%d sockets open)",
            closed,
            frozen,
            found,
            (time.perf_counter() - started) * 1000,
            open_now,
        )
