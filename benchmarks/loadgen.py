"""Worker processes of lean clients: each joins its share of the rooms, then runs traffic.

Whole rooms live in one worker, so a receiver and its senders share a clock; clients are
spread round-robin over the server URLs (with several servers and the Redis backend, a
room spans servers). Every signal carries a per-pair sequence number: a receiver counts
what is missing, repeated or out of order.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import resource
import time
import traceback
from collections import Counter
from typing import Any

from leanws import LeanSocket, open_socket, text_frame
from nbconference.protocol import ServerFrame, encode, join_message, signal_message


def _signal_template() -> bytes:
    """A trickle-ICE candidate, the bulk of signaling traffic, with room for the counters:
    ``%s`` the target, ``%d`` a sequence number and ``%d`` the send time. Built once by the
    protocol's builder, then filled in by ``%``, which costs far less than encoding."""
    candidate = {
        "candidate": "candidate:842163049 1 udp 1677729535 192.0.2.10 56143 typ srflx raddr "
        "0.0.0.0 rport 0 generation 0 ufrag sXsN network-cost 999",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "s": -1,
        "t": -2,
    }
    text = encode(signal_message("@to@", {"candidate": candidate}))
    text = text.replace("@to@", "%s").replace('"s":-1', '"s":%d').replace('"t":-2', '"t":%d')
    return text.encode()


SIGNAL = _signal_template()


class Client:
    def __init__(self, worker: Worker, room: str) -> None:
        self.worker = worker
        self.room = room
        self.socket: LeanSocket | None = None
        self.id = ""
        self.mates: list[str] = []
        self.known: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.join_sent = 0.0
        self.join_seconds = 0.0
        self.next_out: dict[str, int] = {}
        self.next_in: dict[str, int] = {}
        self.turn = 0
        self.sent = 0
        self.received = 0

    def on_frames(self, frames: list[bytes]) -> None:
        worker = self.worker
        for raw in frames:
            msg = json.loads(raw)
            kind = msg["type"]
            if kind == ServerFrame.SIGNAL:
                self.received += 1
                data = msg["data"]["candidate"]
                sender = msg["from"]
                expected = self.next_in.get(sender, 0)
                if data["s"] != expected:
                    worker.disorder += 1
                self.next_in[sender] = data["s"] + 1
                if worker.latencies is not None:
                    worker.latencies.append(time.perf_counter_ns() - data["t"])
            elif kind == ServerFrame.PEER_JOINED:
                self.mates.append(msg["peer"]["id"])
                self._check_known()
            elif kind == ServerFrame.WELCOME:
                self.join_seconds = time.perf_counter() - self.join_sent
                self.id = msg["id"]
                self.mates.extend(p["id"] for p in msg["peers"])
                self._check_known()
            elif kind == ServerFrame.ERROR:
                worker.errors[msg["code"]] += 1
            else:
                worker.errors[f"unexpected {kind}"] += 1
        if worker.window:
            self.refill()

    def _check_known(self) -> None:
        if len(self.mates) == self.worker.room_size - 1 and not self.known.done():
            self.known.set_result(None)

    def frame_to_next(self) -> bytes:
        to = self.mates[self.turn % len(self.mates)]
        self.turn += 1
        seq = self.next_out.get(to, 0)
        self.next_out[to] = seq + 1
        self.sent += 1
        return text_frame(SIGNAL % (to.encode(), seq, time.perf_counter_ns()))

    def refill(self) -> None:
        """Closed loop: keep ``window`` of this client's signals in flight."""
        room = self.worker.window - (self.sent - self.received)
        if room > 0 and self.worker.sending:
            assert self.socket is not None
            self.socket.send(b"".join([self.frame_to_next() for _ in range(room)]))


