"""Fixtures for every test, and which modules are fast. The signaling and Redis fixtures
live in ``tests/support`` and are loaded as plugins.

The fast tests (``-m fast``) are the modules named in ``FAST_MODULES``: no browser, no
aiortc, no Redis, so they run on every Python the package claims with only the
``test-fast`` extra installed. Selecting ``-m fast`` does not even import the other
modules, which need what that extra lacks. ``slow`` marks the load tests a developer may
skip with ``-m "not slow"``; the whole suite runs them.

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
from fnmatch import fnmatch
from pathlib import Path

import pytest

pytest_plugins = [
    "pytest_jupyter.jupyter_server",
    "support.signaling_fixtures",
    "support.redis_fixtures",
    "support.peer_fixtures",
]

TESTS = Path(__file__).parent
# The fast modules (patterns of names in tests/): the one list of them.
FAST_MODULES = (
    "test_protocol.py",
    "test_protocol_hostile.py",
    "test_protocol_contract.py",
    "test_signaling_*.py",
    "test_serve_command.py",
    "test_hub_service.py",
    "test_discovery.py",
    "test_widget.py",
    "test_viewers.py",
    "test_stats_history.py",
    "test_private_internals.py",
)


def is_fast(path: Path) -> bool:
    """Whether ``path`` is one of the fast test modules."""
    return path.parent == TESTS and any(fnmatch(path.name, name) for name in FAST_MODULES)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With ``-m fast``, leave the other modules (and tests/browser) unimported."""
    if config.getoption("markexpr", "").strip() != "fast" or collection_path == TESTS:
        return None
    if collection_path.is_dir():
        return True
    if collection_path.name.startswith("test_") and collection_path.suffix == ".py":
        return not is_fast(collection_path)
    return None


def pytest_itemcollected(item: pytest.Item) -> None:
    if is_fast(item.path):
        item.add_marker(pytest.mark.fast)


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
