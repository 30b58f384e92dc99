"""The ``peers`` fixture of the kernel peer and recorder tests (loaded as a plugin).

``KernelPeer`` is imported only when a test asks for the fixture: the fast tests run
where aiortc is not installed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from nbconference.peer import KernelPeer
    from nbconference.server.standalone import StandaloneServer


@pytest.fixture
async def peers(standalone: StandaloneServer) -> AsyncIterator[list[KernelPeer]]:
    """Kernel peers a test joins on ``standalone``: append each one, and every one leaves
    afterwards, even on failure (before the server stops)."""
    joined: list[KernelPeer] = []
    yield joined
    await asyncio.gather(*(peer.leave() for peer in joined))
