"""``nbconference serve`` against clients that connect and never finish their request
(slowloris), before any token: the request head has a deadline and a size cap, one
address holds few unfinished connections, and running out of file descriptors neither
locks out the token's holder nor floods the log."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from support.client import Client, connect_url
from support.polling import eventually
from support.slowloris import HalfSent
from support.standalone import ServeProcess

HEADER_TIMEOUT = 5.0  # the default of --header-timeout-seconds
MAX_PENDING_PER_ADDRESS = 32  # set below the default (256), so that the test stays small
# Ten addresses other than the token holder's 127.0.0.1.
ATTACKERS = [f"127.0.0.{n}" for n in range(2, 12)]


@contextlib.asynccontextmanager
async def serving(
    tmp_path: Path, *args: str, open_files: int | None = None
) -> AsyncIterator[ServeProcess]:
    server = ServeProcess(*args, log_dir=tmp_path, open_files=open_files)
    try:
        yield await server.ready()
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def half_sent(port: int, count: int, sources: list[str]) -> AsyncIterator[HalfSent]:
    """``count`` connections that never finish their head, trickling a byte a second."""
    attack = await asyncio.to_thread(HalfSent, port, count, sources)

    async def trickle() -> None:
        while True:
            await asyncio.sleep(1.0)
            attack.trickle()

    trickling = asyncio.ensure_future(trickle())
    try:
        yield attack
    finally:
        trickling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await trickling
        attack.close()


async def joins(server: ServeProcess, room: str = "lab") -> float:
    """Seconds the token's holder took to connect and join (it fails past 10 s)."""
    started = time.monotonic()
    client = Client(await asyncio.wait_for(connect_url(server.url_with_token), 10))
    try:
        assert (await client.join(room))["room"] == room
    finally:
        client.close()
    return time.monotonic() - started


def lines_with(text: str, needle: str) -> int:
    return sum(needle in line for line in text.splitlines())


@pytest.mark.slow
async def test_half_sent_requests_past_the_open_files_limit(tmp_path: Path) -> None:
    async with serving(tmp_path, open_files=100) as server:
        lines_before = len(server.output().splitlines())
        opened = time.monotonic()
        async with half_sent(server.port, 120, ATTACKERS) as attack:
            took = await joins(server)
            assert took < 3.0, f"the token's holder waited {took:.1f} s"
            await eventually(
                lambda: not attack.open(),
                HEADER_TIMEOUT + 5,
                "the server to close every half-sent request",
                interval=0.2,
            )
            all_closed = time.monotonic() - opened
            # The listener is still there for the token's holder afterwards.
            assert await joins(server, "after") < 3.0
        log = server.output()
    grown = len(log.splitlines()) - lines_before
    print(f"joined in {took:.2f} s; all closed after {all_closed:.1f} s; log +{grown} lines")
    assert all_closed < HEADER_TIMEOUT + 3
    assert lines_with(log, "Too many open files") <= 3, log[-3000:]
    assert grown < 50, log[-3000:]


async def test_one_address_holds_few_unfinished_connections(tmp_path: Path) -> None:
    flag = f"--max-pending-per-address={MAX_PENDING_PER_ADDRESS}"
    async with serving(tmp_path, flag) as server:
        opened = time.monotonic()
        async with half_sent(server.port, 3 * MAX_PENDING_PER_ADDRESS, ATTACKERS[:1]) as attack:
            # The oldest go as soon as newer ones come, long before the header timeout.
            await eventually(
                lambda: len(attack.open()) <= MAX_PENDING_PER_ADDRESS,
                HEADER_TIMEOUT / 2,
                "the server to close the oldest unfinished connections of one address",
            )
            assert time.monotonic() - opened < HEADER_TIMEOUT
            assert len(attack.open()) == MAX_PENDING_PER_ADDRESS
            # Another address is not held back by it.
            assert await joins(server) < 3.0
        log = server.output()
    assert lines_with(log, "had not finished their handshake") in (1, 2), log[-3000:]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
async def test_out_of_files_with_only_token_holders_the_listener_waits(tmp_path: Path) -> None:
    async with serving(tmp_path, open_files=100) as server:

        async def connect() -> Client:
            return Client(await asyncio.wait_for(connect_url(server.url_with_token), 30))

        connected: list[Client] = []
        waiting: list[asyncio.Future[Client]] = []
        try:
            # Token holders one after the other until the descriptors run out.
            while len(connected) < 100:
                try:
                    connected.append(await asyncio.wait_for(connect(), 2))
                except TimeoutError:
                    break
            assert 50 < len(connected) < 100, len(connected)
            assert "Too many open files" in server.output()
            waiting = [asyncio.ensure_future(connect()) for _ in range(5)]
            # While they wait, the server is not spinning on its listening socket.
            cpu = cpu_seconds(server.pid)
            await asyncio.sleep(2.0)
            spent = cpu_seconds(server.pid) - cpu
            assert spent < 0.5, f"{spent:.2f} s of CPU in 2 s with nothing to do"
            assert not any(task.done() for task in waiting)
            # Once some leave, the ones waiting get in.
            for client in connected[:10]:
                client.close()
            connected += await asyncio.wait_for(asyncio.gather(*waiting), 10)
        finally:
            for task in waiting:
                task.cancel()
            for client in connected:
                client.close()
        log = server.output()
    print(f"{len(connected)} token holders; {spent:.2f} s of CPU in 2 s out of files")
    assert lines_with(log, "Too many open files") <= 3, log[-3000:]


def head(sock: socket.socket, token: str, padding: int) -> bytes:
    """Send ``GET /`` with the token and ``padding`` bytes of cookie; what came back."""
    sock.sendall(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        + f"Authorization: token {token}\r\n".encode()
        + b"Cookie: c="
        + b"x" * padding
        + b"\r\n\r\n"
    )
    answer = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(("padding", "answered"), [(12 * 1024, True), (20 * 1024, False)])
async def test_a_request_head_past_16_kib_is_refused(
    tmp_path: Path, padding: int, answered: bool
) -> None:
    async with serving(tmp_path) as server:

        def ask() -> bytes:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                return head(sock, server.token, padding)

        answer = await asyncio.to_thread(ask)
    assert answer.startswith(b"HTTP/1.1 200 ") is answered, answer[:200]
    if answered:
        assert b'"pid"' in answer
