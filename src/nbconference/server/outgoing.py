"""Frames on their way out of one signaling socket, in bounded writes.

Two queues feed a socket: frames for this socket alone (its ``welcome`` and ``error``
frames) and, once it has joined, its peer's :class:`~.mailbox.Mailbox`. Both are drained
at the end of the loop turn in which a frame arrived, in writes of at most
:data:`WRITE_CHUNK` bytes, and the next write waits until the kernel has taken the last
one. So what this process holds for a socket is its queues (bounded in bytes) plus one
write, however much arrives at once, and however slowly the client reads.

A client that reads, however slowly, is never closed for it: its senders are told when
its mailbox is full. A client whose socket takes not a byte for ``send_timeout_seconds``
has stopped reading: the :class:`Watchdog` closes it. One watchdog serves every socket
of a server, so an idle socket costs no timer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any, Protocol

from tornado.ioloop import PeriodicCallback
from tornado.iostream import IOStream, StreamClosedError

from .framing import text_frames
from .mailbox import Mailbox

# The most written to a socket at once; one frame larger than this goes alone.
WRITE_CHUNK = 256 * 1024


class Socket(Protocol):
    """What :class:`Outgoing` needs of its socket."""

    def open_stream(self) -> IOStream | None:
        """The stream to write to; None once the socket is closing or closed."""

    def stalled(self, why: str) -> None:
        """The client stopped reading: close it."""


class Watchdog:
    """Checks, every ``send_timeout`` seconds, the sockets that have writes outstanding:
    one whose kernel buffer took nothing since the last check has stopped reading."""

    def __init__(self, send_timeout: float) -> None:
        self.send_timeout = send_timeout
        self._watched: dict[Outgoing, int] = {}
        self._timer = PeriodicCallback(self._check, send_timeout * 1000)

    def watch(self, outgoing: Outgoing) -> None:
        if outgoing not in self._watched:
            self._watched[outgoing] = -1  # checked for progress from the next sweep on
            if not self._timer.is_running():
                self._timer.start()

    def forget(self, outgoing: Outgoing) -> None:
        self._watched.pop(outgoing, None)

    def stop(self) -> None:
        self._timer.stop()
        self._watched.clear()

    def _check(self) -> None:
        for outgoing, before in list(self._watched.items()):
            stream = outgoing.socket.open_stream()
            if stream is None or not outgoing.waiting():
                del self._watched[outgoing]
                continue
            now = _progress(stream)
            if now == before:
                del self._watched[outgoing]
                outgoing.socket.stalled(f"took nothing for {self.send_timeout:g} s")
            else:
                self._watched[outgoing] = now
        if not self._watched:
            self._timer.stop()


class Outgoing:
    __slots__ = (
        "_direct",
        "_direct_bytes",
        "_scheduled",
        "_writing",
        "mailbox",
        "max_direct_bytes",
        "socket",
        "watchdog",
    )

    def __init__(self, socket: Socket, watchdog: Watchdog, max_direct_bytes: int) -> None:
        self.socket = socket
        self.watchdog = watchdog
        self.max_direct_bytes = max_direct_bytes
        self._direct: deque[bytes] | None = None
        self._direct_bytes = 0
        self.mailbox: Mailbox | None = None
        self._scheduled = False
        self._writing: asyncio.Future[None] | None = None

    def send(self, frame: bytes) -> bool:
        """Queue a frame for this socket alone; False if it cannot take it (closed, or
        so far behind on its own replies that it is closed now)."""
        if self.socket.open_stream() is None:
            return False
        if self._direct_bytes + len(frame) > self.max_direct_bytes:
            self.socket.stalled(f"{self._direct_bytes} bytes of replies unread")
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
        stream = self.socket.open_stream()
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
        self.watchdog.forget(self)

    def waiting(self) -> bool:
        return bool(self._direct) or bool(self.mailbox) or self._writing is not None

    def _flush(self) -> None:
        self._scheduled = False
        stream = self.socket.open_stream()
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
        if not self._writing.done():
            self.watchdog.watch(self)  # the kernel did not take it all at once

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
        if direct is not None and not direct:
            self._direct = None  # an idle socket keeps no queue (a deque is 600 bytes)
        self._direct_bytes -= size
        if self.mailbox and size < limit:
            frames += self.mailbox.take(limit - size)
        return frames


def _progress(stream: Any) -> int:
    """How many bytes the kernel has taken from ``stream`` so far (tornado's own count;
    without it, a write that never completes counts as no progress)."""
    return int(getattr(stream, "_total_write_done_index", 0))
