"""The HTTP server of ``nbconference serve``, hardened against clients that connect and
never finish their request (slowloris), and against running out of file descriptors.

Per address, at most a few connections that have not shown the token; an accept loop
that survives ``EMFILE`` by closing the oldest unfinished connection or pausing; and what
was cut or refused is logged once per interval, not once per connection.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

import tornado.httputil
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream

log = logging.getLogger("nbconference")
# Out of file descriptors with nothing to close: how long accepting pauses.
ACCEPT_PAUSE_SECONDS = 0.5
# How often, at most, the log says that connections were cut or accepts paused.
REPORT_INTERVAL_SECONDS = 10.0
# accept() errors that mean "no file descriptor or memory for one more socket now".
_OUT_OF_FILES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class GuardedHTTPServer(HTTPServer):
    """The HTTP server of ``nbconference serve``, which holds out against clients that
    connect and never finish their request (slowloris).

    Every connection costs a file descriptor and buffers from the moment it is accepted,
    before it has shown the token. So: the request head must arrive within the
    ``idle_connection_timeout`` given (tornado's header timeout) and fit in
    ``max_header_size``; one address may hold at most :attr:`max_pending_per_address`
    connections whose handshake is not done, past which its oldest is closed; and when
    the process runs out of file descriptors, the oldest unfinished connection anywhere
    is closed to make room, or, with none, accepting pauses briefly rather than failing
    (and logging) on every attempt. Such events are logged once per interval.

    Accepting replaces tornado's ``add_accept_handler``, through TCPServer's ``_sockets``,
    ``_handlers`` and ``_handle_connection`` (tornado 6).
    """

    max_pending_per_address = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # tornado's Configurable calls initialize(); this runs after it.
        super().__init__(*args, **kwargs)
        # Connections whose handshake is not done, oldest first: all, and per address.
        self._pending: dict[IOStream, str] = {}
        self._pending_of: dict[str, dict[IOStream, None]] = {}
        self._cut = 0
        self._out_of_files = 0
        self._next_report = 0.0
        self._report_due: object = None

    def handle_stream(self, stream: IOStream, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else str(address)
        waiting = self._pending_of.setdefault(host, {})
        if self.max_pending_per_address > 0 and len(waiting) >= self.max_pending_per_address:
            self._cut_oldest(next(iter(waiting)))
        waiting[stream] = None
        self._pending[stream] = host
        super().handle_stream(stream, address)

    def on_close(self, server_conn: object) -> None:
        self._forget(getattr(server_conn, "stream", None))
        super().on_close(server_conn)

    def admit(self, request: tornado.httputil.HTTPServerRequest) -> None:
        """``request`` showed the token: its connection is no longer a stranger's."""
        self._forget(getattr(request.connection, "stream", None))

    def _forget(self, stream: IOStream | None) -> None:
        host = self._pending.pop(stream, None) if stream is not None else None
        if host is None:
            return
        waiting = self._pending_of.get(host, {})
        waiting.pop(stream, None)  # type: ignore[arg-type]
        if not waiting:
            self._pending_of.pop(host, None)

    def _cut_oldest(self, stream: IOStream | None = None) -> bool:
        """Close ``stream``, or the oldest unfinished connection; False if there is none."""
        if stream is None:
            if not self._pending:
                return False
            stream = next(iter(self._pending))
        self._forget(stream)
        stream.close()
        self._cut += 1
        self._report()
        return True

    def _report(self) -> None:
        """Log what was cut or refused now, or at the end of the current interval if a
        report went out less than one ago: one line per kind per interval at most."""
        now = time.monotonic()
        if now < self._next_report:
            if self._report_due is None:
                self._report_due = IOLoop.current().call_later(
                    self._next_report - now, self._report
                )
            return
        self._report_due = None
        self._next_report = now + REPORT_INTERVAL_SECONDS
        if self._out_of_files:
            log.warning(
                "nbconference: out of file descriptors (%s) at %d accepts: closed the "
                "oldest unfinished connections, or paused accepting; raise the open files "
                "limit (ulimit -n)",
                os.strerror(errno.EMFILE),
                self._out_of_files,
            )
        if self._cut:
            log.warning(
                "nbconference: closed %d connections that had not finished their handshake "
                "(too many at once from one address, or out of file descriptors)",
                self._cut,
            )
        self._out_of_files = self._cut = 0

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = self._accept_on(sock)

    def _accept_on(self, sock: socket.socket) -> Callable[[], None]:
        """tornado's add_accept_handler, except that running out of file descriptors
        neither escapes as an error nor leaves the socket readable for the loop to call
        again at once. Returns what stops accepting."""
        loop = IOLoop.current()
        stopped = False
        resume: object = None

        def accept(fd: socket.socket, events: int) -> None:
            nonlocal resume
            # At most a backlog's worth at a time, so other work is not starved.
            for _ in range(128):
                if stopped:
                    return
                try:
                    connection, address = sock.accept()
                except BlockingIOError:
                    return
                except ConnectionAbortedError:
                    continue
                except OSError as error:
                    if error.errno not in _OUT_OF_FILES:
                        raise
                    # Linux takes the descriptor before it looks for a connection:
                    # this may only mean that the last accept took the last one.
                    if not _readable(sock):
                        return
                    self._out_of_files += 1
                    if self._cut_oldest():
                        continue  # a descriptor is free again
                    self._report()
                    loop.remove_handler(sock)
                    resume = loop.call_later(ACCEPT_PAUSE_SECONDS, listen)
                    return
                self._handle_connection(connection, address)

        def listen() -> None:
            nonlocal resume
            resume = None
            if not stopped:
                loop.add_handler(sock, accept, IOLoop.READ)

        def stop() -> None:
            nonlocal stopped
            stopped = True
            if resume is not None:
                loop.remove_timeout(resume)
            loop.remove_handler(sock)

        listen()
        return stop


def _readable(sock: socket.socket) -> bool:
    """Whether a connection waits on listening ``sock`` (poll needs no new descriptor)."""
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))
