"""ConferenceWidget's chat and raised hands on the kernel side: each message once however
many viewers report it, send_chat and lower_hand through one viewer in the room, and the
queue of raised hands. The browser half is in tests/browser/test_browser_chat.py."""

from __future__ import annotations

from typing import Any

import pytest

from nbconference.widget import ConferenceWidget
from test_widget import RecordingComm, peer, recording_comm, report

__all__ = ["recording_comm"]  # the autouse fixture, imported to apply here too


def chat(w: ConferenceWidget, viewer: str, message_id: str, text: str, **extra: Any) -> None:
    message = {
        "type": "chat",
        "id": message_id,
        "time": 1_764_500_000_000 + len(message_id),
        "from": "id-x",
        "name": "Xu",
        "text": text,
        **extra,
    }
    w._handle_custom_msg({"type": "chat", "viewer": viewer, "message": message}, [])


def commands(w: ConferenceWidget) -> list[dict[str, Any]]:
    assert isinstance(w.comm, RecordingComm)
    return w.comm.custom()


def test_each_message_is_one_record_however_many_viewers_report_it() -> None:
    w = ConferenceWidget(room="pair")
    seen: list[str] = []
    w.on_chat(lambda record: seen.append(record["text"]))
    report(w, "a", [])
    report(w, "b", [])
    chat(w, "a", "m1", "hello <script>x</script>")
    chat(w, "b", "m1", "hello <script>x</script>")  # the other viewer's copy
    chat(w, "b", "m22", "second", from_code=True)
    chat(w, "a", "m22", "second", from_code=True)
    chat(w, "a", "m1", "hello <script>x</script>")  # history again after a rejoin
    chat(w, "a", "bad", 42)  # not a message
    assert seen == ["hello <script>x</script>", "second"]
    assert w.chat == [
        {
            "id": "m1",
            "time": 1_764_500_000.002,
            "sender_id": "id-x",
            "name": "Xu",
            "text": "hello <script>x</script>",
            "from_code": False,
        },
        {
            "id": "m22",
            "time": 1_764_500_000.003,
            "sender_id": "id-x",
            "name": "Xu",
            "text": "second",
            "from_code": True,
        },
    ]
    pd = pytest.importorskip("pandas")
    table = w.chat_frame()
    assert list(table.columns) == ["id", "sender_id", "name", "text", "from_code"]
    assert list(table["id"]) == ["m1", "m22"]
    assert table.index[0] == pd.Timestamp(1_764_500_000.002, unit="s", tz="UTC")


def test_send_chat_and_lower_hand_go_through_one_viewer_in_the_room() -> None:
    w = ConferenceWidget(room="pair")
    with pytest.raises(RuntimeError, match="no browser"):
        w.send_chat("hi")
    report(w, "a", [], status="connecting")
    report(w, "b", [])
    w.send_chat("results: `0.93`")
    w.lower_hand("id-c")
    sent = [c for c in commands(w) if c["command"] in ("chat", "lower-hand")]
    assert sent == [
        {"command": "chat", "text": "results: `0.93`", "via": "b"},
        {"command": "lower-hand", "peer": "id-c", "via": "b"},
    ]
    with pytest.raises(ValueError):
        w.send_chat("  ")


def test_hands_are_in_the_records_and_queued_in_the_order_they_went_up() -> None:
    w = ConferenceWidget(room="class")
    report(
        w,
        "a",
        [peer("c", "Cy", hand=1_764_500_002_000), peer("d", "Dee", hand=0), peer("e", "Eve")],
        hand=1_764_500_003_000,
    )
    report(w, "b", [peer("c", "Cy", hand=1_764_500_002_000)], hand=1_764_500_001_000)
    assert [(p["id"], p["hand"], p["hand_raised_at"]) for p in w.peers] == [
        ("c", True, 1_764_500_002.0),
        ("d", False, None),
        ("e", False, None),
    ]
    assert [v["hand"] for v in w.viewers] == [True, True]
    assert w.hands == [
        {"id": "id-b", "name": "b", "raised_at": 1_764_500_001.0},
        {"id": "c", "name": "Cy", "raised_at": 1_764_500_002.0},
        {"id": "id-a", "name": "a", "raised_at": 1_764_500_003.0},
    ]