class Worker:
    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.room_size: int = plan["room_size"]
        self.window = 0
        self.sending = False
        self.disorder = 0
        self.errors: Counter[str] = Counter()
        self.latencies: list[int] | None = None
        self.clients: list[Client] = []

    async def join(self) -> dict[str, Any]:
        urls: list[str] = self.plan["urls"]
        rooms: list[str] = self.plan["rooms"]
        self.clients = [Client(self, room) for room in rooms for _ in range(self.room_size)]
        started = time.perf_counter()
        for first in range(0, len(self.clients), 100):
            batch = self.clients[first : first + 100]
            sockets = await asyncio.gather(
                *(
                    open_socket(urls[(first + i) % len(urls)], c.on_frames)
                    for i, c in enumerate(batch)
                )
            )
            for client, socket in zip(batch, sockets, strict=True):
                client.socket = socket
        connected = time.perf_counter()
        for client in self.clients:
            client.join_sent = time.perf_counter()
            assert client.socket is not None
            join = encode(join_message(client.room, "", {}))
            client.socket.send(text_frame(join.encode()))
        await asyncio.wait_for(asyncio.gather(*(c.known for c in self.clients)), 120)
        return {
            "connect_seconds": connected - started,
            "join_seconds": time.perf_counter() - connected,
            "join_latencies": [c.join_seconds for c in self.clients],
        }

    async def burst(self, per_pair: int) -> None:
        """Every client sends ``per_pair`` signals to each roommate at once."""
        for client in self.clients:
            frames = [client.frame_to_next() for _ in range(per_pair * len(client.mates))]
            assert client.socket is not None
            client.socket.send(b"".join(frames))

    async def saturate(self, warmup: float, duration: float) -> int:
        """Closed-loop traffic; returns the signals received in the measured window."""
        self.window = self.plan["window"]
        self.sending = True
        for client in self.clients:
            client.refill()
        await asyncio.sleep(warmup)
        before = sum(c.received for c in self.clients)
        await asyncio.sleep(duration)
        counted = sum(c.received for c in self.clients) - before
        self.sending = False
        return counted

    async def paced(self, rate: float, duration: float) -> None:
        """Signals at a steady ``rate`` (per second, this worker), senders in turn."""
        self.latencies = []
        loop = asyncio.get_running_loop()
        interval, total = 1.0 / rate, int(rate * duration)
        start = loop.time()
        for n in range(total):
            delay = start + n * interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            client = self.clients[n % len(self.clients)]
            assert client.socket is not None
            client.socket.send(client.frame_to_next())

    async def drain(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(c.sent for c in self.clients) == sum(c.received for c in self.clients):
                return
            await asyncio.sleep(0.05)

    def tally(self) -> dict[str, Any]:
        sent = sum(c.sent for c in self.clients)
        received = sum(c.received for c in self.clients)
        return {
            "sent": sent,
            "received": received,
            "lost": sent - received,
            "out_of_order": self.disorder,
            "errors": dict(self.errors),
        }

    async def close(self) -> None:
        for client in self.clients:
            if client.socket is not None:
                client.socket.close()
        await asyncio.sleep(0.1)


async def _work(plan: dict[str, Any], events: Any, go: Any) -> None:
    worker = Worker(plan)
    loop = asyncio.get_running_loop()
    try:
        events.put(("joined", await worker.join()))
        await loop.run_in_executor(None, go.wait)
        result: dict[str, Any] = {}
        mode = plan["mode"]
        if mode == "burst":
            await worker.burst(plan["per_pair"])
        elif mode == "saturate":
            result["window_received"] = await worker.saturate(plan["warmup"], plan["duration"])
        elif mode == "paced":
            await worker.paced(plan["rate"], plan["duration"])
        elif mode == "idle":  # joined, and holding the sockets while others work
            await asyncio.sleep(plan.get("duration", 0.0))
        await worker.drain()
        result.update(worker.tally())
        if worker.latencies is not None:
            result["latencies_ns"] = worker.latencies
        events.put(("result", result))
    except BaseException:
        events.put(("error", traceback.format_exc()))
    finally:
        await worker.close()


def raise_open_files() -> int:
    """Raise this process's soft limit on open files to its hard limit (each socket is
    one); returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _process_main(plan: dict[str, Any], events: Any, go: Any) -> None:
    raise_open_files()
    asyncio.run(_work(plan, events, go))


def start_workers(plans: list[dict[str, Any]]) -> tuple[list[mp.Process], Any, Any]:
    """One process per plan; they report through the returned queue and wait for ``go``."""
    context = mp.get_context("spawn")
    events, go = context.Queue(), context.Event()
    processes = [context.Process(target=_process_main, args=(p, events, go)) for p in plans]
    for process in processes:
        process.start()
    return processes, events, go
