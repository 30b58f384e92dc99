"""The server's own frame reader, driven byte by byte over a raw socket: fragments,
interleaved pings, frames split across reads, and protocol violations."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import struct
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from nbconference.protocol import CLOSE_DROPPED
from nbconference.server.config import SignalingSettings
from nbconference.server.standalone import StandaloneServer, start_server
from support.client import Client, connect_url
from support.polling import eventually
from support.signaling_fixtures import STANDALONE_TOKEN, Connect

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def frame(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0) -> bytes:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", (0x80 if fin else 0) | rsv | opcode, 0x80 | size)
    elif size < 65536:
        header = struct.pack("!BBH", (0x80 if fin else 0) | rsv | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", (0x80 if fin else 0) | rsv | opcode, 0x80 | 127, size)
    return header + mask + masked


async def read_frame(reader: asyncio.StreamReader, pings: bool = False) -> tuple[int, bytes]:
    """The next frame. The server's keepalive pings (every 10 s, which a loaded machine
    can reach within one test) are skipped unless ``pings``."""
    while True:
        first, second = await reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", await reader.readexactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", await reader.readexactly(8))[0]
        opcode, payload = first & 0x0F, await reader.readexactly(size)
        if pings or opcode != 0x9:
            return opcode, payload


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    # A client that stops reading is closed after this long without progress.
    return {"reconnect_grace_seconds": 3.0, "send_timeout_seconds": 1.0}


async def upgraded(signal_url: str) -> Stream:
    """A raw TCP connection to ``signal_url``, through the WebSocket handshake."""
    url = urlsplit(signal_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(
        f"GET {url.path}?token={STANDALONE_TOKEN} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


@pytest.fixture
async def standalone(nbc_settings: dict[str, Any]) -> AsyncIterator[StandaloneServer]:
    """As support's, with pings far apart: this module's raw sockets do not answer them,
    and what closes a client that stops reading must be the watchdog, not the keepalive
    (which a slow run can reach first)."""
    running = await start_server(
        SignalingSettings(**nbc_settings), port=0, token=STANDALONE_TOKEN, ping_interval=300
    )
    yield running
    await running.stop()


@pytest.fixture
async def raw(standalone: StandaloneServer) -> AsyncIterator[Stream]:
    reader, writer = await upgraded(standalone.url)
    yield reader, writer
    writer.close()


JOIN = json.dumps({"type": "join", "room": "lab", "name": "raw"}).encode()


async def test_fragments_with_a_ping_between_and_bytes_dribbled(raw: Stream) -> None:
    reader, writer = raw
    data = (
        frame(0x1, JOIN[:10], fin=False)
        + frame(0x9, b"are you there")
        + frame(0x0, JOIN[10:20], fin=False)
        + frame(0x0, JOIN[20:], fin=True)
    )
    for i in range(len(data)):
        writer.write(data[i : i + 1])
        await writer.drain()
    assert await read_frame(reader) == (0xA, b"are you there")
    opcode, payload = await read_frame(reader)
    assert opcode == 0x1 and json.loads(payload)["type"] == "welcome"


def to_nobody(n: int, pad: int = 0) -> bytes:
    message = {"type": "signal", "to": f"nobody-{n}", "data": {"candidate": " " * pad}}
    return json.dumps(message).encode()


async def test_many_frames_in_one_write_are_all_answered_in_order(raw: Stream) -> None:
    reader, writer = raw
    writer.write(frame(0x1, JOIN) + b"".join(frame(0x1, to_nobody(i)) for i in range(300)))
    _, payload = await read_frame(reader)
    assert json.loads(payload)["type"] == "welcome"
    for i in range(300):
        _, payload = await read_frame(reader)
        assert f"nobody-{i}'" in json.loads(payload)["message"]
    # 16-bit and 64-bit payload lengths parse too.
    writer.write(frame(0x1, to_nobody(1000, 200)) + frame(0x1, to_nobody(1001, 70000)))
    _, payload = await read_frame(reader)
    assert json.loads(payload)["code"] == "unknown-peer"
    _, payload = await read_frame(reader)
    assert json.loads(payload)["code"] == "too-large"


@pytest.mark.parametrize(
    "bad",
    [
        frame(0x1, b"{}", rsv=0x40),  # compression bit, never negotiated
        frame(0x0, b"{}"),  # continuation with nothing to continue
        frame(0x1, b"{", fin=False) + frame(0x1, b"}"),  # new message inside a fragmented one
        frame(0x9, b"x", fin=False),  # fragmented control frame
        frame(0x1, b"\xff\xfe"),  # not UTF-8
    ],
    ids=["rsv", "stray-continuation", "interleaved", "split-ping", "bad-utf8"],
)
async def test_protocol_violations_close_the_socket(raw: Stream, bad: bytes) -> None:
    reader, writer = raw
    writer.write(bad)
    assert await asyncio.wait_for(reader.read(), 5) in (b"", b"\x88\x00")


async def test_oversize_header_closes_with_1009_before_the_payload(raw: Stream) -> None:
    reader, writer = raw
    writer.write(struct.pack("!BBQ", 0x81, 0x80 | 127, 2**40) + b"mask")
    opcode, payload = await read_frame(reader)
    assert opcode == 0x8 and struct.unpack("!H", payload[:2])[0] == 1009


async def test_a_client_that_stops_reading_is_closed_not_buffered_forever(
    raw: Stream, standalone: StandaloneServer, standalone_connect: Connect
) -> None:
    reader, writer = raw
    writer.write(frame(0x1, JOIN))
    _, payload = await read_frame(reader)
    raw_id = json.loads(payload)["id"]
    sender = await standalone_connect()
    await sender.join("lab")
    big = {"candidate": "c" * 60_000}
    for _ in range(200):  # 12 MB: more than the kernel's buffers and the mailbox's 1 MiB
        await sender.signal(raw_id, big)
    peer = standalone.registry.local[raw_id]
    # What waits for it is bounded in bytes; the sender heard of what did not fit.
    assert 0 < peer.mailbox.bytes <= standalone.registry.limits.max_queued_bytes
    refused = []
    with contextlib.suppress(asyncio.TimeoutError):
        while True:
            refused.append(await sender.recv(1.0))
    assert refused and {(e["code"], e["peer"]) for e in refused} == {("peer-unavailable", raw_id)}

    def closing() -> bool:
        handler = peer.transport
        connection = None if handler is None else handler.ws_connection  # type: ignore[attr-defined]
        return connection is None or bool(connection.is_closing())

    # The kernel may have taken all that was left for it (loopback buffers grow to
    # megabytes): then the server holds nothing and has nothing to wait on. Signals keep
    # coming, as in a call, until a write finds the socket full and makes no progress.
    async def keep_sending() -> None:
        while True:
            await sender.signal(raw_id, big)
            await asyncio.sleep(0.02)

    pressure = asyncio.ensure_future(keep_sending())
    try:
        # send_timeout_seconds is 1 s here; the margin is for a machine busy with other tests.
        what = "the server to stop buffering for a client that does not read"
        await eventually(closing, 15, what)
    finally:
        pressure.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pressure
    # What was written before the close still arrives, then the close frame says why.
    while True:
        opcode, payload = await asyncio.wait_for(read_frame(reader), 10)
        if opcode == 0x8:
            assert struct.unpack("!H", payload[:2])[0] == 1008
            break


async def test_a_client_that_answers_no_ping_is_closed_and_one_that_does_stays() -> None:
    """One timer pings every socket of the standalone server (no task per socket)."""
    server = await start_server(port=0, token=STANDALONE_TOKEN, ping_interval=0.3)
    try:
        reader, writer = await upgraded(server.url)
        writer.write(frame(0x1, JOIN))
        answering = Client(await connect_url(f"{server.url}?token={STANDALONE_TOKEN}"))
        await answering.join("lab")
        pings = 0
        while True:  # the silent socket: pings, then a close frame, within a second
            opcode, payload = await asyncio.wait_for(read_frame(reader, pings=True), 2)
            pings += opcode == 0x9
            if opcode == 0x8:
                break
        assert pings >= 1
        # A drop, not a goodbye: the code says the peer may resume.
        assert struct.unpack("!H", payload[:2])[0] == CLOSE_DROPPED
        await asyncio.sleep(1.0)
        assert answering.ws.close_code is None, "a socket that answers pings was closed"
        assert len(server.registry.local) == 2  # the silent one keeps its grace window
        writer.close()
        answering.close()
    finally:
        await server.stop()
