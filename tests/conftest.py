"""Fixtures for every test. The signaling and Redis fixtures live in ``tests/support``
and are loaded as plugins.

pytest-jupyter runs its server on its own ``jp_asyncio_loop`` while pytest-asyncio
(``asyncio_mode = "auto"``) runs each async test on a loop of its own: two loops, and the
test's socket never reaches the server. Overriding ``jp_asyncio_loop`` with the loop
pytest-asyncio runs the test on makes them one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest

pytest_plugins = [
    "pytest_jupyter.jupyter_server",
    "support.signaling_fixtures",
    "support.redis_fixtures",
]


@pytest.fixture
async def jp_asyncio_loop() -> AsyncIterator[asyncio.AbstractEventLoop]:
    yield asyncio.get_running_loop()


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
    # A leaked thread never ends; a closing one may take a while to drain its queue of
    # frames on a loaded machine (seen: over 5 s with four test runs on two cores).
    deadline = time.monotonic() + 15.0
    while (leaked := [t for t in _decoder_threads() if t not in before]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert not leaked, f"aiortc threads left running: {[t.name for t in leaked]}"
