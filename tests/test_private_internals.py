"""Every private attribute of another package that nbconference relies on, each checked
where it lives, on the real objects, so that an upgrade that moves one fails here with a
message that says what breaks, rather than somewhere far away or not at all (several are
read with a default, which would hide the move). scripts/test.sh runs this module against
the oldest tornado pyproject.toml admits as well as the newest.

- tornado.util._websocket_mask: server/framing.py unmasks client frames with it;
- WebSocketProtocol13's frame loop and state: server/framing.py replaces its reader
  (``_receive_frame_loop``) and reads and writes its state;
- WebSocketProtocol.stream: server/connection.py and client/socket.py reach the socket;
- IOStream._total_write_done_index: server/outgoing.py measures a client's progress;
- TCPServer._sockets: server/standalone.py learns the port it was given;
- json.encoder.c_make_encoder: protocol/encoding.py builds its encoder once;
- threading._register_atexit: peer/recorder.py stops recordings before threads are joined.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import platform
import threading
from collections.abc import AsyncIterator

import pytest
import tornado
import tornado.util
from tornado.iostream import IOStream
from tornado.websocket import WebSocketClientConnection, WebSocketProtocol13

from nbconference.server.connection import SignalingConnection
from nbconference.server.framing import BatchedProtocol13
from nbconference.server.standalone import StandaloneServer
from support.client import Client, connect_url
from support.polling import eventually
from support.signaling_fixtures import STANDALONE_TOKEN

TORNADO = f"tornado {tornado.version}"


def moved(what: str, where: str, breaks: str) -> str:
    return f"{what} is gone or changed in {TORNADO}: {where} {breaks}"


@pytest.fixture
async def joined(standalone: StandaloneServer) -> AsyncIterator[tuple[Client, SignalingConnection]]:
    """A client in a room, and the server's handler of its socket."""
    client = Client(await connect_url(f"{standalone.url}?token={STANDALONE_TOKEN}"))
    await client.send({"type": "join", "room": "lab", "name": "ada"})
    welcome = await client.expect("welcome")
    transport = standalone.registry.local[welcome["id"]].transport
    assert isinstance(transport, SignalingConnection)
    yield client, transport
    client.ws.close()
    await asyncio.sleep(0)


def test_websocket_mask_unmasks() -> None:
    mask = getattr(tornado.util, "_websocket_mask", None)
    assert callable(mask), moved(
        "tornado.util._websocket_mask", "server/framing.py", "cannot unmask client frames"
    )
    assert mask(b"\x01\x02\x03\x04", b"\x01\x02\x03\x04\x05") == b"\x00\x00\x00\x00\x04"


# What BatchedProtocol13 overrides or calls, and its arguments.
PROTOCOL_METHODS = {
    "_receive_frame_loop": [],
    "_handle_message": ["opcode", "data"],
    "_abort": [],
}


def test_protocol13_methods_framing_uses() -> None:
    for name, parameters in PROTOCOL_METHODS.items():
        method = getattr(WebSocketProtocol13, name, None)
        assert callable(method), moved(
            f"WebSocketProtocol13.{name}", "server/framing.py", "overrides or calls it"
        )
        found = list(inspect.signature(method).parameters)[1:]
        assert found == parameters, moved(
            f"WebSocketProtocol13.{name}{tuple(parameters)}",
            "server/framing.py",
            f"calls it so; it takes {found} now",
        )


# The protocol object's state that framing.py and connection.py read or write.
PROTOCOL_STATE = [
    "stream",
    "handler",
    "params",
    "client_terminated",
    "close_code",
    "close_reason",
    "_wire_bytes_in",
    "_fragmented_message_buffer",
    "OPCODE_MASK",
    "FIN",
    "RSV_MASK",
]


