"""Limits that protect the server and the room from one client: open sockets per
address, the rate of joins per socket, and state updates that change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from support.client import Client
from support.polling import eventually
from support.signaling_fixtures import Connect


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    return {"reconnect_grace_seconds": 3.0, "max_sockets_per_address": 3}


async def test_standalone_caps_sockets_per_address(standalone_connect: Connect) -> None:
    held = [await standalone_connect() for _ in range(3)]
    with pytest.raises(HTTPClientError) as refused:
        await standalone_connect()
    assert refused.value.code == 429
    assert "Too many signaling sockets (3) for this address" in str(refused.value)
    await held[1].join("lab")  # those admitted work as usual
    held[0].close()

    async def reopened() -> Client | None:
        try:
            return await standalone_connect()
        except HTTPClientError:
            return None

    again = await eventually(reopened, 5, "a socket once another one closed")
    await again.join("lab")
