"""The recorder's file work (scaling, encoding, muxing) on a thread of its own.

Encoding every participant's camera on the event loop would hold up everything else the
loop does, the decoding of the next frames included, and a recorder that falls behind
writes its frames late and loses the last seconds when it stops. One thread keeps the
order of each file's frames; PyAV lets go of the GIL while it scales and encodes, so
the work runs beside the loop on another core.

Bounded in jobs and in bytes: a droppable job (a video frame) that would take the queue
past ``max_pending`` jobs or ``max_bytes`` of frames is dropped and counted, so what the
recorder holds in memory does not depend on how large a picture senders send (a decoded
1080p frame is 3 MB: 180 of them would be over half a gigabyte). Audio, mixing and
closing always wait their turn; they are small.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("nbconference")

# About two seconds of three cameras at 30 fps; a 640x360 frame is ~350 KB decoded.
MAX_PENDING = 180
# The same two seconds of three 640x360 cameras, in bytes: 22 frames of 1080p.
MAX_PENDING_BYTES = 64 * 2**20


def frame_bytes(frame: Any) -> int:
    """The memory a decoded ``av`` frame holds (its planes), 0 for anything else."""
    return sum(int(plane.buffer_size) for plane in getattr(frame, "planes", ()))


class DiskWriter:
    """Runs jobs in order on one thread until :meth:`close`."""

    def __init__(self, max_pending: int = MAX_PENDING, max_bytes: int = MAX_PENDING_BYTES) -> None:
        self.max_pending = max_pending
        self.max_bytes = max_bytes
        self.dropped = 0  # droppable jobs refused because the thread was behind
        self.peak_bytes = 0  # the most bytes ever queued at once
        self._bytes = 0
        self._lock = threading.Lock()  # over _bytes, shared with the thread
        self._jobs: queue.SimpleQueue[tuple[Callable[[], object], int] | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="nbconference-recorder")
        self._thread.daemon = True  # never keeps a dying process alive; close() joins it
        self._thread.start()

    @property
    def pending(self) -> int:
        """Jobs queued (not counting the one running)."""
        return self._jobs.qsize()

    @property
    def pending_bytes(self) -> int:
        """Bytes of the frames queued or being written."""
        return self._bytes

    def submit(self, job: Callable[[], object], droppable: bool = False, size: int = 0) -> bool:
        """Queue ``job``, which holds ``size`` bytes until it has run; False when it was
        dropped (or the writer is closed)."""
        if self._closed:
            return False
        with self._lock:
            if droppable and (
                self._jobs.qsize() >= self.max_pending or self._bytes + size > self.max_bytes
            ):
                if self.dropped == 0:
                    log.warning("nbconference: the recorder is behind; it drops video frames")
                self.dropped += 1
                return False
            self._bytes += size
            self.peak_bytes = max(self.peak_bytes, self._bytes)
        self._jobs.put((job, size))
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
        while (item := self._jobs.get()) is not None:
            job, size = item
            try:
                job()
            except Exception:
                log.exception("nbconference: the recorder could not write")
            del job, item  # let go of the frame before counting it gone
            with self._lock:
                self._bytes -= size
