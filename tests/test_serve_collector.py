"""``nbconference serve`` keeps settled sockets' objects out of the garbage collector's
way (``gc.freeze``), and hands them back, collected at once, when half of those sockets
have closed: real sockets on a real server, a small step so that a few suffice."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from nbconference.server.collector import Collector
from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.polling import eventually
from support.signaling_fixtures import Connect

STEP = 4


@pytest.fixture
def thawed() -> Iterator[None]:
    """Nothing frozen before the test, nor after it (a frozen heap outlives a test)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


async def test_settled_sockets_are_frozen_and_handed_back_when_half_have_closed(
    standalone: StandaloneServer, standalone_connect: Connect, thawed: None
) -> None:
    assert standalone.pinger is not None and standalone.collector is not None
    collector = Collector(standalone.pinger.sockets, interval=0.05, step=STEP)
    collector.start()
    try:
        clients: list[Client] = []
        for n in range(STEP - 1):
            clients.append(await standalone_connect())
            await clients[-1].join("lab", f"p{n}")
        await eventually(lambda: len(standalone.pinger.sockets) == STEP - 1, 5, "sockets")
        collector.check()
        assert (collector.freezes, gc.get_freeze_count()) == (0, 0), "fewer than a step"

        clients.append(await standalone_connect())
        await clients[-1].join("lab", "last")
        await eventually(lambda: collector.freezes == 1, 5, "a freeze once a step is open")
        frozen = gc.get_freeze_count()
        assert frozen > 0
        gc.collect()
        assert gc.get_freeze_count() == frozen, "a collection leaves the frozen alone"

        # Half closed: not yet more than half.
        for client in clients[: STEP // 2]:
            client.close()
        await eventually(lambda: len(standalone.pinger.sockets) == STEP // 2, 5, "closes")
        collector.check()
        assert collector.thaws == 0
        clients[STEP // 2].close()
        await eventually(lambda: collector.thaws == 1, 5, "handed back past half closed")
        assert gc.get_freeze_count() == 0
    finally:
        collector.stop()
    assert gc.get_freeze_count() == 0
