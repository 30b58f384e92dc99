"""ConferenceWidget on the kernel side: traits, callbacks, commands, one widget per room.

The browser half is exercised by tests/browser; here a recording comm stands in for the
front end, and ``set_state`` is exactly what ipywidgets calls when the browser writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import comm
import pytest
import traitlets

from nbconference.widget import ConferenceWidget


class RecordingComm:
    """Records what the widget sends to its front end."""

    kernel = "recording"

    def __init__(self, **kwargs: Any) -> None:
        self.comm_id = kwargs.get("comm_id") or f"comm-{id(self)}"
        self.sent: list[dict[str, Any]] = []
        self.closed = False

    def open(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, callback: Any) -> None:
        pass

    def send(self, data: Any = None, buffers: Any = None, **kwargs: Any) -> None:
        self.sent.append(data)

    def close(self, *args: Any, **kwargs: Any) -> None:
        self.closed = True

    def custom(self) -> list[Any]:
        return [m["content"] for m in self.sent if m.get("method") == "custom"]


@pytest.fixture(autouse=True)
def recording_comm(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(comm, "create_comm", lambda **kwargs: RecordingComm(**kwargs))
    yield
    ConferenceWidget._live.clear()


def peer(peer_id: str, name: str) -> dict[str, Any]:
    return {
        "id": peer_id,
        "name": name,
        "camera": True,
        "microphone": True,
        "screen": False,
        "connection": "connected",
    }


def test_defaults_and_instance_id() -> None:
    a = ConferenceWidget(room="lab", name="Ada")
    b = ConferenceWidget(room="other", name="Bob")
    assert (a.room, a.name, a.camera, a.microphone, a.stats_interval) == (
        "lab",
        "Ada",
        True,
        True,
        1.0,
    )
    assert a.status == "connecting" and a.peers == [] and a.stats == {}
    assert len(a.instance_id) == 32 and a.instance_id != b.instance_id
    # The id is in the state the front end receives when the comm opens.
    assert a.get_state()["instance_id"] == a.instance_id
    assert ConferenceWidget(room="x").name  # from the environment, never empty


@pytest.mark.parametrize("room", ["", "has space", "x" * 65, "ümlaut", "a/b"])
def test_invalid_room_is_refused(room: str) -> None:
    with pytest.raises(traitlets.TraitError, match="room"):
        ConferenceWidget(room=room)


def test_other_settings_are_validated() -> None:
    with pytest.raises(traitlets.TraitError, match="name"):
        ConferenceWidget(room="lab", name="n" * 65)
    with pytest.raises(traitlets.TraitError, match="stats_interval"):
        ConferenceWidget(room="lab", stats_interval=0)
    w = ConferenceWidget(room="lab", name="   ")
    assert w.name == "guest"


def test_browser_traits_are_read_only_for_users_but_the_browser_writes_them() -> None:
    w = ConferenceWidget(room="lab", name="Ada")
    for trait, value in [("status", "joined"), ("peer_id", "x"), ("peers", []), ("stats", {})]:
        with pytest.raises(traitlets.TraitError):
            setattr(w, trait, value)
    with pytest.raises(traitlets.TraitError):
        w.instance_id = "mine"
    w.set_state({"status": "joined", "peer_id": "p1", "sharing_screen": True, "camera": False})
    assert (w.status, w.peer_id, w.sharing_screen, w.camera) == ("joined", "p1", True, False)
    with pytest.raises(traitlets.TraitError):
        w.set_state({"status": "dancing"})


def test_peer_callbacks_follow_the_peers_trait() -> None:
    w = ConferenceWidget(room="lab", name="Ada")
    joined: list[str] = []
    left: list[str] = []
    w.on_peer_joined(lambda p: joined.append(p["name"]))
    w.on_peer_left(lambda p: left.append(p["name"]))

    w.set_state({"peers": [peer("g", "Grace")]})
    w.set_state({"peers": [peer("g", "Grace"), peer("l", "Linus")]})
    changed = {**peer("g", "Grace"), "camera": False}
    w.set_state({"peers": [changed, peer("l", "Linus")]})  # a state change is no join
    w.set_state({"peers": [peer("l", "Linus")]})
    assert joined == ["Grace", "Linus"] and left == ["Grace"]

    callback = joined.append
    w.on_peer_joined(callback)
    w.on_peer_joined(callback)  # registered once
    w.on_peer_joined(callback, remove=True)
    w.set_state({"peers": []})
    assert left == ["Grace", "Linus"]


def test_on_stats_receives_each_update() -> None:
    w = ConferenceWidget(room="lab")
    seen: list[dict[str, Any]] = []
    w.on_stats(seen.append)
    record = {"rtt_ms": 1.5, "fps_in": 24.0, "route": "host", "connection": "connected"}
    w.set_state({"stats": {"g": record}})
    assert seen == [{"g": record}]


def test_every_on_callback_returns_its_remover() -> None:
    w = ConferenceWidget(room="lab")
    heard: list[str] = []
    removers = [
        w.on_peer_joined(lambda p: heard.append("joined")),
        w.on_peer_left(lambda p: heard.append("left")),
        w.on_stats(lambda s: heard.append("stats")),
    ]
    w.set_state({"peers": [peer("g", "Grace")], "stats": {"g": {"fps_in": 1.0}}})
    w.set_state({"peers": []})
    assert sorted(heard) == ["joined", "left", "stats"]
    for remove in removers:
        remove()
        remove()  # removing twice is harmless
    w.set_state({"peers": [peer("l", "Linus")], "stats": {"l": {"fps_in": 2.0}}})
    w.set_state({"peers": []})
    assert sorted(heard) == ["joined", "left", "stats"], "nothing is heard after removal"


def test_remove_keyword_still_removes_and_the_remover_agrees() -> None:
    w = ConferenceWidget(room="lab")
    joined: list[str] = []
    remover = w.on_peer_joined(joined.append)
    w.on_peer_joined(joined.append, remove=True)
    w.set_state({"peers": [peer("g", "Grace")]})
    assert joined == []
    w.on_peer_joined(joined.append)  # registered again: the old remover takes it out too
    remover()
    w.set_state({"peers": [peer("g", "Grace"), peer("l", "Linus")]})
    assert joined == []


def test_stats_history_keeps_samples_of_peers_that_left() -> None:
    pytest.importorskip("pandas")
    w = ConferenceWidget(room="lab", stats_history=2)
    w.set_state({"peers": [peer("g", "Grace")]})
    for fps in (10.0, 20.0, 30.0):
        w.set_state({"stats": {"g": {"fps_in": fps, "bitrate_in_kbps": 100 * fps}}})
    w.set_state({"peers": []})
    table = w.stats_frame()
    assert table["fps_in"].tolist() == [20.0, 30.0]  # bounded to the newest two
    assert set(table["name"]) == {"Grace"} and set(table["peer_id"]) == {"g"}


def test_leave_and_join_are_commands_to_the_front_end() -> None:
    w = ConferenceWidget(room="lab")
    w.leave()
    w.join()
    assert w.comm.custom() == [{"command": "leave"}, {"command": "join"}]


def test_close_leaves_first() -> None:
    w = ConferenceWidget(room="lab")
    channel = w.comm
    w.close()
    assert channel.custom() == [{"command": "leave"}] and channel.closed
    assert w.comm is None
    w.close()  # closing twice is harmless


def test_a_new_widget_for_the_same_room_replaces_the_old_one() -> None:
    old = ConferenceWidget(room="lab", name="Ada")
    other_room = ConferenceWidget(room="elsewhere", name="Ada")
    other_server = ConferenceWidget(room="lab", signaling_url="ws://127.0.0.1:9/s", token="t")
    old_comm = old.comm

    new = ConferenceWidget(room="lab", name="Ada")

    assert old.comm is None and old_comm.closed
    assert old_comm.custom() == [{"command": "leave"}]
    assert new.comm is not None and other_room.comm is not None and other_server.comm is not None


def test_moving_a_widget_into_a_room_replaces_the_widget_there() -> None:
    a = ConferenceWidget(room="one")
    b = ConferenceWidget(room="two")
    b.room = "one"
    assert a.comm is None and b.comm is not None
    c = ConferenceWidget(room="two")  # "two" is free now: b moved away
    assert b.comm is not None and c.comm is not None


def test_camera_and_microphone_are_synced_both_ways() -> None:
    w = ConferenceWidget(room="lab")
    w.camera = False
    updates = [m["state"] for m in w.comm.sent if m.get("method") == "update"]
    assert {"camera": False} in updates
    w.set_state({"microphone": False})  # the browser's button
    assert w.microphone is False
