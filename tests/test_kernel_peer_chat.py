"""KernelPeer.send_chat and on_chat against the real standalone server: a script posts into
the call, every peer gets each message once, and a late KernelPeer gets the history."""

from __future__ import annotations

from typing import Any

import pytest

from nbconference.peer import KernelPeer
from nbconference.server.standalone import StandaloneServer
from support.client import Client
from support.polling import eventually, holds
from support.signaling_fixtures import Connect

pytest.importorskip("aiortc")


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    return {"reconnect_grace_seconds": 2.0, "chat_burst": 3, "chat_messages_per_second": 0.2}


async def join(standalone: StandaloneServer, peers: list[KernelPeer], name: str) -> KernelPeer:
    peer = await KernelPeer.join("lab", name=name, url=standalone.url, token=standalone.token)
    peers.append(peer)
    return peer


async def test_a_script_posts_into_the_call_and_hears_the_room(
    standalone: StandaloneServer, standalone_connect: Connect, peers: list[KernelPeer]
) -> None:
    browser: Client = await standalone_connect()
    await browser.join("lab", "Ada")
    script = await join(standalone, peers, "script")
    await browser.expect("peer-joined")
    heard: list[dict[str, Any]] = []
    script.on_chat(heard.append)
    with pytest.raises(ValueError):
        script.send_chat(" ")

    script.send_chat("accuracy `0.93` on https://example.org/run/7")
    frame = await browser.expect("chat", from_code=True, **{"from": script.id})
    assert frame["name"] == "script" and frame["text"].startswith("accuracy `0.93`")
    await browser.send({"type": "chat", "text": "thanks!"})
    await eventually(lambda: len(heard) == 2 or None, 5.0, "both messages heard")
    assert [(r["sender_id"], r["text"], r["from_code"]) for r in heard] == [
        (script.id, frame["text"], True),
        (browser.id, "thanks!", False),
    ]
    assert heard[0]["id"] == frame["id"] and script.chat == heard

    # A late script gets the history, each message once.
    late = await join(standalone, peers, "late")
    await eventually(lambda: len(late.chat) == 2 or None, 5.0, "the history")
    assert [r["id"] for r in late.chat] == [r["id"] for r in heard]

    # Too fast: the server refuses past the chat burst; the room never sees those.
    for n in range(4):
        script.send_chat(f"n{n}")
    await eventually(lambda: len(late.chat) >= 4 or None, 5.0, "the burst")
    await holds(
        lambda: [r["text"] for r in late.chat][2:] == ["n0", "n1"],
        0.3,
        "only the burst's first two reach the room",
    )
