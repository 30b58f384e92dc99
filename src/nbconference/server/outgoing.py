"""Frames on their way out of one signaling socket, in bounded writes.

Two queues feed a socket: frames for this socket alone (its ``welcome`` and ``error``
frames) and, once it has joined, its peer's :class:`~.mailbox.Mailbox`. Both are drained
at the end of the loop turn in which a frame arrived, in writes of at most
:data:`WRITE_CHUNK` bytes, and the next write waits until the kernel has taken the last
one. So what this process holds for a socket is its queues (bounded in bytes) plus one
write, however much arrives at once, and however slowly the client reads.

A client that reads, however slowly, is never closed for it: its senders are told when
its mailbox is full. A client whose socket takes no byte at all for
``send_timeout_seconds`` has stopped reading; it is closed (``on_stalled``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any

from tornado.iostream import IOStream, StreamClosedError

from .framing import text_frames
from .mailbox import Mailbox

# The most written to a socket at once; one frame larger than this goes alone.
WRITE_CHUNK = 256 * 1024


class Outgoing:
    __slots__ = (
        "_direct",
        "_direct_bytes",
        "_on_stalled",
        "_scheduled",
        "_stall_timer",
        "_stream",
        "_writing",
        "mailbox",
        "max_direct_bytes",
        "send_timeout",
    )

    def __init__(
        self,
        stream: Callable[[], IOStream | None],
        on_stalled: Callable[[str], None],
        max_direct_bytes: int,
        send_timeout: float,
    ) -> None:
        self._stream = stream
        self._on_stalled = on_stalled
        self.max_direct_bytes = max_direct_bytes
        self.send_timeout = send_timeout
        self._direct: deque[bytes] | None = None
        self._direct_bytes = 0
        self.mailbox: Mailbox | None = None
        self._scheduled = False
        self._writing: asyncio.Future[None] | None = None
        self._stall_timer: asyncio.TimerHandle | None = None

    def send(self, frame: bytes) -> bool:
        """Queue a frame for this socket alone; False if it cannot take it (closed, or
        so far behind on its own replies that it is closed now)."""
        if self._stream() is None:
            return False
        if self._direct_bytes + len(frame) > self.max_direct_bytes:
            self._on_stalled(f"{self._direct_bytes} bytes of replies unread")
            return False
        if self._direct is None:
            self._direct = deque()
        self._direct.append(frame)
        self._direct_bytes += len(frame)
        self.wake()
        return True

    def attach(self, mailbox: Mailbox | None) -> None:
        """Drain ``mailbox`` (a peer's) from now on; None stops draining it."""
        self.mailbox = mailbox
        if mailbox:
            self.wake()

    def wake(self) -> None:
        """There is something new to send: write it at the end of this loop turn, so a
        burst to one socket goes out in one write."""
        if not self._scheduled and self._writing is None:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def flush_direct(self) -> None:
        """Write this socket's own frames now, however many (before a close frame)."""
        stream = self._stream()
        if stream is None or not self._direct:
            return
        frames, self._direct, self._direct_bytes = list(self._direct), None, 0
        with contextlib.suppress(StreamClosedError):
            stream.write(text_frames(frames))

    def close(self) -> None:
        """The socket closed: stop, and let go of the mailbox (its peer keeps it)."""
        self.mailbox = None
        self._direct = None
        self._direct_bytes = 0
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None

    def waiting(self) -> bool:
        return bool(self._direct) or bool(self.mailbox) or self._writing is not None

    def _flush(self) -> None:
        self._scheduled = False
        stream = self._stream()
        if self._writing is not None or stream is None:
            return
        frames = self._take(WRITE_CHUNK)
        if not frames:
            return
        try:
            self._writing = stream.write(text_frames(frames))
        except StreamClosedError:
            return  # on_close follows
        self._writing.add_done_callback(self._written)
        if self._stall_timer is None:
            self._watch(_progress(stream))

    def _written(self, future: asyncio.Future[None]) -> None:
        self._writing = None
        if not future.cancelled() and future.exception() is None:
            self._flush()

    def _take(self, limit: int) -> list[bytes]:
        frames: list[bytes] = []
        size = 0
        direct = self._direct
        while direct and (not frames or size + len(direct[0]) <= limit):
            frame = direct.popleft()
            frames.append(frame)
            size += len(frame)
        self._direct_bytes -= size
        if self.mailbox and size < limit:
            frames += self.mailbox.take(limit - size)
        return frames

    def _watch(self, progress: int) -> None:
        loop = asyncio.get_running_loop()
        self._stall_timer = loop.call_later(self.send_timeout, self._check, progress)

    def _check(self, before: int) -> None:
        self._stall_timer = None
        stream = self._stream()
        if stream is None or not self.waiting():
            return
        now = _progress(stream)
        if now == before:
            self._on_stalled(f"took nothing for {self.send_timeout:g} s")
        else:
            self._watch(now)


def _progress(stream: Any) -> int:
    """How many bytes the kernel has taken from ``stream`` so far (tornado's own count;
    without it, a write that never completes counts as no progress)."""
    return int(getattr(stream, "_total_write_done_index", 0))
