"""Hosts and their powers, over real WebSockets: the Jupyter extension (people named by a
cookie, ``support.identity.NamedPeople``, and a ``room_access`` rule that names a host),
``nbconference serve`` with ``--host-token-file`` in a process of its own, and the Python
API (KernelPeer, ConferenceWidget) against a standalone server.

Who hosts: the first verified identity, the rule's hosts, the host token, whoever a host
makes one, and the longest present when the last host leaves. What a host may do: mute
(a state that crossed the mute cannot undo it; the person's own can), remove (closed for
good, banned until the ban ends; a socket that names nobody is closed and loses its
resume token), end the call, lower anyone's hand. Anyone else gets ``not-host`` and
nothing changes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from nbconference.identity import owner_username
from nbconference.protocol import CLOSE_ENDED, CLOSE_REMOVED
from nbconference.server.config import SignalingSettings
from nbconference.server.standalone import start_server
from support.client import Client, connect_url
from support.identity import PEOPLE, named_people_server
from support.janus import needs_janus
from support.polling import eventually
from support.signaling_fixtures import STANDALONE_HOST_TOKEN, STANDALONE_TOKEN, Connect
from support.standalone import ServeProcess, serve_refused
from test_widget import recording_comm

__all__ = ["recording_comm"]  # the widget's comm, recorded (the widget tests' fixture)

OWNER = owner_username()
# "class-*" names its host: Grace. Every other room is hosted by its first verified joiner.
RULES = [{"rooms": "class-*", "allow": ["*"], "hosts": ["grace"]}]
ADA, GRACE, ALAN = (PEOPLE[who].display_name for who in ("ada", "grace", "alan"))


@pytest.fixture
def jp_server_config(nbc_settings: dict[str, Any]) -> dict[str, Any]:
    # The rules are the extension's: the standalone server knows nobody.
    return named_people_server(nbc_settings, room_access=RULES)


async def done(client: Client, request: str) -> None:
    """The server answers ``request`` with ``done`` (room events may come first)."""
    await client.next_of("done", request=request)


async def answered(client: Client, request: str, *kinds: str) -> dict[str, dict[str, Any]]:
    """Frames until ``done`` for ``request`` and one of each of ``kinds`` (room events,
    which may come before or after the answer); the first of each kind."""
    seen: dict[str, dict[str, Any]] = {}
    while "done" not in seen or any(kind not in seen for kind in kinds):
        frame = await client.recv()
        assert frame["type"] != "error", frame
        if frame["type"] == "done":
            assert frame["request"] == request, frame
        seen.setdefault(frame["type"], frame)
    return seen


async def refused(client: Client, request: str, code: str = "not-host") -> dict[str, Any]:
    frame = await client.expect("error", code=code, request=request)
    assert frame["message"], frame
    return frame


async def room(as_browser: Connect, name: str, *people: str) -> list[Client]:
    """``people`` join room ``name`` in turn; each hears of the later ones."""
    joined: list[Client] = []
    for person in people:
        client = await as_browser(person)
        await client.join(name, person)
        for earlier in joined:
            await earlier.expect("peer-joined", timeout=5)
        joined.append(client)
    return joined


# -- who hosts ------------------------------------------------------------------------


async def test_the_first_verified_identity_hosts_and_hosts_pass_on(as_browser: Connect) -> None:
    ada = await as_browser("ada")
    welcome = await ada.join("lab", "Ada")
    assert welcome["peer"]["host"] is True
    alan = await as_browser("alan")
    welcome = await alan.join("lab", "Alan")
    assert "host" not in welcome["peer"]
    assert [p.get("host") for p in welcome["peers"]] == [True]
    joined = await ada.expect("peer-joined")
    assert "host" not in joined["peer"]
    grace = await as_browser("grace")
    await grace.join("lab", "Grace")
    for client in (ada, alan):
        await client.expect("peer-joined")

    # A host makes Alan a host too: everyone hears who the hosts are now.
    await ada.send({"type": "make-host", "peer": alan.id, "request": "r1"})
    assert (await answered(ada, "r1", "hosts"))["hosts"]["hosts"] == [ada.id, alan.id]
    for client in (alan, grace):
        assert (await client.expect("hosts"))["hosts"] == [ada.id, alan.id]
    # A newcomer's welcome marks both.
    late = await as_browser("ada")
    welcome = await late.join("lab", "Ada again")
    assert {p["id"] for p in welcome["peers"] if p.get("host")} == {ada.id, alan.id}
    assert "host" not in welcome["peer"]  # the same person, not the first: no host
    for client in (ada, alan, grace):
        await client.expect("peer-joined")

    # Ada leaves: Alan is still a host, so nothing changes. Alan leaves: nobody hosts,
    # and the participant present longest whose identity is verified (Grace) does.
    await ada.send({"type": "leave"})
    for client in (alan, grace, late):
        await client.expect("peer-left", id=ada.id)
    await alan.send({"type": "leave"})
    for client in (grace, late):
        await client.expect("peer-left", id=alan.id)
        assert (await client.expect("hosts"))["hosts"] == [grace.id]


async def test_a_rule_names_the_hosts(as_browser: Connect, jupyter_connect: Connect) -> None:
    ada, grace = await room(as_browser, "class-1", "ada", "grace")
    welcome_hosts = {ada.id: False, grace.id: True}
    late = await as_browser("alan")
    welcome = await late.join("class-1", "Alan")
    assert {p["id"]: p.get("host") is True for p in welcome["peers"]} == welcome_hosts
    # The server's owner (a notebook's code, the token alone) is not the rule's host.
    code = await jupyter_connect()
    await code.send({"type": "end-call", "room": "class-1", "request": "r1"})
    said = await refused(code, "r1")
    assert "class-1" in said["message"] and "1 host" in said["message"]
    # Grace, named by the rule, may act without joining (her kernel on a JupyterHub).
    again = await as_browser("grace")
    await again.send({"type": "mute", "room": "class-1", "peer": ada.id, "request": "r2"})
    await done(again, "r2")
    assert (await ada.next_of("muted"))["name"] == GRACE


async def test_anyone_but_a_host_is_refused_and_nothing_changes(as_browser: Connect) -> None:
    ada, alan = await room(as_browser, "lab", "ada", "alan")
    await ada.send({"type": "state", "state": {"hand": True, "microphone": True}})
    await alan.expect("peer-state", id=ada.id)
    await ada.expect("peer-state", id=ada.id)
    requests = [
        {"type": "mute", "peer": ada.id, "microphone": True, "camera": True},
        {"type": "remove", "peer": ada.id, "ban_minutes": 10},
        {"type": "end-call"},
        {"type": "make-host", "peer": alan.id},
        {"type": "lower-hand", "peer": ada.id},
    ]
    for n, request in enumerate(requests):
        # lower-hand carries no request id (the page does not wait for an answer).
        named = f"r{n}" if request["type"] != "lower-hand" else None
        await alan.send({**request, "request": named} if named else request)
        frame = await alan.expect("error", code="not-host")
        assert frame.get("request") == named
    await ada.silent(0.3)
    # Anyone may lower their own hand.
    await alan.send({"type": "state", "state": {"hand": True}})
    await ada.expect("peer-state", id=alan.id)
    await alan.send({"type": "lower-hand", "peer": alan.id})
    await ada.expect("peer-state", id=alan.id, by=alan.id)
    # Nothing changed: Ada is still in, the only host, unmuted, her hand up.
    late = await as_browser("grace")
    welcome = await late.join("lab", "Grace")
    (seen,) = [p for p in welcome["peers"] if p["id"] == ada.id]
    assert seen["host"] is True and seen["state"]["microphone"] is True
    assert seen["state"]["hand"] > 0
    assert [p["id"] for p in welcome["peers"] if p.get("host")] == [ada.id]


# -- the powers -----------------------------------------------------------------------


async def test_a_mute_holds_until_the_person_unmutes(
    as_browser: Connect, jupyter_connect: Connect
) -> None:
    ada, alan, grace = await room(as_browser, "lab", "ada", "alan", "grace")
    await alan.send({"type": "state", "state": {"microphone": True, "camera": True}})
    for client in (ada, grace):
        await client.expect("peer-state", id=alan.id)
    await ada.send({"type": "mute", "peer": alan.id, "request": "m1"})
    muted = {"type": "muted", "id": alan.id, "by": ada.id, "name": ADA}
    muted |= {"microphone": True, "camera": False}
    seen = await answered(ada, "m1", "peer-state", "muted")
    state = await grace.expect("peer-state", id=alan.id)
    assert state["state"] == seen["peer-state"]["state"]
    assert state["state"]["microphone"] is False and state["state"]["camera"] is True
    assert (await grace.expect("muted")) == seen["muted"] == muted
    # Alan hears of the mute itself (his page turns the microphone off and says who).
    assert (await alan.expect("muted")) == muted

    # A state Alan sent before he heard of it (microphone on) cannot undo the mute.
    await alan.send({"type": "state", "state": {"microphone": True, "camera": True}})
    await alan.send({"type": "state", "state": {"microphone": False, "camera": True}})
    await grace.silent(0.3)
    # Once his page has turned it off, his own word turns it on again.
    await alan.send({"type": "state", "state": {"microphone": True, "camera": True}})
    state = await grace.expect("peer-state", id=alan.id)
    assert state["state"]["microphone"] is True

    # The notebook's code (the server's owner, not joined) mutes his camera.
    code = await jupyter_connect()
    mute = {"type": "mute", "room": "lab", "peer": alan.id, "microphone": False, "camera": True}
    await code.send({**mute, "request": "m2"})
    await done(code, "m2")
    frame = await alan.expect("muted")
    assert (frame["by"], frame["name"], frame["camera"]) == ("", f"{OWNER}'s notebook", True)


async def test_removed_is_closed_for_good_and_kept_out_until_the_ban_ends(
    as_browser: Connect,
) -> None:
    ada, alan, grace = await room(as_browser, "lab", "ada", "alan", "grace")
    # A ban of 1.2 s.
    await ada.send({"type": "remove", "peer": alan.id, "ban_minutes": 0.02, "request": "x"})
    code, reason = await alan.closed()
    assert code == CLOSE_REMOVED
    assert reason == f"{ADA} removed you from the call; you may rejoin in 0.02 minutes"
    await answered(ada, "x", "peer-left")
    await grace.expect("peer-left", id=alan.id)
    # Back with his resume token or without: his identity is kept out.
    for resume in (alan.resume, None):
        back = await as_browser("alan")
        await back.send({"type": "join", "room": "lab", "name": "Alan", "resume": resume})
        said = await back.expect_error("banned")
        assert said["message"] == (
            "a host removed you from room 'lab'; you may join it again in 1 minute"
        )
    # Another room is open to him, and so is this one once the ban ends.
    elsewhere = await as_browser("alan")
    await elsewhere.join("hall", "Alan")
    await asyncio.sleep(1.3)
    back = await as_browser("alan")
    welcome = await back.join("lab", "Alan")
    assert welcome["resumed"] is False and welcome["id"] != alan.id
    # A host cannot remove themselves: they leave.
    await ada.send({"type": "remove", "peer": ada.id, "request": "y"})
    await ada.next_of("error", code="bad-message", request="y")


async def test_ending_the_call_closes_every_socket_for_good(as_browser: Connect) -> None:
    ada, alan, grace = await room(as_browser, "lab", "ada", "alan", "grace")
    await ada.send({"type": "end-call", "request": "end"})
    await done(ada, "end")
    for client in (ada, alan, grace):
        assert await client.closed() == (CLOSE_ENDED, f"{ADA} ended the call for everyone")
    # The room is empty: whoever comes next starts a new call, and hosts it.
    fresh = await as_browser("alan")
    welcome = await fresh.join("lab", "Alan")
    assert welcome["peers"] == [] and welcome["peer"]["host"] is True


# -- nbconference serve and its host token --------------------------------------------


async def test_serve_hosts_the_sockets_of_its_host_token(tmp_path: Path) -> None:
    host_token = "the-host-token-0123456789"
    token_file = tmp_path / "host-token"
    token_file.write_text(host_token + "\n")
    same = tmp_path / "same"
    with ServeProcess(f"--host-token-file={token_file}") as serve:
        same.write_text(serve.token + "\n")
        host = Client(await connect_url(f"{serve.url}?token={host_token}"))
        guest = Client(await connect_url(serve.url_with_token))
        try:
            welcome = await host.join("lab", "Teacher")
            assert welcome["peer"]["host"] is True and welcome["peer"]["user"] is None
            welcome = await guest.join("lab", "Guest")
            assert "host" not in welcome["peer"]
            await host.expect("peer-joined")
            await guest.send({"type": "mute", "peer": host.id, "request": "g"})
            await refused(guest, "g")
            # A socket that names nobody cannot be banned (sockets share the token): it
            # is closed for good, and its resume token dies with it.
            await host.send({"type": "remove", "peer": guest.id, "request": "h"})
            code, reason = await guest.closed()
            assert (code, reason) == (CLOSE_REMOVED, "Teacher removed you from the call")
            back = Client(await connect_url(serve.url_with_token))
            welcome = await back.join("lab", "Guest", resume=guest.resume)
            assert welcome["resumed"] is False and welcome["id"] != guest.id
            back.close()
        finally:
            host.close()
            guest.close()
    said = serve_refused(f"--host-token-file={same}", f"--token-file={same}")
    assert "--host-token-file: the host token must differ from the token" in said
    (tmp_path / "short").write_text("short\n")
    said = serve_refused(f"--host-token-file={tmp_path / 'short'}")
    assert "at least 16 characters" in said


# -- from Python ----------------------------------------------------------------------


async def test_kernel_peers_and_widgets_use_the_powers_or_are_told_not_host(
    standalone: Any, standalone_connect: Connect, peers: list[Any]
) -> None:
    pytest.importorskip("aiortc")
    from nbconference import ConferenceWidget, KernelPeer, NotHost

    url = standalone.url
    guest = await standalone_connect()
    await guest.join("py", "Guest")
    teacher = await KernelPeer.join("py", name="Teacher", url=url, token=STANDALONE_HOST_TOKEN)
    peers.append(teacher)
    student = await KernelPeer.join("py", name="Student", url=url, token=STANDALONE_TOKEN)
    peers.append(student)
    assert teacher.hosts == [teacher.id]
    await eventually(lambda: student.hosts == [teacher.id], 5.0, "the student sees the host")
    assert [p["host"] for p in student.peers] == [False, True]  # guest, teacher

    await teacher.mute(guest.id)
    assert (await guest.next_of("muted"))["name"] == "Teacher"
    with pytest.raises(NotHost, match="only a host of room 'py' may mute someone"):
        await student.mute(teacher.id)
    assert isinstance(NotHost("x"), PermissionError)

    # A widget acts over the kernel's own socket, without joining, with its token.
    refused_widget = ConferenceWidget(room="py", signaling_url=url, token=STANDALONE_TOKEN)
    try:
        with pytest.raises(NotHost, match="may remove someone"):
            await refused_widget.remove(teacher.id)
    finally:
        refused_widget.close()
    w = ConferenceWidget(room="py", signaling_url=url, token=STANDALONE_HOST_TOKEN)
    try:
        await w.make_host(guest.id)
        await eventually(
            lambda: set(teacher.hosts) == {teacher.id, guest.id}, 5.0, "the guest a host"
        )
        with pytest.raises(ValueError, match="ban_minutes"):
            await w.remove(student.id, ban_minutes=-1)
        await w.end_call()
        assert await guest.closed() == (CLOSE_ENDED, "a host ended the call for everyone")
        await eventually(lambda: student.status == "error", 5.0, "the student's call to end")
        assert "ended the call for everyone" in student.error
    finally:
        w.close()


# -- on the SFU, Janus enforces a mute --------------------------------------------------


async def frames_stop(track: Any, gap: float = 1.5, within: float = 10.0) -> bool:
    """Whether no frame comes from ``track`` for ``gap`` seconds, within ``within``."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        try:
            await asyncio.wait_for(track.recv(), gap)
        except asyncio.TimeoutError:
            return True
    return False


