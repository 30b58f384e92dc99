"""ConferenceWidget on the kernel side: traits, callbacks, commands, one widget per room.

The browser half is exercised by tests/browser; here a recording comm stands in for the
front end, and ``set_state`` is exactly what ipywidgets calls when the browser writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anywidget
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


def peer(peer_id: str, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": peer_id,
        "name": name,
        "camera": True,
        "microphone": True,
        "screen": False,
        "connection": "connected",
        "problem": "",
        **extra,
    }


def report(w: ConferenceWidget, viewer: str, peers: list[dict[str, Any]], **record: Any) -> None:
    """What a browser viewing ``w`` tells the kernel (js/bridge.js), as ipywidgets hands
    it to the widget."""
    fields = {
        "id": f"id-{viewer}",
        "name": viewer,
        "status": "joined",
        "camera": True,
        "microphone": True,
        "screen": False,
        "wanted_camera": True,
        "wanted_microphone": True,
        "error": "",
        "media_error": "",
        **record,
    }
    w._handle_custom_msg(
        {"type": "viewer", "viewer": viewer, "record": {**fields, "peers": peers}}, []
    )


def stats(w: ConferenceWidget, viewer: str, sample: dict[str, Any]) -> None:
    w._handle_custom_msg({"type": "stats", "viewer": viewer, "stats": sample}, [])


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
    assert a.status == "idle" and a.peers == [] and a.viewers == [] and a.stats == {}
    assert len(a.instance_id) == 32 and a.instance_id != b.instance_id
    # The id is in the state the front end receives when the comm opens.
    assert a.get_state()["instance_id"] == a.instance_id
    assert ConferenceWidget(room="x").name  # from the environment, never empty


def test_every_trait_of_the_widget_says_what_it_is() -> None:
    """help() and the docs read each trait's help: none of the widget's own is blank."""
    inherited = set(anywidget.AnyWidget.class_trait_names())
    own = {name: t for name, t in ConferenceWidget.class_traits().items() if name not in inherited}
    assert {"room", "status", "peers", "stats", "chat"} <= set(own)
    assert [name for name, t in own.items() if not t.help.strip()] == []


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


def test_room_traits_are_read_only_and_only_the_kernel_writes_them() -> None:
    w = ConferenceWidget(room="lab", name="Ada")
    for trait, value in [("status", "joined"), ("peer_id", "x"), ("peers", []), ("viewers", [])]:
        with pytest.raises(traitlets.TraitError):
            setattr(w, trait, value)
    with pytest.raises(traitlets.TraitError):
        w.instance_id = "mine"
    report(w, "a", [], screen=True, wanted_camera=False)
    assert (w.status, w.peer_id, w.sharing_screen, w.camera) == ("joined", "id-a", True, False)
    # A browser writing the traits itself is not how the picture changes.
    assert "stats" not in w.get_state()
    # Nor do the browsers hear the room back from the kernel: these change at every step
    # of every join, and each change would be a message to every front end.
    assert w.viewers  # the kernel has them
    assert not {"peers", "viewers"} & set(w.get_state())


def test_peer_callbacks_follow_the_peers_trait() -> None:
    w = ConferenceWidget(room="lab", name="Ada")
    joined: list[str] = []
    left: list[str] = []
    w.on_peer_joined(lambda p: joined.append(p["name"]))
    w.on_peer_left(lambda p: left.append(p["name"]))

    report(w, "a", [peer("g", "Grace")])
    report(w, "a", [peer("g", "Grace"), peer("l", "Linus")])
    report(w, "a", [peer("g", "Grace", camera=False), peer("l", "Linus")])  # no join
    report(w, "a", [peer("l", "Linus")])
    assert joined == ["Grace", "Linus"] and left == ["Grace"]

    callback = joined.append
    w.on_peer_joined(callback)
    w.on_peer_joined(callback)  # registered once
    w.on_peer_joined(callback, remove=True)
    report(w, "a", [])
    assert left == ["Grace", "Linus"]


def test_several_viewers_one_coherent_picture_and_callbacks_once() -> None:
    w = ConferenceWidget(room="pair")
    joined: list[str] = []
    w.on_peer_joined(lambda p: joined.append(p["id"]))
    # A sees B (a view of this very widget) and C; B reports later and sees A and C.
    report(w, "a", [peer("id-b", "B", widget=w.instance_id), peer("c", "Cy")])
    report(w, "b", [peer("id-a", "A", widget=w.instance_id), peer("c", "Cy")], camera=False)
    for _ in range(3):  # the same on repeated reads
        assert [v["id"] for v in w.viewers] == ["id-a", "id-b"]
        assert [p["id"] for p in w.peers] == ["c"]
    assert joined == ["c"], "one join for Cy however many viewers link to her"
    assert [v["camera"] for v in w.viewers] == [True, False]
    assert w.peer_id == "" and w.status == "joined"
    stats(w, "a", {"c": {"rtt_ms": 1.0}})
    stats(w, "b", {"c": {"rtt_ms": 9.0}})
    assert set(w.stats) == {"id-a/c", "id-b/c"}
    assert w.stats["id-b/c"] == {"rtt_ms": 9.0, "viewer": "id-b", "peer": "c"}
    # B's tab closes: A sees it leave the room.
    w._handle_custom_msg({"type": "viewer-left", "viewer": "a", "id": "id-b"}, [])
    assert [v["id"] for v in w.viewers] == ["id-a"] and w.peer_id == "id-a"
    w._handle_custom_msg({"type": "viewer-gone", "viewer": "a"}, [])
    assert w.viewers == [] and w.status == "left" and w.peers == []


def test_on_stats_receives_each_update() -> None:
    w = ConferenceWidget(room="lab")
    seen: list[dict[str, Any]] = []
    w.on_stats(seen.append)
    record = {"rtt_ms": 1.5, "fps_in": 24.0, "route": "host", "connection": "connected"}
    report(w, "a", [peer("g", "Grace")])
    stats(w, "a", {"g": record})
    assert seen == [{"g": {**record, "viewer": "id-a", "peer": "g"}}]


def test_every_on_callback_returns_its_remover() -> None:
    w = ConferenceWidget(room="lab")
    heard: list[str] = []
    removers = [
        w.on_peer_joined(lambda p: heard.append("joined")),
        w.on_peer_left(lambda p: heard.append("left")),
        w.on_stats(lambda s: heard.append("stats")),
    ]
    report(w, "a", [peer("g", "Grace")])
    stats(w, "a", {"g": {"fps_in": 1.0}})
    report(w, "a", [])
    assert sorted(heard) == ["joined", "left", "stats"]
    for remove in removers:
        remove()
        remove()  # removing twice is harmless
    report(w, "a", [peer("l", "Linus")])
    stats(w, "a", {"l": {"fps_in": 2.0}})
    report(w, "a", [])
    assert sorted(heard) == ["joined", "left", "stats"], "nothing is heard after removal"


def test_remove_keyword_still_removes_and_the_remover_agrees() -> None:
    w = ConferenceWidget(room="lab")
    joined: list[str] = []
    remover = w.on_peer_joined(joined.append)
    w.on_peer_joined(joined.append, remove=True)
    report(w, "a", [peer("g", "Grace")])
    assert joined == []
    w.on_peer_joined(joined.append)  # registered again: the old remover takes it out too
    remover()
    report(w, "a", [peer("g", "Grace"), peer("l", "Linus")])
    assert joined == []


def test_stats_history_keeps_samples_of_peers_that_left() -> None:
    pytest.importorskip("pandas")
    w = ConferenceWidget(room="lab", stats_history=2)
    report(w, "a", [peer("g", "Grace")])
    for fps in (10.0, 20.0, 30.0):
        stats(w, "a", {"g": {"fps_in": fps, "bitrate_in_kbps": 100 * fps}})
    report(w, "a", [])
    table = w.stats_frame()
    assert table["fps_in"].tolist() == [20.0, 30.0]  # bounded to the newest two
    assert set(table["name"]) == {"Grace"} and set(table["peer_id"]) == {"g"}
    assert set(table["viewer"]) == {"id-a"}


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


def test_camera_and_microphone_are_requests_to_the_browsers_and_follow_one_viewer() -> None:
    w = ConferenceWidget(room="lab")
    w.camera = False
    assert w.comm.custom() == [{"command": "camera", "on": False}]
    report(w, "a", [], wanted_microphone=False)  # the person's own button
    assert w.microphone is False
    assert w.comm.custom() == [{"command": "camera", "on": False}], "no echo of a report"
    w.microphone = True
    assert w.comm.custom()[-1] == {"command": "microphone", "on": True}


def test_receive_video_is_a_command_to_every_browser_and_follows_one_viewer() -> None:
    w = ConferenceWidget(room="lab")
    assert w.receive_video is True
    w.receive_video = False
    assert w.comm.custom() == [{"command": "receive-video", "on": False}]
    # One viewer: its own button ("video off for me") shows in the trait, with no echo.
    report(w, "a", [], receive_video=True)
    assert w.receive_video is True
    assert w.comm.custom() == [{"command": "receive-video", "on": False}]
    assert w.viewers[0]["receive_video"] is True
    # Several viewers: each keeps its own choice; the trait is the notebook's request.
    report(w, "b", [], receive_video=False)
    assert [v["receive_video"] for v in w.viewers] == [True, False]
    assert w.receive_video is True
    w.receive_video = False
    assert w.comm.custom()[-1] == {"command": "receive-video", "on": False}


def test_the_room_defaults_to_the_notebooks_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ada/Untitled.ipynb")
    w = ConferenceWidget()
    assert w.room.startswith("Untitled-") and w.room_label == "the call of Untitled.ipynb"
    assert ConferenceWidget().room == w.room, "everyone on this notebook meets there"
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ada/other/Untitled.ipynb")
    assert ConferenceWidget().room != w.room
    monkeypatch.setenv("USER", "grace")
    monkeypatch.setenv("JUPYTERHUB_USER", "grace")
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ada/Untitled.ipynb")
    assert ConferenceWidget().room != w.room, "another user's server: another room"
    monkeypatch.delenv("JPY_SESSION_NAME")
    own = ConferenceWidget()
    assert own.room == f"call-{own.instance_id[:12]}" and own.room in own.room_label
    assert ConferenceWidget(room="lab").room_label == "room lab"


def test_the_token_reaches_the_browsers_by_message_never_in_saved_state() -> None:
    secret = "s" * 24
    w = ConferenceWidget(room="lab", signaling_url="ws://127.0.0.1:9/nbconference/signal")
    w.token = secret
    assert "token" not in w.get_state(), "synced state is saved in the notebook"
    assert all(secret not in json.dumps(m) for m in w.comm.sent if m.get("method") != "custom")
    w._handle_custom_msg({"type": "hello", "viewer": "a"}, [])
    assert w.comm.custom()[-1] == {
        "command": "signaling",
        "mode": "given",
        "url": "ws://127.0.0.1:9/nbconference/signal",
        "token": secret,
        "advice": "",
    }
    # Without signaling_url the kernel's own plan is still pending outside a kernel.
    plain = ConferenceWidget(room="other")
    plain._handle_custom_msg({"type": "hello", "viewer": "a"}, [])
    assert plain.comm.custom()[-1]["mode"] == "pending"


def test_recording_is_true_while_any_viewer_sees_a_recorder() -> None:
    """``w.recording`` (issue 13): browsers report the room's recorders apart from its
    peers (a recorder has no tile); the kernel merges them over every viewer."""
    w = ConferenceWidget(room="rec")
    recorder = {"id": "r1", "name": "Ada Lovelace"}
    report(w, "a", [peer("c", "Cy")], recorders=[])
    assert w.recording is False
    report(w, "a", [peer("c", "Cy")], recorders=[recorder])
    assert w.recording is True and [p["id"] for p in w.peers] == ["c"]
    assert w.get_state()["recording"] is True  # synced: the front end may read it too
    with pytest.raises(traitlets.TraitError):
        w.recording = False
    # A second viewer that does not see it yet does not turn it off; broken entries count
    # for nothing.
    report(w, "b", [], recorders=[{"name": "no id"}, "r1", None])
    assert w.recording is True
    report(w, "a", [peer("c", "Cy")], recorders="r1")
    assert w.recording is False
    report(w, "b", [], recorders=[recorder])
    assert w.recording is True
    w._handle_custom_msg({"type": "viewer-gone", "viewer": "b"}, [])
    assert w.recording is False
    w.close()


def test_media_is_the_plane_the_viewers_in_the_call_report() -> None:
    """``w.media``: "" before joining, then "mesh" or "sfu" as the pages in the room say
    (the server decides; a page that has not heard of the move yet does not undo it)."""
    w = ConferenceWidget(room="class")
    assert w.media == ""
    report(w, "a", [], status="connecting", media="")
    assert w.media == ""
    report(w, "a", [], status="joined", media="mesh")
    assert w.media == "mesh" and w.get_state()["media"] == "mesh"
    report(w, "b", [], status="joined", media="sfu")
    assert w.media == "sfu"
    report(w, "a", [], status="joined", media="p2p")  # not a plane: counts for nothing
    assert w.media == "sfu"
    with pytest.raises(traitlets.TraitError):
        w.media = "mesh"
    w._handle_custom_msg({"type": "viewer-gone", "viewer": "b"}, [])
    assert w.media == ""
    report(w, "a", [], status="left", media="mesh")
    assert w.media == ""
    w.close()


def test_diagnose_asks_every_browser_and_each_report_lands_under_its_viewer() -> None:
    w = ConferenceWidget(room="lab")
    w.diagnose()
    assert w.comm.custom() == [{"command": "diagnose"}]
    report(w, "a", [])
    report(w, "b", [])
    answer = {
        "finished_at": 1_700_000_000.5,
        "secure_context": True,
        "permissions": {"camera": "granted", "microphone": "sideways"},
        "devices": {"in_use": [], "counts": {"camera": 1, "microphone": 1, "speaker": 0}},
        "signaling": {"rtt_ms": 2.5},
        "turn": [
            {
                "url": "turn:t:3478",
                "ok": False,
                "error_code": 401,
                "error": "Unauthorized",
                "credential": "never kept",
            }
        ],
        "links": "not a list",
        "advice": ["The TURN server turn:t:3478 refused our credentials (401): …", 7],
        "extra": "dropped",
    }
    w._handle_custom_msg({"type": "diagnosis", "viewer": "b", "report": answer}, [])
    (entry,) = w.diagnostics
    assert (entry["id"], entry["name"], entry["finished_at"]) == ("id-b", "b", 1_700_000_000.5)
    assert entry["permissions"] == {"camera": "granted", "microphone": "unknown"}
    assert entry["turn"] == [
        {"url": "turn:t:3478", "ok": False, "protocol": None, "relay_protocol": None,
         "ms": None, "error_code": 401, "error": "Unauthorized"},
    ]  # fmt: skip
    assert entry["links"] == [] and entry["signaling"] == {"rtt_ms": 2.5}
    assert entry["advice"] == [answer["advice"][0]]
    assert "extra" not in entry
    # A viewer gone takes its report with it.
    w._handle_custom_msg({"type": "viewer-gone", "viewer": "b"}, [])
    assert w.diagnostics == []


def test_diagnose_on_a_closed_widget_says_why() -> None:
    w = ConferenceWidget(room="lab")
    w.close()
    with pytest.raises(RuntimeError, match="closed"):
        w.diagnose()
