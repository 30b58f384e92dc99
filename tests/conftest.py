"""Shared fixtures: a real Jupyter server (pytest-jupyter) or a real standalone server,
each with the nbconference signaling endpoint, and WebSocket clients to talk to them.

pytest-jupyter runs its server on its own ``jp_asyncio_loop`` while pytest-asyncio
(``asyncio_mode = "auto"``) runs each async test on a loop of its own: two loops, and the
test's socket never reaches the server. Overriding ``jp_asyncio_loop`` with the loop
pytest-asyncio runs the test on makes them one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from nbconference.server.config import SignalingSettings
from nbconference.server.standalone import StandaloneServer, start_server
from signaling_client import Client, connect_url

pytest_plugins = ["pytest_jupyter.jupyter_server"]

STANDALONE_TOKEN = "standalone-secret"


@pytest.fixture
async def jp_asyncio_loop() -> AsyncIterator[asyncio.AbstractEventLoop]:
    yield asyncio.get_running_loop()


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    """``c.NBConference.*`` traits for the server under test; override in a module to change."""
    # Longer than any wait in a test that expects an immediate leave, so a peer kept
    # for its grace window instead is caught.
    return {"reconnect_grace_seconds": 3.0}


@pytest.fixture
def jp_server_config(nbc_settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"nbconference": True}},
        "NBConference": dict(nbc_settings),
    }


Connect = Callable[..., Awaitable[Client]]


@pytest.fixture
async def opened() -> AsyncIterator[list[Client]]:
    """Every client a test opens, closed afterwards even when the test fails."""
    clients: list[Client] = []
    yield clients
    for client in clients:
        client.close()
    await asyncio.sleep(0.01)


@pytest.fixture
def jupyter_connect(jp_ws_fetch: Any, opened: list[Client]) -> Connect:
    """Open a client on the Jupyter server's endpoint (authenticated unless headers say not)."""

    async def connect(**kwargs: Any) -> Client:
        client = Client(await jp_ws_fetch("nbconference", "signal", **kwargs))
        opened.append(client)
        return client

    return connect


@pytest.fixture
async def standalone(nbc_settings: dict[str, Any]) -> AsyncIterator[StandaloneServer]:
    """A standalone signaling server on a free loopback port, on the test's loop."""
    running = await start_server(SignalingSettings(**nbc_settings), port=0, token=STANDALONE_TOKEN)
    yield running
    await running.stop()


@pytest.fixture
def standalone_connect(standalone: StandaloneServer, opened: list[Client]) -> Connect:
    """Open a client on the standalone server; ``token=None`` presents none."""

    async def connect(token: str | None = STANDALONE_TOKEN, **kwargs: Any) -> Client:
        url = standalone.url if token is None else f"{standalone.url}?token={token}"
        client = Client(await connect_url(url, **kwargs))
        opened.append(client)
        return client

    return connect


@pytest.fixture(params=["jupyter", "standalone"])
def connect(request: pytest.FixtureRequest) -> Connect:
    """The same behaviour is proven against both servers."""
    return request.getfixturevalue(f"{request.param}_connect")  # type: ignore[no-any-return]


def _decoder_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.endswith("-decoder") and t.is_alive()]


@pytest.fixture(autouse=True)
def no_leaked_media_threads() -> Iterator[None]:
    """Fail the test that leaves an aiortc decoder thread running.

    Such a thread (not a daemon) belongs to a receiver whose peer connection was never
    closed: in a kernel it keeps decoding for nobody, and at exit the interpreter waits
    for it forever.
    """
    before = set(_decoder_threads())
    yield
    deadline = time.monotonic() + 5.0
    while (leaked := [t for t in _decoder_threads() if t not in before]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert not leaked, f"aiortc threads left running: {[t.name for t in leaked]}"
