"""The lobby of a locked room (issue 22), over real WebSockets: the Jupyter extension with
people named by a cookie (``support.identity.NamedPeople``), ``nbconference serve`` with
its host token, and the Python API (KernelPeer, ConferenceWidget) against a standalone
server.

A host locks the room; a newcomer who is no host then waits and hears nothing of the
room (every frame it gets is checked) until a host lets it in, when it gets the members
and the chat history. A host denies: the socket closes for good. A waiting socket that
drops leaves the lobby, and a resume brings it back there. When the last host leaves,
the promoted host serves the lobby; with nobody to promote, the next host to arrive
does. Unlocking lets everyone in. Anyone but a host gets ``not-host``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from nbconference.protocol import CLOSE_DENIED, CLOSE_ENDED, WAITING_MESSAGE
from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.identity import PEOPLE
from support.polling import eventually
from support.redis_fixtures import HOST_TOKEN as REDIS_HOST_TOKEN
from support.redis_fixtures import open_client, two_servers
from support.redis_server import RedisServer
from support.signaling_fixtures import STANDALONE_HOST_TOKEN, STANDALONE_TOKEN, Connect
from test_hosts import answered, room
from test_widget import recording_comm, report

__all__ = ["recording_comm"]  # the widget's comm, recorded (the widget tests' fixture)

ADA, GRACE, ALAN = (PEOPLE[who].display_name for who in ("ada", "grace", "alan"))


@pytest.fixture
def jp_server_config(nbc_settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {
            "jpserver_extensions": {"nbconference": True},
            "identity_provider_class": "support.identity.NamedPeople",
        },
        "NBConference": dict(nbc_settings),
    }


async def lock(host: Client, request: str = "lock") -> None:
    """``host`` locks the room; it sees the lobby, locked and empty."""
    await host.send({"type": "lock", "request": request})
    seen = await answered(host, request, "lobby")
    assert seen["lobby"] == {"type": "lobby", "locked": True, "waiting": []}


async def knock(as_somebody: Connect, *who: Any, name: str = "Newcomer", **extra: Any) -> Client:
    """A newcomer joins the locked room "lab" and is told to wait."""
    client = await as_somebody(*who)
    await client.send({"type": "join", "room": "lab", "name": name, **extra})
    waiting = await client.expect("waiting", room="lab", message=WAITING_MESSAGE)
    client.id, client.resume = waiting["id"], waiting["resume"]
    client.waiting_since = waiting["waiting_since"]  # type: ignore[attr-defined]
    return client


async def lobby_of(host: Client, waiting: int) -> dict[str, Any]:
    """The next lobby frame at ``host`` with ``waiting`` people in it (a newer one may
    have replaced those between in the host's mailbox)."""
    while True:
        frame = await host.next_of("lobby")
        if len(frame["waiting"]) == waiting:
            return frame


# -- who may run it ---------------------------------------------------------------------


async def test_anyone_but_a_host_is_refused_and_nothing_changes(as_browser: Connect) -> None:
    ada, alan = await room(as_browser, "lab", "ada", "alan")
    requests = [{"type": "lock"}, {"type": "unlock"}]
    requests += [{"type": kind, "peer": ada.id} for kind in ("admit", "deny")]
    for n, request in enumerate(requests):
        await alan.send({**request, "request": f"r{n}"})
        said = await alan.expect("error", code="not-host", request=f"r{n}")
        assert "only a host of room 'lab'" in said["message"]
    await ada.silent(0.3)
    # The room is not locked: the next joiner comes straight in.
    grace = await as_browser("grace")
    welcome = await grace.join("lab", "Grace")
    assert {p["id"] for p in welcome["peers"]} == {ada.id, alan.id}


# -- waiting, and being let in ------------------------------------------------------------


async def test_a_newcomer_hears_nothing_of_the_locked_room_until_let_in(
    as_browser: Connect, jupyter_connect: Connect
) -> None:
    ada, alan = await room(as_browser, "lab", "ada", "alan")
    await ada.send({"type": "chat", "text": "before the lock"})
    for client in (ada, alan):
        await client.expect("chat")
    await alan.send({"type": "state", "state": {"camera": True, "hand": True}})
    await ada.expect("peer-state", id=alan.id)
    await alan.expect("peer-state", id=alan.id)
    await lock(ada)
    await alan.silent(0.3)  # the members learn nothing of the lobby: only its hosts

    grace = await knock(as_browser, "grace", state={"camera": False})
    frame = await ada.expect("lobby")
    assert frame == {
        "type": "lobby",
        "locked": True,
        "waiting": [
            {"id": grace.id, "name": GRACE, "username": "grace"}
            | {"waiting_since": grace.waiting_since}  # type: ignore[attr-defined]
        ],
    }
    assert abs(frame["waiting"][0]["waiting_since"] / 1000 - time.time()) < 60

    # The server's owner (the notebook's code) may act as a host here: it comes straight
    # in, and sees the lobby.
    owner = await jupyter_connect()
    welcome = await owner.join("lab", "Code")
    assert {p["id"] for p in welcome["peers"]} == {ada.id, alan.id}
    assert (await owner.expect("chat"))["text"] == "before the lock"
    assert (await owner.expect("lobby"))["waiting"][0]["id"] == grace.id
    for client in (ada, alan):
        await client.expect("peer-joined")

    # The room goes on: media signalling, state, chat. The newcomer hears none of it,
    # and may say nothing but its own state (and ping).
    await ada.signal(alan)
    await alan.expect("signal")
    await alan.send({"type": "state", "state": {"microphone": True}})
    for client in (ada, owner):
        await client.expect("peer-state", id=alan.id)
    await ada.send({"type": "chat", "text": "while Grace waits"})
    for client in (ada, alan, owner):
        await client.expect("chat")
    attempts = [
        {"type": "signal", "to": ada.id, "data": {"candidate": {}}},
        {"type": "chat", "text": "let me in"},
        {"type": "lower-hand", "peer": alan.id},
        {"type": "mute", "peer": ada.id},
        {"type": "admit", "peer": grace.id},
        {"type": "sfu-subscribe", "streams": [{"feed": ada.id}]},
    ]
    for attempt in attempts:
        await grace.send(attempt)
    await grace.send({"type": "ping", "id": "p1"})
    await grace.send({"type": "state", "state": {"camera": True}})
    heard = [await grace.recv() for _ in range(len(attempts) + 1)]
    assert [f["type"] for f in heard] == ["error"] * len(attempts) + ["pong"]
    assert {f.get("code") for f in heard[:-1]} == {"in-lobby"}
    await grace.silent(0.3)
    await alan.silent(0.1)  # nobody heard the newcomer's state or attempts
    members = (ADA, ALAN, ada.id, alan.id, owner.id, "before the lock", "while Grace waits")
    for frame in heard:
        assert not any(secret in json.dumps(frame) for secret in members), frame

    # Ada lets her in: her welcome names the members, the chat history follows.
    await ada.send({"type": "admit", "peer": grace.id, "request": "a1"})
    welcome = await grace.expect("welcome", room="lab")
    assert (welcome["id"], welcome["resume"], welcome["resumed"]) == (grace.id, grace.resume, False)
    assert {p["id"] for p in welcome["peers"]} == {ada.id, alan.id, owner.id}
    (seen,) = [p for p in welcome["peers"] if p["id"] == alan.id]
    assert seen["state"]["camera"] is True and seen["state"]["hand"] > 0
    assert welcome["peer"]["state"] == {"camera": True}  # the state she said while waiting
    texts = [(await grace.expect("chat"))["text"] for _ in range(2)]
    assert texts == ["before the lock", "while Grace waits"]
    seen = await answered(ada, "a1", "peer-joined", "lobby")
    assert seen["peer-joined"]["peer"]["id"] == grace.id
    assert seen["peer-joined"]["peer"]["state"] == {"camera": True}
    assert seen["lobby"] == {"type": "lobby", "locked": True, "waiting": []}
    assert (await alan.expect("peer-joined"))["peer"]["id"] == grace.id
    # She is a member now: she may signal.
    await grace.signal(ada)
    assert (await ada.expect("signal"))["from"] == grace.id


async def test_a_denied_newcomer_is_closed_for_good(as_browser: Connect) -> None:
    (ada,) = await room(as_browser, "lab", "ada")
    await lock(ada)
    grace = await knock(as_browser, "grace")
    await lobby_of(ada, 1)
    await ada.send({"type": "deny", "peer": grace.id, "request": "d1"})
    assert await grace.closed() == (CLOSE_DENIED, f"{ADA} did not let you in")
    await answered(ada, "d1", "lobby")
    # Its resume token died with it: back with it, it waits as somebody new.
    again = await knock(as_browser, "grace", resume=grace.resume)
    assert again.id != grace.id
    await lobby_of(ada, 1)
    # Ending the call closes the lobby's sockets too.
    await ada.send({"type": "end-call", "request": "end"})
    assert (await again.closed())[0] == CLOSE_ENDED
    assert (await ada.closed())[0] == CLOSE_ENDED


async def test_a_waiting_socket_that_drops_leaves_the_lobby_and_a_resume_waits_again(
    as_browser: Connect,
) -> None:
    (ada,) = await room(as_browser, "lab", "ada")
    await lock(ada)
    grace = await knock(as_browser, "grace")
    assert (await lobby_of(ada, 1))["waiting"][0]["id"] == grace.id
    grace.drop()
    await lobby_of(ada, 0)  # the hosts see her go at once
    # Back inside the grace window, she waits again: the same id, the same place.
    back = await knock(as_browser, "grace", resume=grace.resume)
    assert (back.id, back.waiting_since) == (grace.id, grace.waiting_since)  # type: ignore[attr-defined]
    assert (await lobby_of(ada, 1))["waiting"][0]["id"] == grace.id
    back.close()
    await lobby_of(ada, 0)  # left on purpose: gone, token and all

    # Past the grace window (3 s here), a dropped newcomer is gone for good too.
    alan = await knock(as_browser, "alan")
    await lobby_of(ada, 1)
    alan.drop()
    await lobby_of(ada, 0)
    await asyncio.sleep(3.3)
    late = await knock(as_browser, "alan", resume=alan.resume)
    assert late.id != alan.id
    await lobby_of(ada, 1)


# -- when the hosts go --------------------------------------------------------------------


async def test_when_the_last_host_leaves_the_promoted_host_serves_the_lobby(
    as_browser: Connect,
) -> None:
    ada, alan = await room(as_browser, "lab", "ada", "alan")
    await lock(ada)
    grace = await knock(as_browser, "grace")
    await lobby_of(ada, 1)
    await ada.send({"type": "leave"})
    # Alan, the longest present verified participant, hosts now, and sees the lobby.
    await alan.expect("peer-left", id=ada.id)
    assert (await alan.expect("hosts"))["hosts"] == [alan.id]
    frame = await alan.expect("lobby")
    assert frame["locked"] is True and [w["id"] for w in frame["waiting"]] == [grace.id]
    await grace.silent(0.2)
    await alan.send({"type": "admit", "peer": grace.id, "request": "a"})
    welcome = await grace.expect("welcome")
    assert [p["id"] for p in welcome["peers"]] == [alan.id]
    await answered(alan, "a", "peer-joined")


async def test_with_nobody_to_promote_the_next_host_to_arrive_serves_the_lobby(
    standalone_connect: Connect,
) -> None:
    """On ``nbconference serve`` nobody is verified: only the host token hosts."""
    teacher = await standalone_connect(token=STANDALONE_HOST_TOKEN)
    await teacher.join("lab", "Teacher")
    guest = await standalone_connect()
    await guest.join("lab", "Guest")
    await teacher.expect("peer-joined")
    await lock(teacher)
    late = await knock(standalone_connect, name="Late")
    entry = (await lobby_of(teacher, 1))["waiting"][0]
    assert (entry["name"], entry["username"]) == ("Late", "")
    await teacher.send({"type": "leave"})
    # Nobody can be promoted: the room has no host, the lobby stays locked, and the
    # guest still learns nothing of it.
    await guest.expect("peer-left", id=teacher.id)
    await guest.silent(0.3)
    again = await knock(standalone_connect, name="Again")
    await guest.silent(0.2)
    # The next host comes straight in, and sees who waits, in the order they came.
    host = await standalone_connect(token=STANDALONE_HOST_TOKEN)
    welcome = await host.join("lab", "Host")
    assert welcome["peer"]["host"] is True and [p["id"] for p in welcome["peers"]] == [guest.id]
    frame = await host.expect("lobby")
    assert frame["locked"] is True
    assert [(w["id"], w["waiting_since"]) for w in frame["waiting"]] == [
        (late.id, late.waiting_since),  # type: ignore[attr-defined]
        (again.id, again.waiting_since),  # type: ignore[attr-defined]
    ]
    await guest.expect("peer-joined")
    # Unlocking lets everyone waiting in, and the next joiner straight in.
    await host.send({"type": "unlock", "request": "u"})
    for client in (late, again):
        assert (await client.expect("welcome"))["id"] == client.id
    frame = (await answered(host, "u", "lobby"))["lobby"]
    while frame["locked"] or frame["waiting"]:  # the last word: unlocked, nobody waits
        frame = await host.next_of("lobby")
    latest = await standalone_connect()
    welcome = await latest.join("lab", "Latest")
    assert len(welcome["peers"]) == 4


# -- with Redis: the lobby is the room's, on every replica (test_redis_lobby.py) -----------


async def test_with_redis_the_lobby_holds_on_the_server_that_locked_and_on_the_others(
    redis_server: RedisServer, servers: list[StandaloneServer], clients: list[Client]
) -> None:
    one, two = await two_servers(redis_server, servers)
    teacher = await open_client(one.url, clients, REDIS_HOST_TOKEN)
    await teacher.join("lab", "Teacher")
    far = await open_client(two.url, clients)
    await far.join("lab", "Far")
    await teacher.expect("peer-joined")
    await lock(teacher)
    # A newcomer on the locking server waits and hears nothing, as with one server.
    near = await knock(lambda: open_client(one.url, clients), name="Near")
    await lobby_of(teacher, 1)
    await far.silent(0.3)
    await teacher.send({"type": "admit", "peer": near.id, "request": "a"})
    welcome = await near.expect("welcome")
    assert {p["id"] for p in welcome["peers"]} == {teacher.id, far.id}
    assert (await far.expect("peer-joined"))["peer"]["id"] == near.id
    # The replicas of nbconference serve share the lobby (docs/protocol.md, "The
    # lobby"): a newcomer on the other server waits too.
    other = await open_client(two.url, clients)
    await other.send({"type": "join", "room": "lab", "name": "Other"})
    await other.expect("waiting")


# -- from Python --------------------------------------------------------------------------


async def test_kernel_peers_run_the_lobby_or_are_told_not_host(
    standalone: Any, peers: list[Any]
) -> None:
    pytest.importorskip("aiortc")
    from nbconference import ConferenceWidget, KernelPeer, NotHost
    from nbconference.client import SignalingError

    url = standalone.url
    teacher = await KernelPeer.join("py", name="Teacher", url=url, token=STANDALONE_HOST_TOKEN)
    peers.append(teacher)
    await teacher.lock()
    await eventually(lambda: teacher.locked, 5.0, "the teacher to see the room locked")
    assert teacher.lobby == []

    # A student's join waits until the teacher lets them in.
    joining = asyncio.create_task(
        KernelPeer.join("py", name="Student", url=url, token=STANDALONE_TOKEN)
    )
    await eventually(lambda: len(teacher.lobby) == 1, 5.0, "the student in the lobby")
    (entry,) = teacher.lobby
    assert (entry["name"], entry["username"]) == ("Student", "")
    assert abs(entry["waiting_since"] - time.time()) < 60
    assert not joining.done()
    await teacher.admit(entry["id"])
    student = await asyncio.wait_for(joining, 10)
    peers.append(student)
    assert student.id == entry["id"] and student.status == "joined"
    assert student.hosts == [teacher.id] and student.lobby == [] and not student.locked
    await eventually(lambda: teacher.lobby == [], 5.0, "the lobby to empty")

    # Not a host: refused, and nothing changes.
    with pytest.raises(NotHost, match="only a host of room 'py' may unlock the room"):
        await student.unlock()
    assert teacher.locked

    # A stranger is turned away: their join fails, and says why.
    stranger = asyncio.create_task(
        KernelPeer.join("py", name="Stranger", url=url, token=STANDALONE_TOKEN)
    )
    await eventually(lambda: len(teacher.lobby) == 1, 5.0, "the stranger in the lobby")
    with pytest.raises(NotHost, match="may turn someone away"):
        await student.deny(teacher.lobby[0]["id"])
    await teacher.deny(teacher.lobby[0]["id"])
    with pytest.raises(SignalingError, match="Teacher did not let you in") as said:
        await asyncio.wait_for(stranger, 10)
    assert said.value.code == "denied"

    # A widget runs the lobby over the kernel's own socket, without joining.
    w = ConferenceWidget(room="py", signaling_url=url, token=STANDALONE_TOKEN)
    try:
        with pytest.raises(NotHost, match="may lock the room"):
            await w.lock()
    finally:
        w.close()
    w = ConferenceWidget(room="py", signaling_url=url, token=STANDALONE_HOST_TOKEN)
    try:
        await w.unlock()
        await eventually(lambda: not teacher.locked, 5.0, "the room unlocked")
    finally:
        w.close()


def test_the_widgets_lobby_is_what_its_host_viewers_see() -> None:
    from nbconference import ConferenceWidget

    w = ConferenceWidget(room="lab")
    waiting = [
        {"id": "g", "name": "Grace", "username": "grace", "waiting_since": 2_000},
        {"id": "n", "name": "New", "username": "", "waiting_since": 1_000},
    ]
    report(w, "a", [], host=True, lobby={"locked": True, "waiting": waiting[:1]})
    report(w, "b", [], lobby={"locked": False, "waiting": waiting})
    report(w, "c", [], status="waiting", lobby=None)
    assert w.locked is True
    assert w.lobby == [
        {"id": "n", "name": "New", "username": "", "waiting_since": 1.0},
        {"id": "g", "name": "Grace", "username": "grace", "waiting_since": 2.0},
    ]
    assert w.status == "joined"
    report(w, "a", [], status="left", lobby=None)
    report(w, "b", [], status="left", lobby=None)
    assert (w.lobby, w.locked, w.status) == ([], False, "waiting")
    w.close()
