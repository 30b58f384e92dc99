"""WebSocket framing for the signaling sockets, both ways, without tornado's per-frame cost.

Outgoing: :func:`text_frames` frames payloads by hand, so a burst of frames to one socket
is joined into one write. Incoming: :class:`BatchedProtocol13` parses every frame a read
brings in.

tornado's reader awaits its stream three or four times per frame (header, length, mask,
payload), and each await is a Future with bookkeeping: that was a third of the server's
time per relayed message. This reader takes whatever the socket holds and walks the
frames in it. What a frame means (text, close, ping, pong), UTF-8 decoding and calling
``on_message`` (awaiting what it returns before the next frame) stay tornado's own
``_handle_message``. Compression is never negotiated on these sockets.
"""

from __future__ import annotations

import asyncio
import struct

from tornado.iostream import StreamClosedError
from tornado.util import _websocket_mask
from tornado.websocket import WebSocketProtocol13

from ..protocol import CLOSE_TOO_BIG

READ_CHUNK = 64 * 1024
# Like tornado: give other sockets a turn after this much work from one socket.
YIELD_AFTER_BYTES = 256 * 1024
FRAME_COST_BYTES = 1024
FRAGMENT = -1
ABORTED = -2


def text_header(size: int) -> bytes:
    """The header of a server-to-client text frame (FIN set, unmasked) of ``size`` bytes."""
    if size < 126:
        return struct.pack("!BB", 0x81, size)
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size)
    return struct.pack("!BBQ", 0x81, 127, size)


def text_frames(payloads: list[bytes]) -> bytes:
    """``payloads`` framed as text frames, back to back, in one buffer."""
    parts = []
    for payload in payloads:
        parts.append(text_header(len(payload)))
        parts.append(payload)
    return b"".join(parts)


class BatchedProtocol13(WebSocketProtocol13):
    _first_opcode = 0

    async def _receive_frame_loop(self) -> None:
        buffer = bytearray()
        work = 0
        try:
            while not self.client_terminated:
                chunk = await self.stream.read_bytes(READ_CHUNK, partial=True)
                self._wire_bytes_in += len(chunk)
                buffer += chunk
                work += len(chunk)
                pos = 0
                while not self.client_terminated:
                    parsed = self._next_frame(buffer, pos)
                    if parsed is None:
                        break
                    pos, opcode, payload = parsed
                    if opcode == ABORTED:
                        return  # a protocol violation closed the connection
                    work += FRAME_COST_BYTES
                    if opcode == FRAGMENT:
                        continue  # part of a message still arriving
                    handled = self._handle_message(opcode, payload)
                    if handled is not None:
                        del buffer[:pos]
                        pos = 0
                        await handled
                del buffer[:pos]
                if work >= YIELD_AFTER_BYTES:
                    work = 0
                    await asyncio.sleep(0)
        except StreamClosedError:
            self._abort()
        finally:
            self.handler.on_ws_connection_close(self.close_code, self.close_reason)

    def _next_frame(self, buffer: bytearray, pos: int) -> tuple[int, int, bytes] | None:
        """Read the frame at ``pos``: ``(end, opcode, payload)``, None while incomplete.

        The opcode is FRAGMENT for a part of a longer message and ABORTED when the frame
        broke the protocol (the connection is then closed)."""
        size = len(buffer) - pos
        if size < 2:
            return None
        first, second = buffer[pos], buffer[pos + 1]
        opcode = first & self.OPCODE_MASK
        is_final = first & self.FIN
        length = second & 0x7F
        head = pos + 2
        if first & self.RSV_MASK or (opcode & 0x8 and (length >= 126 or not is_final)):
            self._abort()  # unknown extension bits, or a control frame too long or split
            return pos, ABORTED, b""
        if length == 126:
            if size < 4:
                return None
            length, head = int.from_bytes(buffer[head : head + 2], "big"), head + 2
        elif length == 127:
            if size < 10:
                return None
            length, head = int.from_bytes(buffer[head : head + 8], "big"), head + 8
        fragments = self._fragmented_message_buffer
        if length + (len(fragments) if fragments is not None else 0) > self.params.max_message_size:
            self.close(CLOSE_TOO_BIG, "message too big")
            self._abort()
            return pos, ABORTED, b""
        masked = second & 0x80
        end = head + (4 if masked else 0) + length
        if end > len(buffer):
            return None
        if masked:
            payload = _websocket_mask(bytes(buffer[head : head + 4]), bytes(buffer[head + 4 : end]))
        else:
            payload = bytes(buffer[head:end])
        if opcode & 0x8:
            return end, opcode, payload
        if opcode == 0:  # continuation
            if fragments is None:
                self._abort()
                return pos, ABORTED, b""
            fragments.extend(payload)
            if not is_final:
                return end, FRAGMENT, b""
            self._fragmented_message_buffer = None
            return end, self._first_opcode, bytes(fragments)
        if fragments is not None:
            self._abort()  # a new message before the fragmented one ended
            return pos, ABORTED, b""
        if not is_final:
            self._first_opcode = opcode
            self._fragmented_message_buffer = bytearray(payload)
            return end, FRAGMENT, b""
        return end, opcode, payload
