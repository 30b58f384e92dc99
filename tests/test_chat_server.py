"""Chat and raised hands through real signaling servers (the Jupyter extension and the
standalone server alike): ids, stamps, limits, history for late joiners, and the queue of
raised hands with who lowered each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.client import Client
from support.signaling_fixtures import Connect, three_in_lab


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    return {
        "reconnect_grace_seconds": 3.0,
        "max_chat_bytes": 200,
        "chat_messages_per_second": 0.5,
        "chat_burst": 5,
        "chat_history_messages": 4,
        "chat_history_bytes": 1000,
    }


def kept_by_history(frames: list[dict[str, Any]], count: int = 4, size: int = 1000) -> list[str]:
    """The ids the room's history keeps of ``frames``: the newest that fit both bounds."""
    kept: list[str] = []
    total = 0
    for frame in reversed(frames):
        total += len(json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode())
        if len(kept) == count or total > size:
            break
        kept.insert(0, frame["id"])
    return kept


async def chat(client: Client, text: str, **extra: Any) -> None:
    await client.send({"type": "chat", "text": text, **extra})


async def test_a_message_reaches_the_whole_room_stamped_with_an_id(connect: Connect) -> None:
    a, b, c = await three_in_lab(connect)
    await chat(a, "hello <b>room</b>", name="forged", id="forged", **{"from": "forged"})
    frames = [await x.expect("chat") for x in (a, b, c)]
    assert len({json.dumps(f, sort_keys=True) for f in frames}) == 1, "one frame for all"
    frame = frames[0]
    assert frame["from"] == a.id and frame["name"] == "Ada"
    assert frame["text"] == "hello <b>room</b>"
    assert frame["id"] != "forged" and len(frame["id"]) >= 16
    assert isinstance(frame["time"], int) and frame["time"] > 1_700_000_000_000
    assert "from_code" not in frame and "user" in frame
    await chat(b, "from a notebook", from_code=True)
    second = await c.expect("chat", from_code=True, text="from a notebook")
    assert second["id"] != frame["id"]
    await a.expect("chat", id=second["id"])
    await b.expect("chat", id=second["id"])
    for x in (a, b, c):
        await x.silent(0.1)


async def test_text_is_checked(connect: Connect) -> None:
    a, b, _ = await three_in_lab(connect)
    await chat(a, "x" * 201)
    error = await a.expect_error("chat-too-long")
    assert "200" in error["message"]
    await chat(a, "é" * 101)  # 202 bytes of UTF-8, 101 characters
    await a.expect_error("chat-too-long")
    await chat(a, "   \n")
    await a.expect_error("chat-invalid")
    await a.send('{"type":"chat","text":"lone \\ud800 surrogate"}')
    await a.expect_error("chat-invalid")
    await a.send({"type": "chat", "text": 42})
    await a.expect_error("chat-invalid")
    for invisible in ("\u200b\u200b\u2060\ufeff", "\u202e\u2066 \u2069", "\x00\x07\r", "\u3164"):
        await chat(a, invisible)
        await a.expect_error("chat-invalid")
    await b.silent(0.2)
    # Control characters (but newline and tab) and bidi controls are taken out.
    await chat(a, "a\x00b\u202ec\r\n\td\u2066e\u200f")
    await b.expect("chat", text="abc\n\tde")
    await a.expect("chat", text="abc\n\tde")
    # The socket is still fine.
    await chat(a, "é" * 100)
    await b.expect("chat", text="é" * 100)


async def test_a_flood_is_refused_past_the_chat_burst(connect: Connect) -> None:
    a, b, _ = await three_in_lab(connect)
    for n in range(8):
        await chat(a, f"spam {n}")
    delivered = [(await b.expect("chat"))["text"] for _ in range(5)]
    assert delivered == [f"spam {n}" for n in range(5)]
    await b.silent(0.2)
    seen = [await a.recv() for _ in range(8)]
    assert [f["type"] for f in seen].count("chat") == 5
    errors = [f for f in seen if f["type"] == "error"]
    assert [e["code"] for e in errors] == ["chat-rate-limited"] * 3
    # Signaling is not held back by the chat limit.
    await a.signal(b)
    await b.expect("signal", **{"from": a.id})


