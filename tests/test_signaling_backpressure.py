"""A client that reads is never closed for being slow, and nothing sent to it is lost:
every signal arrives, or its sender gets an error naming the peer. Frames go out as
UTF-8 (not ASCII-escaped, which made "é" three times longer), in bounded writes, also
when a resumed peer's whole mailbox goes out at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.signaling_fixtures import Connect
from support.traffic import big_signal, drain, signals_by_sender


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    # A dropped victim must outlive a burst of megabytes on a busy machine.
    return {"reconnect_grace_seconds": 30.0}


async def room_of(connect: Connect, size: int) -> list[Client]:
    clients = [await connect() for _ in range(size)]
    for n, client in enumerate(clients):
        await client.join("lab", f"p{n}")
    for n, client in enumerate(clients):
        for _ in range(size - 1 - n):
            await client.expect("peer-joined")
    return clients


async def test_three_peers_send_sixty_large_signals_to_a_reading_victim(connect: Connect) -> None:
    victim, *senders = await room_of(connect, 4)

    async def send(n: int, sender: Client) -> None:
        for seq in range(20):
            await sender.send(big_signal(victim.id, n, seq))

    receiving = asyncio.ensure_future(drain(victim, quiet=2.0))
    await asyncio.gather(*(send(n, s) for n, s in enumerate(senders)))
    got = signals_by_sender(await receiving)
    assert got == {n: list(range(20)) for n in range(3)}, "signals lost"
    for sender in senders:
        await sender.silent(0.2)  # no error: everything was delivered


async def test_a_slow_reader_stays_and_every_signal_arrives_or_is_refused(
    connect: Connect,
) -> None:
    """Senders far faster than the reader: the reader is never closed; what did not fit
    in its mailbox came back to its sender as 'peer-unavailable', and the rest arrived
    in order."""
    victim, *senders = await room_of(connect, 4)
    per_sender = 60  # 3 x 60 x 64 KiB: 11 MiB, more than the kernel and the mailbox hold

    async def send(n: int, sender: Client) -> None:
        for seq in range(per_sender):
            await sender.send(big_signal(victim.id, n, seq))

    receiving = asyncio.ensure_future(drain(victim, quiet=3.0, pause=0.01))
    await asyncio.gather(*(send(n, s) for n, s in enumerate(senders)))
    got = signals_by_sender(await receiving)
    for n, sender in enumerate(senders):
        refused = await drain(sender, quiet=0.5)
        assert all(e["code"] == "peer-unavailable" and e["peer"] == victim.id for e in refused)
        arrived = got.get(n, [])
        assert arrived == sorted(arrived), "out of order"
        assert len(arrived) + len(refused) == per_sender, f"sender {n}: some vanished"
    assert sum(map(len, got.values())) >= 20  # it did read


async def test_a_resume_with_a_full_mailbox_delivers_everything(connect: Connect) -> None:
    victim, sender = await room_of(connect, 2)
    victim.drop()
    await asyncio.sleep(0.2)
    accepted = 0
    for seq in range(300):
        await sender.send(big_signal(victim.id, 0, seq))
    replies = await drain(sender, quiet=0.5)
    assert all(r["code"] == "peer-unavailable" and r["peer"] == victim.id for r in replies)
    accepted = 300 - len(replies)
    assert 0 < accepted < 300, "the mailbox should have filled"
    back = await connect()
    welcome = await back.join("lab", resume=victim.resume)
    assert welcome["resumed"] is True
    got = signals_by_sender(await drain(back, quiet=1.0))
    assert got == {0: list(range(accepted))}


async def test_frames_go_out_as_utf8_and_no_larger_than_they_came(
    standalone: StandaloneServer, standalone_connect: Connect
) -> None:
    victim, sender = await room_of(standalone_connect, 2)
    frame = big_signal(victim.id, 0, 0)
    await sender.send(frame)
    raw = await asyncio.wait_for(victim.ws.read_message(), 5)
    assert isinstance(raw, str) and "é" in raw and "\\u00e9" not in raw
    assert len(raw.encode()) <= len(frame.encode())
    # A lone surrogate has no UTF-8 form: that frame goes out escaped, and still whole.
    await sender.send('{"type":"signal","to":"' + victim.id + '","data":{"candidate":"\\ud800é"}}')
    assert (await victim.expect("signal"))["data"]["candidate"] == "\ud800é"


async def test_a_closed_victim_in_a_burst_is_still_closed_only_by_its_own_drop(
    connect: Connect,
) -> None:
    """Nobody can evict a reconnecting peer by sending it a lot: it keeps its place."""
    victim, sender, witness = await room_of(connect, 3)
    victim.drop()
    await asyncio.sleep(0.2)
    for seq in range(300):
        await sender.send(big_signal(victim.id, 0, seq))
    await drain(sender, quiet=0.5)
    await witness.silent(0.5)  # no peer-left
    back = await connect()
    assert (await back.join("lab", resume=victim.resume))["resumed"] is True
    assert signals_by_sender(await drain(back, quiet=1.0))
