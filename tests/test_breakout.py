"""Breakout rooms (issue 22), over real WebSockets: ``nbconference serve`` with its host
token, the Jupyter extension with people named by a cookie (``support.identity``), and
the Python API (KernelPeer, ConferenceWidget) against a standalone server.

A host splits the room: each assigned peer is moved on its own socket (``moved``, then a
welcome to its group's room with the same id), hears only its group, and comes back when
a host ends the breakout or the time is up. Anyone but a host gets ``not-host`` and
nothing moves; bad requests are refused before anyone moves; a group room admits only
those a host put in it, the main room's hosts, and a peer resuming its place.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from nbconference.protocol import CLOSE_ENDED, breakout_room
from nbconference.server.config import SignalingSettings
from nbconference.server.standalone import start_server
from support.client import Client, connect_url
from support.identity import named_people_server
from support.janus import loopback_config, needs_janus
from support.polling import eventually
from support.signaling_fixtures import STANDALONE_HOST_TOKEN, STANDALONE_TOKEN, Connect
from test_hosts import answered, refused, room
from test_widget import recording_comm, report

__all__ = ["recording_comm"]  # the widget's comm, recorded (the widget tests' fixture)

G1, G2 = breakout_room("lab", "g1"), breakout_room("lab", "g2")


@pytest.fixture
def jp_server_config(nbc_settings: dict[str, Any]) -> dict[str, Any]:
    return named_people_server(nbc_settings)


async def class_of(connect: Connect, *names: str) -> list[Client]:
    """A host (the host token) and ``names`` join room "lab" in turn; each hears of the
    later ones."""
    host = await connect(token=STANDALONE_HOST_TOKEN)
    welcome = await host.join("lab", "Teacher")
    assert welcome["peer"]["host"] is True
    joined = [host]
    for name in names:
        client = await connect()
        await client.join("lab", name)
        for earlier in joined:
            await earlier.next_of("peer-joined")
        joined.append(client)
    return joined


async def moved(client: Client, room: str, group: str) -> dict[str, Any]:
    """``client`` is moved to ``room``: ``moved``, then at once its welcome there, with
    its id."""
    frame = await client.next_of("moved", room=room)
    assert frame == {"type": "moved", "room": room, "group": group, "main": "lab"}
    welcome = await client.expect("welcome", room=room)
    assert welcome["id"] == client.id and welcome["resumed"] is False
    client.resume = welcome["resume"]
    return welcome


def placed(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with the stand-ins ("BOB") replaced by the ids they stand for."""
    if isinstance(value, dict):
        return {key: placed(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [placed(item, ids) for item in value]
    return ids.get(value, value) if isinstance(value, str) else value


async def drain(client: Client, seconds: float = 0.3) -> list[dict[str, Any]]:
    """Every frame that arrives within ``seconds``."""
    frames = []
    try:
        while True:
            frames.append(await client.recv(seconds))
    except asyncio.TimeoutError:
        return frames


# -- the core: split, hear only your group, come back -------------------------------------


async def test_a_breakout_moves_each_peer_into_its_group_and_back(
    standalone_connect: Connect,
) -> None:
    host, bob, cy, dee = await class_of(standalone_connect, "Bob", "Cy", "Dee")
    groups = {"g1": [bob.id, cy.id], "g2": [dee.id]}
    await host.send({"type": "breakout", "groups": groups, "minutes": 5, "request": "r1"})
    seen = await answered(host, "r1", "breakouts")
    assert seen["breakouts"]["groups"] == groups and seen["breakouts"]["main"] == "lab"
    assert 290 < seen["breakouts"]["seconds_left"] <= 300

    welcome = await moved(bob, G1, "g1")
    assert welcome["peers"] == [] and welcome["peer"]["name"] == "Bob"
    assert "host" not in welcome["peer"]
    welcome = await moved(cy, G1, "g1")
    assert [p["id"] for p in welcome["peers"]] == [bob.id]
    welcome = await moved(dee, G2, "g2")
    assert welcome["peers"] == []
    for client in (bob, cy, dee):
        frame = await client.next_of("breakouts")
        assert frame["groups"] == groups and frame["seconds_left"] > 290
    # Bob's group hears Cy arrive; the main room heard all three go.
    assert (await bob.next_of("peer-joined"))["peer"]["id"] == cy.id

    # Each group is a room of its own: Bob reaches Cy, not Dee nor the host.
    await bob.signal(cy)
    assert (await cy.next_of("signal"))["from"] == bob.id
    for other in (dee, host):
        await bob.signal(other)
        await bob.expect_error("unknown-peer")
    await bob.send({"type": "chat", "text": "only g1 hears this"})
    for client in (bob, cy):
        assert (await client.next_of("chat"))["text"] == "only g1 hears this"
    assert [f["type"] for f in await drain(dee)] == []
    assert {f["type"] for f in await drain(host)} <= {"peer-left"}

    # The host ends it: everyone is moved back, with their ids, and hears it ended.
    await host.send({"type": "end-breakout", "request": "r2"})
    for client in (bob, cy, dee):
        await moved(client, "lab", "")
    await host.next_of("done", request="r2")
    frame = await bob.next_of("breakouts")
    assert frame == {
        "type": "breakouts",
        "main": "lab",
        "groups": {},
        "seconds_left": 0,
        "help": [],
    }
    late = await standalone_connect()
    welcome = await late.join("lab", "Late")
    assert {p["id"] for p in welcome["peers"]} == {host.id, bob.id, cy.id, dee.id}
    # Ending again changes nothing.
    await host.send({"type": "end-breakout", "request": "r3"})
    await host.next_of("done", request="r3")


async def test_the_time_up_brings_everyone_back(standalone_connect: Connect) -> None:
    host, bob, cy, dee = await class_of(standalone_connect, "Bob", "Cy", "Dee")
    # Dealt in the order they came, the host aside: group-1 Bob and Dee, group-2 Cy.
    await host.send({"type": "breakout", "n_groups": 2, "minutes": 0.03, "request": "r1"})
    seen = await answered(host, "r1", "breakouts")
    assert seen["breakouts"]["groups"] == {"group-1": [bob.id, dee.id], "group-2": [cy.id]}
    await moved(bob, breakout_room("lab", "group-1"), "group-1")
    await moved(cy, breakout_room("lab", "group-2"), "group-2")
    await moved(dee, breakout_room("lab", "group-1"), "group-1")
    for client in (bob, cy, dee):
        await moved(client, "lab", "")
    frame = await host.next_of("breakouts")
    assert frame["groups"] == {} and frame["seconds_left"] == 0
    # Gone with the breakout: its group rooms are closed, and a join naming one (a page
    # that was away) is a join to the main room.
    late = await standalone_connect(token=STANDALONE_HOST_TOKEN)
    await late.send({"type": "join", "room": breakout_room("lab", "group-1"), "name": "X"})
    assert (await late.next_of("moved"))["room"] == "lab"
    welcome = await late.expect("welcome", room="lab")
    assert {p["id"] for p in welcome["peers"]} == {host.id, bob.id, cy.id, dee.id}


async def test_ending_the_call_ends_it_in_the_groups_too(standalone_connect: Connect) -> None:
    host, bob, cy = await class_of(standalone_connect, "Bob", "Cy")
    await host.send({"type": "breakout", "groups": {"g1": [bob.id]}, "request": "r1"})
    await answered(host, "r1", "breakouts")
    await moved(bob, G1, "g1")
    await host.send({"type": "end-call", "request": "r2"})
    for client in (host, bob, cy):
        code, reason = await client.closed()
        assert code == CLOSE_ENDED and reason == "Teacher ended the call for everyone"
    # The group is closed with the breakout: a join naming it starts the main room anew.
    late = await standalone_connect(token=STANDALONE_HOST_TOKEN)
    await late.send({"type": "join", "room": G1, "name": "Late"})
    assert (await late.next_of("moved"))["room"] == "lab"
    assert (await late.expect("welcome", room="lab"))["peers"] == []


@needs_janus
async def test_each_group_takes_the_plane_of_its_size(clients: list[Client]) -> None:
    """From a room on the SFU (five, past mesh_max_peers=4), groups of two and three are
    meshes; back together, the room is on the SFU again."""
    settings = SignalingSettings(sfu="janus", janus_rtp_port_range=loopback_config().rtp_port_range)
    server = await start_server(
        settings, port=0, token=STANDALONE_TOKEN, host_token=STANDALONE_HOST_TOKEN
    )
    try:

        async def connect(token: str = STANDALONE_TOKEN) -> Client:
            client = Client(await connect_url(f"{server.url}?token={token}"))
            clients.append(client)
            return client

        host, a, b, c, d = await class_of(connect, "A", "B", "C", "D")
        assert server.registry.planes.of("lab") == "sfu"
        groups = {"g1": [a.id, b.id], "g2": [c.id, d.id]}
        await host.send({"type": "breakout", "groups": groups, "request": "r1"})
        await answered(host, "r1", "breakouts")
        for client, room, group in ((a, G1, "g1"), (b, G1, "g1"), (c, G2, "g2"), (d, G2, "g2")):
            assert (await moved(client, room, group))["media"] == "mesh"
        await host.send({"type": "end-breakout", "request": "r2"})
        for client in (a, b, c, d):
            assert (await moved(client, "lab", ""))["media"] == "sfu"
    finally:
        await server.stop()


# -- refusals ---------------------------------------------------------------------------


async def test_anyone_but_a_host_is_refused_and_nothing_moves(standalone_connect: Connect) -> None:
    host, bob, cy = await class_of(standalone_connect, "Bob", "Cy")
    requests = [
        {"type": "breakout", "groups": {"g1": [bob.id, cy.id]}},
        {"type": "breakout", "n_groups": 1, "minutes": 1},
        {"type": "end-breakout"},
    ]
    for n, request in enumerate(requests):
        await bob.send({**request, "request": f"r{n}"})
        said = await refused(bob, f"r{n}")
        assert "only a host of room 'lab'" in said["message"]
    assert await drain(host) == [] and await drain(cy) == []
    late = await standalone_connect()
    welcome = await late.join("lab", "Late")
    assert {p["id"] for p in welcome["peers"]} == {host.id, bob.id, cy.id}


@pytest.mark.parametrize(
    ("split", "code", "said"),
    [
        ({"groups": {}}, "bad-message", "'groups' must map"),
        ({"groups": {"g1": []}}, "bad-message", "at least one peer"),
        ({"groups": {"no spaces": ["BOB"]}}, "bad-message", "group name"),
        ({"groups": {"g" * 17: ["BOB"]}}, "bad-message", "group name"),
        ({"groups": {"g1": ["BOB"], "g2": ["BOB"]}}, "bad-message", "in two groups"),
        ({"groups": {"g1": [3]}}, "bad-message", "must list peer ids"),
        ({"groups": ["BOB"]}, "bad-message", "'groups' must map"),
        ({"groups": {f"g{n}": [f"p{n}"] for n in range(21)}}, "bad-message", "at most 20"),
        ({"groups": {"g1": ["nobody"]}}, "unknown-peer", "no peer 'nobody'"),
        ({"groups": {"g1": ["BOB", "nobody"]}}, "unknown-peer", "no peer 'nobody'"),
        ({"groups": {"g1": ["REC"]}}, "not-allowed", "recorder stays"),
        ({"n_groups": 0}, "bad-message", "'n_groups' must be"),
        ({"n_groups": 21}, "bad-message", "'n_groups' must be"),
        ({"n_groups": 1.5}, "bad-message", "whole number"),
        ({"n_groups": 3}, "bad-message", "not enough for 3 groups"),
        ({"n_groups": 1, "groups": {"g1": ["BOB"]}}, "bad-message", "not both"),
        ({}, "bad-message", "not both"),
        ({"n_groups": 1, "minutes": 0}, "bad-message", "'minutes'"),
        ({"n_groups": 1, "minutes": -5}, "bad-message", "'minutes'"),
        ({"n_groups": 1, "minutes": 0.001}, "bad-message", "'minutes'"),
        ({"n_groups": 1, "minutes": 1e9}, "bad-message", "'minutes'"),
        ({"n_groups": 1, "minutes": "10"}, "bad-message", "'minutes'"),
        ({"n_groups": 1, "minutes": True}, "bad-message", "'minutes'"),
    ],
)
async def test_a_bad_breakout_is_refused_before_anyone_moves(
    standalone_connect: Connect, split: dict[str, Any], code: str, said: str
) -> None:
    host, bob, cy = await class_of(standalone_connect, "Bob", "Cy")
    recorder = await standalone_connect()
    await recorder.join("lab", "Recorder", kind="recorder")
    for client in (host, bob, cy):
        await client.next_of("peer-joined")
    ids = {"BOB": bob.id, "REC": recorder.id}
    request = {"type": "breakout", **placed(split, ids), "request": "r1"}
    await host.send(request)
    frame = await refused(host, "r1", code)
    assert said in frame["message"], frame
    for client in (bob, cy, recorder):
        assert await drain(client, 0.2) == []


async def test_one_breakout_at_a_time(standalone_connect: Connect) -> None:
    host, bob, cy = await class_of(standalone_connect, "Bob", "Cy")
    await host.send({"type": "breakout", "groups": {"g1": [bob.id]}, "request": "r1"})
    await answered(host, "r1", "breakouts")
    await host.send({"type": "breakout", "groups": {"g2": [cy.id]}, "request": "r2"})
    assert "already" in (await refused(host, "r2", "not-allowed"))["message"]
    await moved(bob, G1, "g1")
    assert [f["type"] for f in await drain(cy)] == ["peer-left", "breakouts"]


# -- who may enter a group room ---------------------------------------------------------


async def test_a_group_room_admits_only_its_members_and_hosts(standalone_connect: Connect) -> None:
    # Before any breakout, a group room's name is closed to everyone.
    early = await standalone_connect(token=STANDALONE_HOST_TOKEN)
    await early.send({"type": "join", "room": G1, "name": "Early"})
    await early.expect_error("not-allowed")

    host, bob, _ = await class_of(standalone_connect, "Bob", "Cy")
    await host.send({"type": "breakout", "groups": {"g1": [bob.id]}, "request": "r1"})
    await answered(host, "r1", "breakouts")
    await moved(bob, G1, "g1")

    # Naming the room is not enough: Cy (in the main room) and a stranger are refused.
    stranger = await standalone_connect()
    await stranger.send({"type": "join", "room": G1, "name": "Stranger"})
    said = await stranger.expect_error("not-allowed")
    assert "only those a host put in breakout group 'g1'" in said["message"]
    # A recorder never enters a group.
    spy = await standalone_connect(token=STANDALONE_HOST_TOKEN)
    await spy.send({"type": "join", "room": G1, "name": "Rec", "kind": "recorder"})
    assert "not recorded" in (await spy.expect_error("not-allowed"))["message"]
    assert [f["type"] for f in await drain(bob)] == ["breakouts"]

    # A host visits, and hosts there.
    visitor = await standalone_connect(token=STANDALONE_HOST_TOKEN)
    welcome = await visitor.join(G1, "Visiting teacher")
    assert welcome["peer"]["host"] is True
    assert [p["id"] for p in welcome["peers"]] == [bob.id]
    assert (await visitor.next_of("breakouts"))["groups"] == {"g1": [bob.id]}
    assert (await bob.next_of("peer-joined"))["peer"]["id"] == visitor.id

    # Bob's socket drops: he resumes his place in the group, with his id.
    bob.drop()
    back = await standalone_connect()
    welcome = await back.join(G1, "Bob", resume=bob.resume)
    assert welcome["resumed"] is True and welcome["id"] == bob.id

    # When it ends, the visitor comes back to the main room too.
    await host.send({"type": "end-breakout", "request": "r2"})
    back.id = bob.id
    for client in (back, visitor):
        await moved(client, "lab", "")


async def test_an_identity_a_host_put_in_a_group_may_rejoin_it_and_no_other(
    as_browser: Connect,
) -> None:
    ada, alan, grace = await room(as_browser, "lab", "ada", "alan", "grace")
    await ada.send(
        {"type": "breakout", "groups": {"g1": [alan.id], "g2": [grace.id]}, "request": "r1"}
    )
    await answered(ada, "r1", "breakouts")
    await moved(alan, G1, "g1")
    # Alan in another tab (his page back after its grace window): his own group only.
    again = await as_browser("alan")
    await again.send({"type": "join", "room": G2, "name": "Alan"})
    await again.expect_error("not-allowed")
    other = await as_browser("alan")
    welcome = await other.join(G1, "Alan")
    assert "host" not in welcome["peer"]
    # Nobody hosts a group by coming first: Ada (the main room's host) does, visiting.
    visit = await as_browser("ada")
    welcome = await visit.join(G2, "Ada")
    assert welcome["peer"]["host"] is True
    # A host in a group ends the breakout of its main room.
    await visit.send({"type": "end-breakout", "request": "r2"})
    await visit.next_of("done", request="r2")
    await moved(alan, "lab", "")


async def test_a_page_away_when_its_group_closed_comes_back_to_the_main_room(
    standalone: Any, standalone_connect: Connect
) -> None:
    host, bob, cy = await class_of(standalone_connect, "Bob", "Cy")
    await host.send({"type": "breakout", "groups": {"g1": [bob.id, cy.id]}, "request": "r1"})
    await answered(host, "r1", "breakouts")
    await moved(bob, G1, "g1")
    await moved(cy, G1, "g1")
    bob.drop()  # Bob's network goes while he is in the group
    await eventually(
        lambda: standalone.registry.local[bob.id].transport is None, 5, "the server to see it"
    )
    await host.send({"type": "end-breakout", "request": "r2"})
    await host.next_of("done", request="r2")
    await moved(cy, "lab", "")
    # His page comes back naming the room it was in, with a token whose place is gone:
    # it is sent to the main room, as the others were, not refused.
    back = await standalone_connect()
    await back.send({"type": "join", "room": G1, "name": "Bob", "resume": bob.resume})
    frame = await back.next_of("moved")
    assert frame == {"type": "moved", "room": "lab", "group": "", "main": "lab"}
    welcome = await back.expect("welcome", room="lab")
    assert {p["id"] for p in welcome["peers"]} == {host.id, cy.id}
    # A group room that never was is still refused.
    stranger = await standalone_connect()
    await stranger.send({"type": "join", "room": breakout_room("lab", "g9"), "name": "X"})
    await stranger.expect_error("not-allowed")


async def test_a_host_visits_a_group_and_comes_back(standalone_connect: Connect) -> None:
    host, bob, cy = await class_of(standalone_connect, "Bob", "Cy")
    await host.send({"type": "visit", "group": "g1", "request": "r0"})
    assert "no breakout" in (await refused(host, "r0", "not-allowed"))["message"]
    groups = {"g1": [bob.id], "g2": [cy.id]}
    await host.send({"type": "breakout", "groups": groups, "request": "r1"})
    await answered(host, "r1", "breakouts")
    await moved(bob, G1, "g1")
    await moved(cy, G2, "g2")
    await bob.next_of("breakouts")
    await bob.send({"type": "visit", "group": "g2", "request": "r2"})
    await refused(bob, "r2")
    await host.send({"type": "visit", "group": "nope", "request": "r3"})
    assert "no group 'nope'" in (await refused(host, "r3", "bad-message"))["message"]

    # The host moves itself into g1: Bob sees it come, and it hosts there.
    await host.send({"type": "visit", "group": "g1", "request": "r4"})
    welcome = await moved(host, G1, "g1")
    assert welcome["peer"]["host"] is True and [p["id"] for p in welcome["peers"]] == [bob.id]
    await host.next_of("done", request="r4")
    assert (await bob.next_of("peer-joined"))["peer"]["id"] == host.id
    # On to g2, then back to the main room.
    await host.send({"type": "visit", "group": "g2", "request": "r5"})
    welcome = await moved(host, G2, "g2")
    assert [p["id"] for p in welcome["peers"]] == [cy.id]
    assert (await bob.next_of("peer-left"))["id"] == host.id
    await host.send({"type": "visit", "group": "", "request": "r6"})
    welcome = await moved(host, "lab", "")
    assert welcome["peers"] == []
    await host.next_of("done", request="r6")
    # The breakout goes on meanwhile; its end brings Bob and Cy back to the host.
    await host.send({"type": "end-breakout", "request": "r7"})
    for client in (bob, cy):
        await moved(client, "lab", "")


async def test_a_hand_raised_in_a_group_asks_the_main_room_for_help(
    standalone_connect: Connect,
) -> None:
    host, bob, cy = await class_of(standalone_connect, "Bob", "Cy")
    await host.send({"type": "breakout", "groups": {"g1": [bob.id]}, "request": "r1"})
    seen = await answered(host, "r1", "breakouts")
    assert seen["breakouts"]["help"] == []
    assert (await cy.next_of("breakouts"))["help"] == []
    await moved(bob, G1, "g1")
    await bob.next_of("breakouts")
    await bob.send({"type": "state", "state": {"hand": True}})
    hand = (await bob.next_of("peer-state", id=bob.id))["state"]["hand"]
    assert isinstance(hand, int) and hand > 0
    for client in (host, cy, bob):
        frame = await client.next_of("breakouts")
        assert frame["help"] == [{"id": bob.id, "name": "Bob", "group": "g1", "hand": hand}]
    # The host visits, and lowers it there: nobody asks any more.
    await host.send({"type": "visit", "group": "g1", "request": "r2"})
    await moved(host, G1, "g1")
    await host.send({"type": "lower-hand", "peer": bob.id})
    assert (await cy.next_of("breakouts"))["help"] == []
    # A hand raised in a group stays there: back in the main room, it is down.
    await bob.send({"type": "state", "state": {"hand": True}})
    assert len((await cy.next_of("breakouts"))["help"]) == 1
    await host.send({"type": "end-breakout", "request": "r3"})
    welcome = await moved(bob, "lab", "")
    assert welcome["peer"]["state"].get("hand") is False


# -- from Python ---------------------------------------------------------------------------


async def test_kernel_peers_split_the_room_and_come_back(standalone: Any, peers: list[Any]) -> None:
    pytest.importorskip("aiortc")
    from nbconference import ConferenceWidget, KernelPeer, NotHost
    from nbconference.client import SignalingError

    url = standalone.url
    teacher = await KernelPeer.join("py", name="Teacher", url=url, token=STANDALONE_HOST_TOKEN)
    peers.append(teacher)
    students = []
    for name in ("Ann", "Ben", "Col"):
        student = await KernelPeer.join("py", name=name, url=url, token=STANDALONE_TOKEN)
        peers.append(student)
        students.append(student)
    ann, ben, col = students
    await eventually(lambda: len(teacher.peers) == 3, 10.0, "the class in the room")
    assert teacher.breakouts == {}

    # Checked before anything is sent.
    for bad in ({"a": []}, {"bad name": [ann.id]}, {}):
        with pytest.raises(ValueError):
            await teacher.breakout(bad)
    with pytest.raises(ValueError, match="minutes"):
        await teacher.breakout({"a": [ann.id]}, minutes=0)
    with pytest.raises(ValueError, match="not both"):
        await teacher.breakout({"a": [ann.id]}, n_groups=2)
    with pytest.raises(SignalingError, match="no peer 'nobody'"):
        await teacher.breakout({"a": ["nobody"]})
    with pytest.raises(NotHost, match="only a host of room 'py'"):
        await ann.breakout(n_groups=2)

    groups = {"a": [ann.id, ben.id], "b": [col.id]}
    await teacher.breakout(groups, minutes=10)
    await eventually(lambda: teacher.breakouts == groups, 5.0, "the teacher's breakouts")
    await eventually(lambda: ann.group == "a" and col.group == "b", 5.0, "the moves")
    await eventually(
        lambda: {p["id"] for p in ann.peers} == {ben.id} and col.peers == [],
        5.0,
        "each student to see only their group",
    )
    assert ann.id == groups["a"][0] and ann.breakouts == groups
    await eventually(lambda: teacher.peers == [], 5.0, "the main room to empty")
    with pytest.raises(NotHost):
        await ben.end_breakout()
    with pytest.raises(NotHost):
        await ben.visit("b")
    # The teacher visits group a, and comes back.
    await teacher.visit("a")
    await eventually(
        lambda: teacher.group == "a" and {p["id"] for p in teacher.peers} == {ann.id, ben.id},
        5.0,
        "the teacher in group a",
    )
    await teacher.visit()
    await eventually(lambda: teacher.group == "" and teacher.peers == [], 5.0, "back")

    # A widget on the kernel's own socket ends it, without joining.
    w = ConferenceWidget(room="py", signaling_url=url, token=STANDALONE_HOST_TOKEN)
    try:
        await w.end_breakout()
    finally:
        w.close()
    await eventually(
        lambda: {p["id"] for p in ann.peers} == {teacher.id, ben.id, col.id},
        10.0,
        "everyone back in the main room",
    )
    await eventually(
        lambda: (ann.group, ann.breakouts, teacher.breakouts) == ("", {}, {}),
        5.0,
        "the breakout over for everyone",
    )
    await teacher.breakout(n_groups=3, minutes=0.02)
    await eventually(lambda: col.group.startswith("group-"), 5.0, "dealt into groups")
    await eventually(lambda: col.group == "" and len(col.peers) == 3, 10.0, "the time up")


def test_the_widgets_breakouts_are_what_its_viewers_see() -> None:
    from nbconference import ConferenceWidget

    w = ConferenceWidget(room="lab")
    groups = {"g1": ["a", "b"], "g2": ["c"]}
    assert w.breakouts == {}
    report(w, "a", [], breakout={"groups": groups, "group": "g1", "ends_at": 1})
    assert w.breakouts == groups
    report(w, "a", [], breakout=None)
    assert w.breakouts == {}
    w.close()