async def test_server_sockets_read_frames_with_our_reader(
    joined: tuple[Client, SignalingConnection], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, handler = joined
    protocol = handler.ws_connection
    assert isinstance(protocol, BatchedProtocol13), moved(
        "WebSocketHandler.get_websocket_protocol or WebSocketProtocol13(handler, mask, params)",
        "server/connection.py",
        f"puts its frame reader in with them; the socket got {type(protocol).__name__}",
    )
    missing = [name for name in PROTOCOL_STATE if not hasattr(protocol, name)]
    assert not missing, moved(
        f"WebSocketProtocol13's {missing}", "server/framing.py and connection.py", "use them"
    )
    assert isinstance(protocol.stream, IOStream)
    assert isinstance(protocol.params.max_message_size, int)
    assert protocol._wire_bytes_in > 0 and protocol._fragmented_message_buffer is None

    # tornado still starts the frame loop BatchedProtocol13 overrides: it reads this frame.
    frames: list[int] = []
    next_frame = BatchedProtocol13._next_frame

    def counted(self: BatchedProtocol13, buffer: bytearray, pos: int) -> object:
        frames.append(pos)
        return next_frame(self, buffer, pos)

    monkeypatch.setattr(BatchedProtocol13, "_next_frame", counted)
    await client.send({"type": "signal", "to": "nobody", "data": {"candidate": ""}})
    await client.expect("error", code="unknown-peer")
    assert frames, moved(
        "WebSocketProtocol13._receive_frame_loop",
        "server/framing.py",
        "replaces it, but tornado no longer calls it: frames bypass BatchedProtocol13",
    )


async def test_iostream_counts_bytes_the_kernel_took(
    joined: tuple[Client, SignalingConnection],
) -> None:
    client, handler = joined
    stream = handler.open_stream()
    assert stream is not None
    before = getattr(stream, "_total_write_done_index", None)
    assert isinstance(before, int), moved(
        "IOStream._total_write_done_index",
        "server/outgoing.py",
        "reads it (default 0) to see a client read: every busy socket would look stalled",
    )
    await client.send({"type": "signal", "to": "nobody", "data": {"candidate": ""}})
    await client.expect("error", code="unknown-peer")
    await eventually(lambda: stream._total_write_done_index > before, 5.0, "the count to grow")


def test_http_server_keeps_its_listening_sockets(standalone: StandaloneServer) -> None:
    sockets = getattr(standalone.server, "_sockets", None)
    assert isinstance(sockets, dict) and sockets, moved(
        "TCPServer._sockets", "server/standalone.py", "reads the port of --port 0 from it"
    )
    ports = {sock.getsockname()[1] for sock in sockets.values()}
    assert ports == {standalone.port}


async def test_client_connection_reaches_its_stream(standalone: StandaloneServer) -> None:
    connection = await connect_url(f"{standalone.url}?token={STANDALONE_TOKEN}")
    try:
        assert isinstance(connection, WebSocketClientConnection)
        stream = getattr(getattr(connection, "protocol", None), "stream", None)
        assert isinstance(stream, IOStream), moved(
            "WebSocketClientConnection.protocol.stream",
            "client/socket.py",
            "reads it (default None) to wait for the socket to close: it would leak",
        )
    finally:
        connection.close()


@pytest.mark.skipif(platform.python_implementation() != "CPython", reason="CPython's json")
def test_json_c_make_encoder_takes_its_nine_arguments() -> None:
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    assert make is not None, (
        f"json.encoder.c_make_encoder is gone in Python {platform.python_version()}: "
        "protocol/encoding.py falls back to json.JSONEncoder.encode, several times slower"
    )
    encode = make(None, repr, encoder.encode_basestring, None, ":", ",", False, False, False)
    assert "".join(encode({"a": [1, "é"]}, 0)) == json.dumps({"a": [1, "é"]}, **COMPACT)


COMPACT: dict[str, object] = {"separators": (",", ":"), "ensure_ascii": False}


def test_threading_register_atexit() -> None:
    register = getattr(threading, "_register_atexit", None)
    assert callable(register), (
        f"threading._register_atexit is gone in Python {platform.python_version()}: "
        "peer/recorder.py would stop recordings only after the threads are joined"
    )
    inspect.signature(register).bind(print)  # recorder.py passes one function
