"""What KernelPeer and Recorder share (peer/participant.py), over the real standalone
server: ``peers`` as the widget's records, ``links`` for the media side, callbacks that
hear of each peer once, the deprecated dict access, and a user lookup without the UI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiortc")

from nbconference import Recorder
from nbconference.peer import KernelPeer, PeerRecord, RemotePeer
from nbconference.server.standalone import StandaloneServer
from nbconference.viewers import Viewers, peer_record
from support.polling import eventually


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    # Shorter than the client's first reconnect delay (0.5 s): a dropped peer comes back
    # as a new one, while the others stay.
    return {"reconnect_grace_seconds": 0.1}


@pytest.fixture
async def joined() -> AsyncIterator[list[KernelPeer | Recorder]]:
    """Participants a test joins; every one leaves afterwards, even on failure."""
    them: list[KernelPeer | Recorder] = []
    yield them
    await asyncio.gather(*(p.leave() for p in them))


async def kernel_peer(
    standalone: StandaloneServer, joined: list[KernelPeer | Recorder], name: str
) -> KernelPeer:
    peer = await KernelPeer.join("lab", name=name, url=standalone.url, token=standalone.token)
    joined.append(peer)
    return peer


def ids(records: list[PeerRecord]) -> list[str]:
    return [record["id"] for record in records]


async def test_peers_are_the_widgets_records_and_links_the_media_side(
    standalone: StandaloneServer, joined: list[KernelPeer | Recorder], tmp_path: Path
) -> None:
    ada = await kernel_peer(standalone, joined, "Ada Lovelace")
    bob = await kernel_peer(standalone, joined, "bob")
    rec = await Recorder.start(
        "lab", tmp_path, name="Grace", url=standalone.url, token=standalone.token
    )
    joined.append(rec)
    await eventually(lambda: ids(ada.peers) == [bob.id], 10, "Ada to see Bob")
    await eventually(lambda: ada.recording and bob.recording, 10, "both to see the recorder")

    # The widget's records, as it builds them from a browser's roster entry.
    widget = Viewers("widget")
    widget.report("tab", {"id": "me", "status": "joined", "peers": [{"id": "x"}]}, 0.0)
    (from_browser,) = widget.peers()
    for participant in (ada, bob, rec):
        for record in participant.peers:
            assert set(record) == set(from_browser) == set(peer_record({}))
            assert isinstance(record, dict) and record == dict(record)
    (bob_for_ada,) = ada.peers
    assert bob_for_ada == peer_record(
        {
            "id": bob.id,
            "name": "bob",
            "initials": "B",
            "verified": False,  # nbconference serve knows no users: a label only
            "connection": bob_for_ada["connection"],
        }
    )
    assert ids(bob.peers) == [ada.id] and bob.peers[0]["initials"] == "AL"

    # The recorder is the room's recording, not one of its people; it sees them all.
    assert ada.recording and bob.recording and not rec.recording
    assert sorted(ids(rec.peers)) == sorted([ada.id, bob.id])
    assert set(ada.links) == {bob.id, rec.id} and set(rec.links) == {ada.id, bob.id}
    link = ada.links[bob.id]
    assert isinstance(link, RemotePeer) and link.state["camera"] is False
    await eventually(lambda: ada.links[bob.id].link is not None, 10, "Ada's link to Bob")

    await rec.stop()
    assert rec.peers == [] and rec.links == {}, "the room is empty once it has been left"


async def test_a_peer_is_announced_once_when_we_come_back_as_a_new_peer(
    standalone: StandaloneServer, joined: list[KernelPeer | Recorder]
) -> None:
    ada = await kernel_peer(standalone, joined, "ada")
    heard: list[str] = []
    ada.on_peer_joined(lambda peer: heard.append(f"joined {peer['name']}"))
    ada.on_peer_left(lambda peer: heard.append(f"left {peer['name']}"))
    bob = await kernel_peer(standalone, joined, "bob")
    await eventually(lambda: heard == ["joined bob"], 10, "Ada to hear of Bob")

    first_id = ada.id
    assert ada._session is not None
    ada._session.drop()  # past the grace before the first retry: Ada comes back as new
    await eventually(
        lambda: ada.id != first_id and ada.status == "joined", 10, "Ada back with a new id"
    )
    await eventually(lambda: ids(ada.peers) == [bob.id], 10, "Ada to see Bob again")
    await eventually(lambda: ids(bob.peers) == [ada.id], 10, "Bob to see the new Ada")
    assert heard == ["joined bob"], "Bob stayed: neither left nor joined again"

    await bob.leave()
    await eventually(lambda: heard[1:] == ["left bob"], 10, "Ada to hear Bob leave")
    await ada.leave()
    assert heard == ["joined bob", "left bob"], "one joined and one left for Bob, in all"


async def test_callbacks_hear_of_those_in_the_room_when_we_join_and_when_we_leave(
    standalone: StandaloneServer, joined: list[KernelPeer | Recorder]
) -> None:
    bob = await kernel_peer(standalone, joined, "bob")
    ada = KernelPeer("lab", name="ada", url=standalone.url, token=standalone.token)
    heard: list[tuple[str, str, str]] = []
    ada.on_peer_joined(lambda p: heard.append(("joined", p["id"], p["connection"])))
    ada.on_peer_left(lambda p: heard.append(("left", p["id"], p["connection"])))
    async with ada:
        assert [what[:2] for what in heard] == [("joined", bob.id)]
    assert heard[1:] == [("left", bob.id, "closed")], "as the widget: also when we leave"


async def test_the_old_dict_access_warns_and_gives_the_old_objects(
    standalone: StandaloneServer, joined: list[KernelPeer | Recorder]
) -> None:
    ada = await kernel_peer(standalone, joined, "ada")
    records: list[PeerRecord] = []
    ada.on_peer_joined(records.append)
    bob = await kernel_peer(standalone, joined, "bob")
    await eventually(lambda: ids(ada.peers) == [bob.id], 10, "Ada to see Bob")

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the new API warns about nothing
        peers = ada.peers
        record = peers[0]
        assert record["name"] == "bob" and peers[:1] == [record] and record in peers
        assert len(peers) == 1 and ada.links[bob.id].name == "bob"

    old = ada.links[bob.id]
    with pytest.warns(DeprecationWarning, match=r"peers\[peer_id\] is deprecated"):
        assert peers[bob.id] is old
    with pytest.warns(DeprecationWarning, match=r"peer_id in peers"):
        assert bob.id in peers and "nobody" not in peers
    with pytest.warns(DeprecationWarning, match=r"peers\.get"):
        assert peers.get(bob.id) is old and peers.get("nobody") is None
    with pytest.warns(DeprecationWarning, match=r"peers\.items"):
        assert dict(peers.items()) == {bob.id: old}
    with pytest.warns(DeprecationWarning, match=r"peers\.keys"):
        assert set(peers.keys()) == {bob.id}
    with pytest.warns(DeprecationWarning, match=r"peers\.values"):
        assert list(peers.values()) == [old]
    with pytest.warns(DeprecationWarning, match=r"links\[peer_id\]\.state"):
        assert record.state == old.state
    with pytest.warns(DeprecationWarning, match=r'peer\["name"\]'):
        assert records[0].name == "bob"
    with pytest.warns(DeprecationWarning, match=r'peer\["id"\]'):
        assert records[0].id == bob.id
    with pytest.raises(AttributeError):
        record.nothing_of_the_kind  # noqa: B018


def test_a_recorders_default_name_loads_no_ui_code() -> None:
    script = (
        "import sys\n"
        "from nbconference.peer.recorder import Recorder\n"
        "from nbconference.identity import default_name\n"
        "assert Recorder('lab').name == default_name()\n"
        "print(sorted(m for m in ('nbconference.widget', 'ipywidgets', 'anywidget')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


async def test_a_recorder_reads_the_chat_and_may_post_to_it(
    standalone: StandaloneServer, joined: list[KernelPeer | Recorder], tmp_path: Path
) -> None:
    ada = await kernel_peer(standalone, joined, "ada")
    ada.send_chat("before the recording")
    await eventually(lambda: len(ada.chat) == 1, 10, "Ada's message in the room")
    rec = await Recorder.join(
        "lab", folder=tmp_path, name="Grace", url=standalone.url, token=standalone.token
    )
    joined.append(rec)
    heard: list[str] = []
    rec.on_chat(lambda message: heard.append(message["text"]))
    await eventually(
        lambda: [m["text"] for m in rec.chat] == ["before the recording"], 10, "history"
    )
    ada.send_chat("during it")
    rec.send_chat("recording into the lab's folder")
    # Two senders on two sockets: the server may take either message first.
    both = sorted(["during it", "recording into the lab's folder"])
    await eventually(
        lambda: sorted(m["text"] for m in ada.chat[1:]) == both,
        10,
        "both messages in Ada's chat",
    )
    await eventually(lambda: "during it" in heard, 10, "the recorder to hear Ada")
    posted = next(m for m in ada.chat if m["text"] == "recording into the lab's folder")
    assert posted["sender_id"] == rec.id and posted["from_code"] is True
