"""A lean WebSocket client for load generation: an asyncio Protocol that frames by hand.

A load generator written with a full client library costs about as much CPU per message
as the server it measures; this one costs a fraction of it, so one client process can
drive a server that has a core to itself. Outgoing frames use the all-zero masking key,
which RFC 6455 allows: the payload is then sent as is, without a masking pass.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from urllib.parse import urlsplit

from nbconference.protocol import CLOSE_LEFT

KEY = base64.b64encode(b"nbconference-ws!").decode()
ZERO_MASK = b"\0\0\0\0"


def text_frame(payload: bytes, opcode: int = 0x81) -> bytes:
    """A client frame (FIN set, zero mask) carrying ``payload``."""
    size = len(payload)
    if size < 126:
        header = bytes((opcode, 0x80 | size))
    elif size < 65536:
        header = bytes((opcode, 0xFE)) + size.to_bytes(2, "big")
    else:
        header = bytes((opcode, 0xFF)) + size.to_bytes(8, "big")
    return header + ZERO_MASK + payload


class LeanSocket(asyncio.Protocol):
    """One client socket; text frames are handed to ``on_frames`` in batches."""

    def __init__(self, on_frames: Callable[[list[bytes]], None]) -> None:
        self.on_frames = on_frames
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        if not self.upgraded and not self._upgrade():
            return
        pos, size = 0, len(buf)
        frames: list[bytes] = []
        while size - pos >= 2:
            opcode = buf[pos] & 0x0F
            length = buf[pos + 1] & 0x7F
            head = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), pos + 10
            end = head + length
            if end > size:
                break
            if opcode == 0x1:
                frames.append(bytes(buf[head:end]))
            elif opcode == 0x9:
                self.send(text_frame(bytes(buf[head:end]), 0x8A))  # pong
            elif opcode == 0x8:
                assert self.transport is not None
                self.transport.close()
            pos = end
        if pos:
            del buf[:pos]
        if frames:
            self.on_frames(frames)

    def _upgrade(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        status = bytes(self.buffer[: self.buffer.find(b"\r\n")])
        del self.buffer[: end + 4]
        if b" 101 " not in status:
            self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
            assert self.transport is not None
            self.transport.close()
            return False
        self.upgraded = True
        self.opened.set_result(None)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        """Close with CLOSE_LEFT (a clean goodbye: the server removes the peer at once)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(text_frame(CLOSE_LEFT.to_bytes(2, "big"), 0x88))
            self.transport.close()


async def open_socket(url: str, on_frames: Callable[[list[bytes]], None]) -> LeanSocket:
    """Connect to a ``ws://host:port/path?query`` URL and finish the upgrade."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None, url
    loop = asyncio.get_running_loop()
    _, socket = await loop.create_connection(
        lambda: LeanSocket(on_frames), parts.hostname, parts.port
    )
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    socket.send(
        (
            f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await socket.opened
    return socket
