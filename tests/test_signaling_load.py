"""1,000 concurrent sockets in rooms of 4 against ``nbconference serve`` in its own
process: every signal arrives exactly once, in order per sender, and nothing else does."""

from __future__ import annotations

import asyncio
import resource
import time
from collections import defaultdict
from typing import Any

import pytest

from support.client import Client, connect_url
from support.standalone import ServeProcess

SOCKETS = 1000
ROOM_SIZE = 4
SIGNALS_PER_PAIR = 5
DEADLINE_SECONDS = 120.0

pytestmark = pytest.mark.slow


def enough_open_files(needed: int) -> None:
    """Each socket is a file on both ends (and this process holds both ends)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        assert hard >= needed, f"ulimit -n hard limit {hard} is below {needed}"
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def test_thousand_sockets_lose_nothing() -> None:
    enough_open_files(2 * SOCKETS + 256)
    # Inherits the raised limit; every socket comes from this one address.
    server = ServeProcess("--max-sockets-per-address", str(SOCKETS))
    clients: list[Client] = []

    async def run() -> None:
        url = (await server.ready()).url_with_token
        started = time.monotonic()
        for first in range(0, SOCKETS, 100):
            batch = [connect_url(url) for _ in range(first, min(first + 100, SOCKETS))]
            clients.extend(Client(ws) for ws in await asyncio.gather(*batch))
        rooms = [clients[i : i + ROOM_SIZE] for i in range(0, SOCKETS, ROOM_SIZE)]
        await asyncio.gather(*(meet(i, room) for i, room in enumerate(rooms)))
        joined = time.monotonic()
        await asyncio.gather(*(exchange(room) for room in rooms))
        done = time.monotonic()
        print(
            f"{SOCKETS} sockets connected and joined in {joined - started:.1f}s; "
            f"{SOCKETS * (ROOM_SIZE - 1) * SIGNALS_PER_PAIR} signals in {done - joined:.1f}s"
        )
        # Nothing beyond what was sent (a duplicate, a stray) arrives afterwards.
        await asyncio.gather(*(c.silent(0.5) for c in clients))

    try:
        # asyncio.wait_for rather than asyncio.timeout, which Python 3.10 lacks.
        await asyncio.wait_for(run(), DEADLINE_SECONDS)
    finally:
        for client in clients:
            client.close()
        server.stop()


async def meet(index: int, room: list[Client]) -> None:
    """Everyone joins at once; each must learn of the other three exactly once."""
    welcomes = await asyncio.gather(
        *(c.join(f"room-{index}", f"p{n}", timeout=60) for n, c in enumerate(room))
    )
    ids = {c.id for c in room}
    for client, welcome in zip(room, welcomes, strict=True):
        known = [p["id"] for p in welcome["peers"]]
        while len(known) < ROOM_SIZE - 1:
            known.append((await client.expect("peer-joined", timeout=60))["peer"]["id"])
        assert sorted(known) == sorted(ids - {client.id}), "a join was lost or duplicated"


async def exchange(room: list[Client]) -> None:
    async def send_all(sender: Client) -> None:
        for seq in range(SIGNALS_PER_PAIR):
            for target in room:
                if target is not sender:
                    await sender.signal(target, {"candidate": {"seq": seq}})

    async def receive_all(receiver: Client) -> dict[str, list[Any]]:
        got: dict[str, list[Any]] = defaultdict(list)
        for _ in range((ROOM_SIZE - 1) * SIGNALS_PER_PAIR):
            message = await receiver.expect("signal", timeout=60)
            got[message["from"]].append(message["data"]["candidate"]["seq"])
        return got

    receiving = [asyncio.ensure_future(receive_all(c)) for c in room]
    await asyncio.gather(*(send_all(c) for c in room))
    for receiver, task in zip(room, receiving, strict=True):
        got = await task
        expected = {c.id: list(range(SIGNALS_PER_PAIR)) for c in room if c is not receiver}
        assert dict(got) == expected
