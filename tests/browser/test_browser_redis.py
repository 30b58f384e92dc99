"""Two JupyterLab servers that share one Redis: a person on each joins the same room,
and they see and hear each other as if they were on one server (issue 5)."""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from browser.conftest import CALL_FAILED
from support.lab import JupyterLab, running_lab
from support.meeting import Meeting
from support.mesh import wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until
from support.redis_server import RedisServer
from support.timeouts import TIMEOUT


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def labs(
    redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[JupyterLab]]:
    """Two JupyterLab servers, each with the Redis backend on the same Redis."""
    args = ["--NBConference.backend=redis", f"--NBConference.redis_url={redis.url}"]
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(running_lab(Path(tmp_path_factory.mktemp(f"lab{i}")), args))
            for i in (1, 2)
        ]


@pytest.fixture
def meetings(
    browser: Browser, labs: list[JupyterLab], request: pytest.FixtureRequest
) -> Iterator[list[Meeting]]:
    """One Meeting per server; a passing test also threw nothing uncaught in any page
    (as the ``meeting`` fixture checks for one server)."""
    opened = [Meeting(browser, lab, f"{request.node.name}-{i}") for i, lab in enumerate(labs)]
    try:
        yield opened
        uncaught = [error for meeting in opened for error in meeting.uncaught_errors()]
    finally:
        for meeting in opened:
            meeting.close()
    if not request.node.stash.get(CALL_FAILED, False):
        assert not uncaught, "uncaught errors in the pages:\n" + "\n".join(uncaught)


def kernel_lists(person: Participant, other: Participant) -> bool:
    peers = person.value("w.peers")
    return [(p["id"], p["name"], p["connection"]) for p in peers] == [
        (other.peer_id, other.identity()["display_name"], "connected")
    ]


def test_people_on_two_servers_meet_through_redis(
    meetings: list[Meeting], redis: RedisServer
) -> None:
    first, second = meetings
    assert first.lab.port != second.lab.port
    room = first.room()
    (ada,) = first.join(room, ["ada"])
    (bob,) = second.join(room, ["bob"])

    # The room lives in Redis, with one member connected to each server.
    members = redis.cli("ZRANGE", f"nbconference:room:{room}:members", "0", "-1").split()
    assert sorted(members) == sorted([ada.peer_id, bob.peer_id])
    records = [redis.cli("HGET", f"nbconference:room:{room}:peers", p) for p in members]
    assert len({json.loads(record)["server"] for record in records}) == 2, records

    wait_for_full_mesh([ada, bob])
    for person, other in ((ada, bob), (bob, ada)):
        wait_until(
            functools.partial(kernel_lists, person, other),
            TIMEOUT,
            f"{person.name}'s w.peers to list {other.name}",
        )
