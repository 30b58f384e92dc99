"""Fixtures for the Redis backend tests (a pytest plugin, loaded by tests/conftest.py): a
real redis-server, signaling servers that share it, and clients of those servers.

Every process started here is stopped by its pid, even when a test fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from nbconference.server.config import SignalingSettings
from nbconference.server.standalone import StandaloneServer, start_server

from .client import Client, connect_url
from .redis_server import RedisServer, running_redis
from .standalone import ServeProcess

TOKEN = "redis-test-token-0123"
# Its sockets host every room they join (docs/protocol.md, "Hosts").
HOST_TOKEN = "redis-test-host-token-0123"


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


async def start_redis_standalone(url: str, **settings: Any) -> StandaloneServer:
    """A standalone signaling server in this process, using the Redis backend at ``url``."""
    options: dict[str, Any] = {"backend": "redis", "redis_url": url, **settings}
    return await start_server(
        SignalingSettings(**options), port=0, token=TOKEN, host_token=HOST_TOKEN
    )


async def two_servers(
    redis: RedisServer, started: list[StandaloneServer], **settings: Any
) -> tuple[StandaloneServer, StandaloneServer]:
    """Two standalone servers sharing ``redis``, added to ``started`` (the ``servers``
    fixture) so that they are stopped after the test."""
    for _ in range(2):
        started.append(await start_redis_standalone(redis.url, **settings))
    return started[-2], started[-1]


@pytest.fixture
async def servers() -> AsyncIterator[list[StandaloneServer]]:
    """Every standalone server a test starts, stopped afterwards."""
    started: list[StandaloneServer] = []
    yield started
    for running in started:
        await running.stop()


async def open_client(url: str, opened: list[Client], token: str = TOKEN) -> Client:
    client = Client(await connect_url(f"{url}?token={token}"))
    opened.append(client)
    return client


def serve_redis(redis_url: str, *args: str) -> ServeProcess:
    """``nbconference serve --redis URL`` in a process of its own (see :class:`ServeProcess`)."""
    return ServeProcess("--redis", redis_url, *args, token=TOKEN)


@pytest.fixture
def serve_processes() -> Iterator[list[ServeProcess]]:
    """Every ``nbconference serve`` process a test starts, killed afterwards."""
    started: list[ServeProcess] = []
    yield started
    for proc in started:
        proc.kill()