async def test_late_joiners_get_the_bounded_history_which_goes_with_the_room(
    connect: Connect,
) -> None:
    a, b = await connect(), await connect()
    await a.join("hist", "Ada")
    await b.join("hist", "Bob")
    await a.expect("peer-joined")
    sent = []
    for n in range(6):
        await (a if n % 2 else b).send({"type": "chat", "text": f"m{n}"})
        sent.append(await a.expect("chat"))
        await b.expect("chat")
    expected = kept_by_history(sent)
    assert len(expected) >= 3
    late = await connect()
    await late.join("hist", "Late")
    history = [await late.expect("chat") for _ in expected]
    assert [h["id"] for h in history] == expected, "the last ones, oldest first"
    assert history == sent[-len(expected) :]
    await late.silent(0.2)
    # Once everyone has left, the history is gone.
    for x in (a, b, late):
        await x.send({"type": "leave"})
    fresh = await connect()
    await fresh.join("hist", "Fresh")
    await fresh.silent(0.3)


async def test_history_is_bounded_in_bytes(connect: Connect) -> None:
    a = await connect()
    await a.join("bytes", "Ada")
    sent = []
    for n in range(4):
        await chat(a, f"{n}" * 190)
        sent.append(await a.expect("chat"))
    # Each frame is over 300 bytes: 1000 bytes of history hold fewer than four.
    expected = kept_by_history(sent)
    assert 1 <= len(expected) < 4
    b = await connect()
    await b.join("bytes", "Bob")
    assert [(await b.expect("chat"))["id"] for _ in expected] == expected
    await b.silent(0.2)


async def test_hands_keep_their_order_and_a_host_may_lower_them(
    connect: Connect, host_connect: Connect
) -> None:
    a, b, c = await three_in_lab(connect, host=host_connect)
    await c.send({"type": "state", "state": {"hand": True}})
    up_c = await a.expect("peer-state", id=c.id)
    await b.expect("peer-state", id=c.id)
    # Cy hears its own stamp: its place in the queue.
    assert (await c.expect("peer-state", id=c.id))["state"] == up_c["state"]
    await b.send({"type": "state", "state": {"hand": True}})
    up_b = await a.expect("peer-state", id=b.id)
    await c.expect("peer-state", id=b.id)
    await b.expect("peer-state", id=b.id)
    hand_c, hand_b = up_c["state"]["hand"], up_b["state"]["hand"]
    assert isinstance(hand_c, int) and not isinstance(hand_c, bool)
    assert hand_b > hand_c, "the later hand is behind the earlier one"
    # Raising it again keeps its place (the room hears nothing).
    await c.send({"type": "state", "state": {"hand": True, "camera": True}})
    again = await a.expect("peer-state", id=c.id)
    assert again["state"]["hand"] == hand_c
    await b.expect("peer-state", id=c.id)

    # Ada lowers Cy's hand: everyone, Cy included, hears that Ada did.
    await a.send({"type": "lower-hand", "peer": c.id})
    for x in (a, b, c):
        lowered = await x.expect("peer-state", id=c.id, by=a.id)
        assert lowered["state"]["hand"] is False
    # Lowering a hand that is down already tells nobody anything.
    await a.send({"type": "lower-hand", "peer": c.id})
    for x in (a, b, c):
        await x.silent(0.1)
    # A late joiner sees the queue as it stands: Bob's hand only.
    d = await connect()
    welcome = await d.join("lab", "Dee")
    hands = {p["id"]: p["state"].get("hand") for p in welcome["peers"]}
    assert hands == {a.id: None, b.id: hand_b, c.id: False}
    for x in (a, b, c):
        await x.expect("peer-joined")
    # Bob lowers his own; a hand of someone not in the room is an error.
    await b.send({"type": "state", "state": {"hand": False}})
    for x in (a, c, d, b):
        await x.expect("peer-state", id=b.id, by=b.id)
    await a.send({"type": "lower-hand", "peer": "nobody"})
    await a.expect("error", code="unknown-peer", peer="nobody")


async def test_a_hand_raised_at_join_is_stamped_and_leaving_lowers_it(connect: Connect) -> None:
    a, b = await connect(), await connect()
    await a.join("hands", "Ada", state={"hand": True})
    welcome = await b.join("hands", "Bob")
    assert welcome["peers"][0]["state"]["hand"] > 1_700_000_000_000
    await a.expect("peer-joined")
    a.close()
    await b.expect("peer-left", id=a.id)
    c = await connect()
    welcome = await c.join("hands", "Cy")
    assert [p["id"] for p in welcome["peers"]] == [b.id]
