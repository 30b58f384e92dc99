"""Connections that start a request and never finish it (slowloris): raw sockets that send
part of a request head, a byte more now and then, and notice when the server closes them."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterable

# A WebSocket handshake cut off in the middle of a header: the head never ends.
PARTIAL_HEAD = b"GET /nbconference/signal HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


class HalfSent:
    """Connections to 127.0.0.1:``port`` that each sent :data:`PARTIAL_HEAD` and no more.

    ``sources`` are the loopback addresses they come from (all of 127.0.0.0/8 reaches
    127.0.0.1 on Linux), taken in turn, to stand for clients on many addresses.
    """

    def __init__(self, port: int, count: int, sources: Iterable[str] = ("127.0.0.1",)) -> None:
        self.sockets: list[socket.socket] = []
        self.closed: set[socket.socket] = set()
        addresses = list(sources)
        try:
            for n in range(count):
                sock = socket.socket()
                self.sockets.append(sock)
                sock.settimeout(5)
                sock.bind((addresses[n % len(addresses)], 0))
                sock.connect(("127.0.0.1", port))
                sock.sendall(PARTIAL_HEAD)
                sock.setblocking(False)
        except BaseException:
            self.close()
            raise

    def trickle(self) -> None:
        """One more byte of the header on every connection still open (which would keep
        a timeout that counts only silence from ever firing)."""
        for sock in self.open():
            with contextlib.suppress(BlockingIOError, OSError):
                sock.send(b"a")

    def open(self) -> list[socket.socket]:
        """The connections the server has not closed yet."""
        for sock in self.sockets:
            if sock in self.closed:
                continue
            try:
                if sock.recv(65536) == b"":  # what it answered, if anything, is dropped
                    self.closed.add(sock)
            except BlockingIOError:
                pass
            except OSError:
                self.closed.add(sock)
        return [sock for sock in self.sockets if sock not in self.closed]

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