@needs_janus
async def test_on_the_sfu_janus_stops_forwarding_a_muted_camera_until_it_comes_back() -> None:

    from support.janus import Recording, loopback_config, publish_camera, rtc, subscribe_to

    settings = SignalingSettings(sfu="janus", janus_rtp_port_range=loopback_config().rtp_port_range)
    server = await start_server(
        settings, port=0, token=STANDALONE_TOKEN, host_token=STANDALONE_HOST_TOKEN
    )
    connections: list[Any] = []
    try:
        alice = Recording(await connect_url(f"{server.url}?token={STANDALONE_TOKEN}"))
        bob = Recording(await connect_url(f"{server.url}?token={STANDALONE_TOKEN}"))
        host = Client(await connect_url(f"{server.url}?token={STANDALONE_HOST_TOKEN}"))
        await alice.join("lab", "Alice", state={"camera": True})
        await bob.join("lab", "Bob")
        publisher, mid = await publish_camera(alice)
        connections.append(publisher)
        await bob.next_of("sfu-feeds")
        subscriber = rtc()
        connections.append(subscriber)
        track = await subscribe_to(bob, subscriber, alice.id, mid)

        # Alice keeps sending: Janus, not her client, stops her camera reaching Bob.
        mute = {"type": "mute", "room": "lab", "peer": alice.id, "camera": True}
        await host.send({**mute, "microphone": False, "request": "m"})
        await host.next_of("done", request="m")
        assert await frames_stop(track), "Janus kept forwarding the muted camera"
        # Once her own word has turned it off and on again, it is forwarded again.
        await alice.send({"type": "state", "state": {"camera": False}})
        await alice.send({"type": "state", "state": {"camera": True}})
        await asyncio.wait_for(track.recv(), 10)
        for client in (alice, bob, host):
            client.close()
    finally:
        for connection in connections:
            await connection.close()
        await server.stop()
