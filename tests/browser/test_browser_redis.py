"""Two JupyterLab servers that share one Redis: a person on each joins the same room,
and they see and hear each other as if they were on one server (issue 5). And two
``nbconference serve`` replicas on that Redis, over one Janus: a page on each decodes the
other through the SFU (issue 19). Two replicas on a mesh: a host's page on one mutes a
page on the other, whose microphone goes off (issue 22)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from browser.conftest import CALL_FAILED
from support import probes
from support.janus import ExistingJanus, loopback_configs, needs_janus
from support.lab import JupyterLab, running_lab
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import wait_for_full_mesh, wait_for_the_sfu
from support.pages import Participant
from support.polling import wait_until
from support.probes import CONFERENCE_JS, voice_flows
from support.redis_server import RedisServer
from support.standalone import ServeProcess
from support.timeouts import TIMEOUT

JANUS_SECRETS = {"api_secret": "browser-replicas-api-4e1d", "admin_key": "browser-replicas-8c2a"}


def _redis() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    yield from _redis()


@pytest.fixture(scope="module")
def sfu_redis() -> Iterator[RedisServer]:
    """A Redis of its own for the SFU replicas: servers sharing a Redis must agree on the
    settings that decide a room's media, and the Labs on ``redis`` are mesh only."""
    yield from _redis()


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


@pytest.fixture(scope="module")
def janus() -> Iterator[ExistingJanus]:
    """One existing Janus (started in a thread of its own: the tests here are sync)."""
    (config,) = loopback_configs(1, **JANUS_SECRETS)
    existing = ExistingJanus(config)
    try:
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, existing.start()).result()
        yield existing
    finally:
        existing.stop()


def two_replicas(args: tuple[str, ...], folder: Path) -> Iterator[list[ServeProcess]]:
    """Two ``nbconference serve`` processes with ``args``, ready; stopped afterwards."""
    started = [ServeProcess(*args, log_dir=folder) for _ in range(2)]
    try:
        for server in started:
            server.wait_ready()
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.fixture(scope="module")
def replicas(
    sfu_redis: RedisServer, janus: ExistingJanus, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServeProcess]]:
    """Two ``nbconference serve`` replicas on the same Redis and the same Janus, where
    every room is on the SFU from its first join."""
    folder = tmp_path_factory.mktemp("replicas")
    (secret := folder / "api").write_text(JANUS_SECRETS["api_secret"])
    (key := folder / "key").write_text(JANUS_SECRETS["admin_key"])
    args = (
        *("--redis", sfu_redis.url, "--sfu", "janus", "--mesh-max-peers", "0"),
        *("--janus-urls", json.dumps([janus.url])),
        *(f"--janus-api-secret=@{secret}", f"--janus-admin-key=@{key}"),
    )
    yield from two_replicas(args, folder)


@needs_janus
def test_pages_on_two_serve_replicas_decode_each_other_through_one_janus(
    meetings: list[Meeting],
    replicas: list[ServeProcess],
    sfu_redis: RedisServer,
    janus: ExistingJanus,
) -> None:
    room = meetings[0].room()
    people = []
    for meeting, name, replica in zip(meetings, ["ada", "bob"], replicas, strict=True):
        cells = widget_cells(room, name, signaling_url=replica.url, token=replica.token)
        (person,) = meeting.open([(name, cells)], init_script=probes.COUNT_CONNECTIONS_JS)
        wait_for_join(person)
        people.append(person)
    # Each page holds a publisher and a subscriber connection, and decodes the other's
    # camera (and hears it) through the one Janus the room is pinned to.
    wait_for_the_sfu(people)
    assert sfu_redis.cli("HGET", f"nbconference:room:{room}:sfu", "janus") == janus.url


HOST_TOKEN = "browser-replicas-host-token-5f2b"


@pytest.fixture(scope="module")
def mesh_replicas(
    redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServeProcess]]:
    """Two ``nbconference serve`` replicas on the same Redis (a mesh), with a host token."""
    folder = tmp_path_factory.mktemp("mesh-replicas")
    (host_token := folder / "host-token").write_text(HOST_TOKEN)
    args = ("--redis", redis.url, "--host-token-file", str(host_token))
    yield from two_replicas(args, folder)


def test_a_host_page_on_one_replica_mutes_a_page_on_the_other(
    meetings: list[Meeting], mesh_replicas: list[ServeProcess]
) -> None:
    one, two = mesh_replicas
    room = meetings[0].room()
    host_cells = widget_cells(room, "ada", signaling_url=one.url, token=HOST_TOKEN)
    (ada,) = meetings[0].open([("ada", host_cells)])
    wait_for_join(ada)
    bob_cells = widget_cells(room, "bob", signaling_url=two.url, token=two.token)
    (bob,) = meetings[1].open([("bob", bob_cells)])
    wait_for_join(bob)
    wait_for_full_mesh([ada, bob])
    wait_until(lambda: voice_flows(ada, bob), TIMEOUT, "Bob's voice at Ada's")
    # Bob's page, on replica two, marks Ada, on replica one, as the host.
    wait_until(lambda: bob.value("w.hosts") == [ada.peer_id], TIMEOUT, "Bob's w.hosts")

    # Ada's page asks the server to mute Bob (what the tile's menu does; the menu offers
    # it once Ada's page has heard that Bob's microphone is on): his page lets go of it.
    ada.js(f"(id) => {CONFERENCE_JS}.mute(id, {{ microphone: true }})", bob.peer_id)
    wait_until(lambda: bob.js(MUTED_LINE_JS).startswith("Muted by "), TIMEOUT, "Bob's page muted")
    wait_until(lambda: bob.value("w.microphone") is False, TIMEOUT, "Bob's microphone off")
    wait_until(lambda: not voice_flows(ada, bob), TIMEOUT, "Bob's voice to stop at Ada's")
    assert not voice_flows(ada, bob, over=1.5)


# The line a host's mute puts up on the muted page ("" when none).
MUTED_LINE_JS = """
() => {
  const line = document.querySelector(".nbc-root .nbc-host-mute");
  return line.hidden ? "" : line.textContent;
}
"""
