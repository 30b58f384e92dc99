"""Helpers for the Redis backend tests: a real redis-server, servers that share it, clients.

Import the fixtures into a test module (``from redis_support import redis_server``).
Every process started here is stopped by its pid, even when a test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from browser.harness.processes import free_port
from nbconference.server.config import SignalingSettings
from nbconference.server.standalone import StandaloneServer, start_server
from signaling_client import Client, connect_url

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
TOKEN = "redis-test-token"


class RedisServer:
    """A throwaway redis-server on loopback, with no persistence, that can be restarted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="nbc-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *(REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", self.dir, "--loglevel", "warning"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            assert self.proc.poll() is None, "redis-server exited at start"
            time.sleep(0.02)
        raise AssertionError("redis-server did not start listening")

    def kill(self) -> None:
        """SIGKILL: the crash case, no goodbye to clients."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def cli(self, *args: str) -> str:
        """Run one redis-cli command against this server (for inspecting keys in tests)."""
        out = subprocess.run(
            ["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, timeout=10
        )
        return out.stdout.strip()

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


async def start_redis_standalone(url: str, **settings: Any) -> StandaloneServer:
    """A standalone signaling server in this process, using the Redis backend at ``url``."""
    options: dict[str, Any] = {"backend": "redis", "redis_url": url, **settings}
    return await start_server(SignalingSettings(**options), port=0, token=TOKEN)


@pytest.fixture
async def servers() -> AsyncIterator[list[StandaloneServer]]:
    """Every standalone server a test starts, stopped afterwards."""
    started: list[StandaloneServer] = []
    yield started
    for running in started:
        await running.stop()


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    """Every client a test opens, closed afterwards."""
    opened: list[Client] = []
    yield opened
    for client in opened:
        client.close()
    await asyncio.sleep(0.01)


async def open_client(url: str, opened: list[Client], token: str = TOKEN) -> Client:
    client = Client(await connect_url(f"{url}?token={token}"))
    opened.append(client)
    return client


class ServeProcess:
    """``python -m nbconference serve --redis URL`` as a child process."""

    def __init__(self, redis_url: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "nbconference", "serve", "--redis", redis_url),
                *("--port", "0", "--token", TOKEN, *args),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.url = ""
        self.output: list[str] = []

    async def started(self, timeout: float = 20) -> str:
        """Wait for the line that gives the URL; return it."""
        assert self.proc.stdout is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            line = await asyncio.wait_for(
                loop.run_in_executor(None, self.proc.stdout.readline), deadline - loop.time()
            )
            if not line:
                break
            text = line.decode(errors="replace").rstrip()
            self.output.append(text)
            found = re.search(r"signaling on (ws://\S+)", text)
            if found:
                self.url = found.group(1)
                # Keep reading its log, so a full pipe never blocks the server.
                threading.Thread(target=self._drain, daemon=True).start()
                return self.url
        raise AssertionError("nbconference serve did not start:\n" + "\n".join(self.output))

    def _drain(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            for line in self.proc.stdout or ():
                self.output.append(line.decode(errors="replace").rstrip())

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def serve_processes() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for proc in started:
        proc.kill()


async def eventually(check: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``check()`` (sync or async) until it returns a truthy value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
