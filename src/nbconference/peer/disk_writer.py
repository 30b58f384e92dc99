"""The recorder's file work (scaling, encoding, muxing) on a thread of its own.

Encoding every participant's camera on the event loop would hold up everything else the
loop does, the decoding of the next frames included, and a recorder that falls behind
writes its frames late and loses the last seconds when it stops. One thread keeps the
order of each file's frames; PyAV lets go of the GIL while it scales and encodes, so
the work runs beside the loop on another core.

Bounded: while more than ``max_pending`` jobs wait, droppable ones (video frames) are
dropped and counted; audio, mixing and closing always wait their turn.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("nbconference")

# About two seconds of three cameras at 30 fps; a 640x360 frame is ~350 KB decoded.
MAX_PENDING = 180


class DiskWriter:
    """Runs jobs in order on one thread until :meth:`close`."""

    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        self.max_pending = max_pending
        self.dropped = 0  # droppable jobs refused because the thread was behind
        self._jobs: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="nbconference-recorder")
        self._thread.daemon = True  # never keeps a dying process alive; close() joins it
        self._thread.start()

    @property
    def pending(self) -> int:
        return self._jobs.qsize()

    def submit(self, job: Callable[[], object], droppable: bool = False) -> bool:
        """Queue ``job``; False when it was dropped (or the writer is closed)."""
        if self._closed:
            return False
        if droppable and self._jobs.qsize() >= self.max_pending:
            if self.dropped == 0:
                log.warning("nbconference: the recorder is behind; it drops video frames")
            self.dropped += 1
            return False
        self._jobs.put(job)
        return True

    def close(self, timeout: float = 30.0) -> bool:
        """Run what is queued, then stop the thread; False if it did not end in time."""
        if not self._closed:
            self._closed = True
            self._jobs.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:
                log.exception("nbconference: the recorder could not write")
