"""A socket-level fuzzer against ``nbconference serve`` in a process of its own.

Several fuzzing clients at once send random and mutated frames (broken JSON, wrong
types, deep nesting, oversized and binary frames, escaped surrogates, valid frames out
of order), and some send raw garbage instead of WebSocket frames. Meanwhile two
well-behaved peers in the same room exchange numbered signals, and a third waits alone
in another room. Throughout:

- every frame a fuzzing client sends is answered as a model of the server says: refused
  frames with exactly one ``error`` of the code the parser and the socket's state give,
  accepted ones with a ``welcome`` or with nothing;
- the well-behaved peers lose nothing, get nothing out of order, and are told of no error;
- the other room hears nothing;
- the server's memory stays bounded.

It runs for ``NBC_FUZZ_SECONDS`` (default 12); ``NBC_FUZZ_SEED`` replays a run (the seed
is in every failure message).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import string
import struct
import time
from dataclasses import dataclass, field
from typing import Any

import psutil
import pytest
from tornado.websocket import WebSocketClosedError

from nbconference.protocol import (
    DEFAULT_CHAT_LIMITS,
    DEFAULT_LIMITS,
    Chat,
    Join,
    Leave,
    LowerHand,
    ProtocolError,
    Signal,
    State,
    parse_client_message,
    utf8_size,
)
from support.client import Client, connect_url
from support.standalone import ServeProcess

SECONDS = float(os.environ.get("NBC_FUZZ_SECONDS", "12"))
SEED = int(os.environ.get("NBC_FUZZ_SEED", str(random.randrange(1 << 32))))
LIMIT = DEFAULT_LIMITS.max_message_bytes
FUZZERS = 4
FRAMES_PER_SESSION = 40  # under the 50 violations that close a socket
ROOM_TRAFFIC = frozenset({"peer-joined", "peer-left", "peer-state", "signal", "chat"})
# What a well-behaved peer may cause a fuzzer: its mailbox was full for a moment.
INCIDENTAL = "peer-unavailable"
QUIET_ROOM = "quiet"
MEMORY_GROWTH_LIMIT = 96 * 1024 * 1024

pytestmark = [pytest.mark.timeout(SECONDS + 120), pytest.mark.slow]


def fail(message: str) -> None:
    raise AssertionError(f"{message} (NBC_FUZZ_SEED={SEED})")


# -- frames ----------------------------------------------------------------------------


class Frames:
    """Random frames near the protocol, and far from it."""

    def __init__(self, rng: random.Random, peers: list[str]) -> None:
        self.rng = rng
        self.peers = peers  # the well-behaved peers' ids: signals to them are relayed

    def valid(self, me: str) -> dict[str, Any]:
        r = self.rng
        kind = r.choice(["join", "signal", "signal", "state", "leave", "chat", "lower-hand"])
        if kind == "join":
            room = r.choice(["lab", "lab", f"fz-{r.randrange(5)}", "a" * 64])
            frame: dict[str, Any] = {"type": "join", "room": room, "name": self.text(20)}
            if r.random() < 0.3:
                frame["state"] = {"camera": r.random() < 0.5, "hand": r.random() < 0.5}
            if r.random() < 0.2:
                frame["resume"] = self.text(30)
            return frame
        if kind == "signal":
            to = r.choice([*self.peers, me, self.text(16), ""])
            data = r.choice(
                [
                    {"candidate": {"candidate": self.text(200), "sdpMid": "0"}},
                    {"description": {"type": "offer", "sdp": self.text(2000)}},
                    {"candidate": self.json_value(3)},
                ]
            )
            return {"type": "signal", "to": to, "data": data}
        if kind == "state":
            keys = r.sample(["camera", "microphone", "screen", "hand", "other"], r.randrange(5))
            return {"type": "state", "state": {k: r.random() < 0.5 for k in keys}}
        if kind == "chat":
            size = r.choice([1, 40, 40, DEFAULT_CHAT_LIMITS.max_chat_bytes + 1])
            frame = {"type": "chat", "text": self.text(size) or "x"}
            if r.random() < 0.3:
                frame["from_code"] = r.random() < 0.5
            return frame
        if kind == "lower-hand":
            return {"type": "lower-hand", "peer": r.choice([*self.peers, me, self.text(16)])}
        return {"type": "leave"}

    def text(self, size: int) -> str:
        r = self.rng
        alphabet = string.printable + "é漢\u2028\ufeff\x00\x7f"
        return "".join(r.choice(alphabet) for _ in range(r.randrange(size + 1)))

    def json_value(self, depth: int) -> Any:
        r = self.rng
        choice = r.randrange(7 if depth > 0 else 4)
        if choice == 0:
            return r.choice([None, True, False, 0, -1, 1e308, 2**70])
        if choice in (1, 2, 3):
            return self.text(30)
        if choice == 4:
            return [self.json_value(depth - 1) for _ in range(r.randrange(4))]
        return {self.text(8): self.json_value(depth - 1) for _ in range(r.randrange(4))}

    def mutated(self, me: str) -> str | bytes:
        r = self.rng
        base = self.valid(me)
        how = r.randrange(13)
        if how == 0:  # a field removed or retyped
            key = r.choice(list(base))
            if r.random() < 0.5:
                del base[key]
            else:
                base[key] = self.json_value(2)
            return json.dumps(base)
        if how == 1:  # junk fields
            base[self.text(10)] = self.json_value(2)
            return json.dumps(base, ensure_ascii=r.random() < 0.5)
        text = json.dumps(base, ensure_ascii=r.random() < 0.5)
        if how == 2:  # characters flipped
            chars = list(text)
            for _ in range(r.randrange(1, 6)):
                chars[r.randrange(len(chars))] = r.choice('{}[]":,\\ ax0é')
            return "".join(chars)
        if how == 3:
            return text[: r.randrange(len(text))]
        if how == 4:  # deeply nested data
            depth = r.choice([30, 31, 33, 40, 500])
            return text.replace(
                '"data": {', '"data": {"candidate": ' + "[" * depth + "]" * depth + ", ", 1
            )
        if how == 5:  # too large, or far too large (the socket closes)
            size = r.choice([LIMIT + 1, 2 * LIMIT, 4 * LIMIT + 10])
            return json.dumps({"type": "signal", "to": me, "data": {"candidate": "x" * size}})
        if how == 6:
            return os.urandom(r.randrange(1, 300))  # a binary frame
        if how == 7:
            return self.text(300)
        if how == 8:  # NaN, escaped surrogates, duplicate keys
            return r.choice(
                [
                    text.replace("{", '{"n": NaN, ', 1),
                    '{"type": "signal", "to": "x", "data": {"candidate": "\\ud800\\udfff\\ud83d"}}',
                    '{"type": "state", "type": "join", "room": "lab"}',
                    '{"type": "join", "room": "lab", "name": "' + "\\ud800" * 20 + '"}',
                ]
            )
        if how == 9:
            return json.dumps(self.json_value(4))
        return text  # valid, but perhaps out of order


# -- the model of one socket -----------------------------------------------------------


@dataclass
class Expectation:
    """What the server answers to one frame: any of ``replies`` (a code, or "welcome"),
    or nothing at all when ``silent``. ``closes`` when the frame ends the socket."""

    replies: frozenset[str] = frozenset()
    silent: bool = False
    closes: bool = False


@dataclass
class Model:
    peers: list[str]  # in room "lab"
    joined: bool = False
    room: str = ""
    joins: int = 0
    me: str = ""
    chats: int = 0  # accepted from this peer: within its burst, none is rate-limited

    def expect(self, frame: str | bytes) -> Expectation | None:
        """None for a frame the fuzzer must not send (a join to the other room)."""
        size = len(frame.encode()) if isinstance(frame, str) else len(frame)
        if size > 4 * LIMIT:
            return Expectation(closes=True)
        try:
            message = parse_client_message(frame, LIMIT)
        except ProtocolError as error:
            return Expectation(frozenset({error.code}))
        if isinstance(message, Join):
            if message.room == QUIET_ROOM:
                return None
            if self.joined:
                return Expectation(frozenset({"already-joined"}))
            self.joins += 1
            self.room = message.room
            if self.joins > DEFAULT_LIMITS.join_burst:  # the bucket refills slowly
                return Expectation(frozenset({"rate-limited", "welcome", "room-full"}))
            return Expectation(frozenset({"welcome", "room-full"}))
        if not self.joined:
            return Expectation(frozenset({"not-joined"}))
        if isinstance(message, Signal):
            if message.to in self.peers and self.room == "lab":
                return Expectation(silent=True)
            return Expectation(frozenset({"unknown-peer"}))
        if isinstance(message, State):
            return Expectation(silent=True)
        if isinstance(message, Chat):
            if utf8_size(message.text) > DEFAULT_CHAT_LIMITS.max_chat_bytes:
                return Expectation(frozenset({"chat-too-long"}))
            if self.chats >= DEFAULT_CHAT_LIMITS.chat_burst - 1:
                return None  # the bucket refills slowly: accepted or refused, by the clock
            self.chats += 1
            return Expectation(silent=True)
        if isinstance(message, LowerHand):
            if message.peer == self.me:
                return Expectation(silent=True)
            # Only a host lowers another's hand, and the server knows none of us.
            return Expectation(frozenset({"not-host"}))
        assert isinstance(message, Leave)
        self.joined = False
        return Expectation(silent=True)


@dataclass
class Tally:
    sessions: int = 0
    frames: int = 0
    errors: int = 0
    closes: int = 0
    raw: int = 0
    codes: dict[str, int] = field(default_factory=dict)


async def next_reply(client: Client) -> dict[str, Any]:
    """The next frame that answers this socket (not room traffic)."""
    while True:
        message = await client.recv(10)
        if message["type"] not in ROOM_TRAFFIC:
            return message


async def session(url: str, frames: Frames, model: Model, tally: Tally) -> None:
    client = Client(await connect_url(url))
    tally.sessions += 1
    try:
        for _ in range(frames.rng.randrange(1, FRAMES_PER_SESSION)):
            frame: str | bytes = (
                frames.mutated(model.me)
                if frames.rng.random() < 0.8
                else json.dumps(frames.valid(model.me))
            )
            expectation = model.expect(frame)
            if expectation is None:
                continue
            await client.send(frame)
            tally.frames += 1
            if expectation.closes:
                code, _ = await client.closed(10)
                if code != 1009:
                    fail(f"a frame over 4x the limit closed with {code}, not 1009")
                tally.closes += 1
                return
            if expectation.silent:
                continue
            while True:
                reply = await next_reply(client)
                got = "welcome" if reply["type"] == "welcome" else reply.get("code", "?")
                if got == INCIDENTAL and INCIDENTAL not in expectation.replies:
                    continue
                break
            if got not in expectation.replies:
                fail(f"{frame!r:.300} was answered {reply!r:.300}, not {set(expectation.replies)}")
            if got == "welcome":
                model.joined, model.me, model.chats = True, reply["id"], 0
            else:
                tally.errors += 1
                tally.codes[got] = tally.codes.get(got, 0) + 1
        # A last frame that is always answered: every earlier answer is in by then, so an
        # extra error (two for one frame) would show up here.
        marker = json.dumps({"type": "join", "room": "lab", "name": "marker"})
        expectation = model.expect(marker)
        assert expectation is not None
        await client.send(marker)
        while (reply := await next_reply(client)).get("code") == INCIDENTAL:
            pass
        got = "welcome" if reply["type"] == "welcome" else reply.get("code", "?")
        if got not in expectation.replies:
            fail(f"the closing join was answered {reply!r:.300}: an answer too many before it?")
    finally:
        client.close()


async def fuzzer(url: str, seed: int, peers: list[str], deadline: float, tally: Tally) -> None:
    rng = random.Random(seed)
    frames = Frames(rng, peers)
    while time.monotonic() < deadline:
        await session(url, frames, Model(peers), tally)


async def raw_garbage(port: int, token: str, seed: int, deadline: float, tally: Tally) -> None:
    """Sockets that upgrade properly, then send bytes that are not WebSocket frames: the
    server must survive them, and nobody else may notice."""
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = (
            f"GET /nbconference/signal HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: token {token}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        writer.write(request.encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            fail(f"upgrade refused: {head!r}")
        junk = rng.choice(
            [
                os.urandom(rng.randrange(1, 2000)),
                struct.pack("!BBQ", 0x81, 0xFF, 1 << 62),  # a length no server takes
                b"\x89\xfe\x00\x80" + os.urandom(4),  # a control frame too long
                b"\x01\x80" + os.urandom(4) + b"\x01\x80" + os.urandom(4),  # fragments out of order
            ]
        )
        writer.write(junk)
        # Most junk gets the socket closed; some is a frame that is not complete yet, or
        # happens to be a valid (binary) frame. Either way the socket is left behind.
        with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
            await asyncio.wait_for(reader.read(), 0.5)
        writer.close()
        tally.raw += 1


@dataclass
class WellBehaved:
    """A peer that sends numbered signals to its partner and checks what it receives."""

    client: Client
    sent: int = 0
    received: list[int] = field(default_factory=list)
    unexpected: list[dict[str, Any]] = field(default_factory=list)

    async def send_until(self, partner: str, deadline: float) -> None:
        while time.monotonic() < deadline:
            await self.client.signal(partner, {"candidate": {"n": self.sent}})
            self.sent += 1
            await asyncio.sleep(0.005)

    async def read(self, partner: str) -> None:
        with contextlib.suppress(asyncio.TimeoutError, WebSocketClosedError):
            while True:
                message = await self.client.recv(3.0)
                if message["type"] == "signal" and message["from"] == partner:
                    self.received.append(message["data"]["candidate"]["n"])
                elif message["type"] not in ROOM_TRAFFIC:
                    self.unexpected.append(message)  # an error: it did nothing wrong


async def test_fuzzing_clients_cannot_disturb_the_others() -> None:
    print(f"fuzz: NBC_FUZZ_SEED={SEED}")  # shown with any failure
    server = ServeProcess("--max-sockets-per-address", "0")
    tally = Tally()
    try:
        url = (await server.ready()).url_with_token
        process = psutil.Process(server.pid)
        ada, bob, quiet = [Client(await connect_url(url)) for _ in range(3)]
        await ada.join("lab", "ada")
        await bob.join("lab", "bob")
        await ada.expect("peer-joined")
        await quiet.join(QUIET_ROOM, "quiet")
        baseline = process.memory_info().rss
        deadline = time.monotonic() + SECONDS
        peers = [ada.id, bob.id]
        good = [WellBehaved(ada), WellBehaved(bob)]
        readers = [
            asyncio.ensure_future(good[0].read(bob.id)),
            asyncio.ensure_future(good[1].read(ada.id)),
        ]
        peak = baseline

        async def watch_memory() -> None:
            nonlocal peak
            while time.monotonic() < deadline:
                peak = max(peak, process.memory_info().rss)
                await asyncio.sleep(0.25)

        await asyncio.gather(
            good[0].send_until(bob.id, deadline),
            good[1].send_until(ada.id, deadline),
            *(fuzzer(url, SEED + n, peers, deadline, tally) for n in range(FUZZERS)),
            raw_garbage(server.port, server.token, SEED - 1, deadline, tally),
            watch_memory(),
        )
        await asyncio.gather(*readers)
        print(
            f"fuzz: seed {SEED}, {SECONDS:g} s: {tally.sessions} sessions, {tally.frames} "
            f"frames, {tally.errors} errors {tally.codes}, {tally.closes} closed for size, "
            f"{tally.raw} raw sockets; well-behaved: {good[0].sent} + {good[1].sent} signals; "
            f"server RSS {baseline / 2**20:.1f} -> peak {peak / 2**20:.1f} MiB"
        )
        for me, other in ((good[0], good[1]), (good[1], good[0])):
            if me.unexpected:
                fail(f"a well-behaved peer got {me.unexpected[:3]}")
            if me.received != list(range(other.sent)):
                missing = sorted(set(range(other.sent)) - set(me.received))
                fail(f"well-behaved signals lost or reordered: missing {missing[:10]}")
        with contextlib.suppress(asyncio.TimeoutError):
            message = await quiet.recv(0.5)
            fail(f"the other room heard {message}")
        if peak - baseline > MEMORY_GROWTH_LIMIT:
            fail(f"server memory grew by {(peak - baseline) / 2**20:.0f} MiB")
        assert tally.frames > 100 and tally.errors > 50 and tally.raw > 0
        for client in (ada, bob, quiet):
            client.close()
    finally:
        server.stop()
