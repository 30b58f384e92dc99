"""The chat's and hands' pure rules, run in Node straight from js/: each message once and
in the server's time order (js/chat.js), the hands queue and who-lowered-whose-hand
sentences (js/hands.js), and how the protocol reads chat and hand frames (js/protocol.js)."""

from __future__ import annotations

import json
from typing import Any

from nbconference import protocol
from support.node import module_url, needs_node, run_module

pytestmark = needs_node


def run_js(body: str) -> Any:
    imports = "".join(
        f"import * as {name} from {json.dumps(module_url(name + '.js'))};\n"
        for name in ("chat", "hands", "protocol")
    )
    return run_module(f"{imports}{body}\nconsole.log(JSON.stringify(result));")


def test_the_chat_log_keeps_each_id_once_in_time_order() -> None:
    result = run_js(
        """
        const log = new chat.ChatLog();
        const m = (id, time) => ({ type: "chat", id, time, from: "p", name: "", user: null,
                                   color: null, text: id, from_code: false });
        const frames = [m("b", 2), m("a", 1), m("b", 2), m("c", 3), m("a", 1)];
        const added = frames.map((x) => log.add(x));
        const snap = log.snapshot();
        const result = { added, ids: snap.messages.map((x) => x.id), total: snap.total };
        """
    )
    assert result == {"added": [True, True, False, True, False], "ids": ["a", "b", "c"], "total": 3}


def test_the_chat_limit_is_counted_in_utf8_bytes_as_the_server_counts_it() -> None:
    """4000 characters of "é" are 8000 bytes: over the default limit, which a count in
    characters (an input's maxLength) would have let through to be refused."""
    result = run_js(
        """
        const log = new chat.ChatLog();
        const before = log.snapshot().maxBytes;
        log.setMaxBytes(300);
        const result = {
          before,
          after: log.snapshot().maxBytes,
          far: chat.chatRoomLeft("hello", 4096),
          near: chat.chatRoomLeft("\u00e9".repeat(2000), 4096),
          full: chat.chatRoomLeft("a".repeat(300), 300),
          one: chat.chatRoomLeft("a".repeat(299), 300),
          over: chat.chatRoomLeft("\u00e9".repeat(4000), 4096),
          emoji: chat.chatRoomLeft("\\u{1F44B}".repeat(76), 300),
          sentence: chat.tooLongSentence(8000, 4096),
        };
        """
    )
    assert result["before"] == protocol.DEFAULT_CHAT_LIMITS.max_chat_bytes
    assert result["after"] == 300
    assert result["far"] == {"bytes": 5, "left": 4091, "over": False, "say": ""}
    assert result["near"] == {"bytes": 4000, "left": 96, "over": False, "say": "96 bytes left"}
    assert result["full"]["say"] == "0 bytes left" and not result["full"]["over"]
    assert result["one"]["say"] == "1 byte left"
    assert result["over"] == {
        "bytes": 8000,
        "left": -3904,
        "over": True,
        "say": "3904 bytes over the limit of 4096",
    }
    assert result["emoji"]["bytes"] == 304 and result["emoji"]["over"]
    assert result["sentence"].startswith(
        "Not sent: this message is 8000 bytes and the room takes at most 4096"
    )
    # The server counts alike: the same text is over its limit by the same bytes.
    assert protocol.utf8_size("\u00e9" * 4000) == result["over"]["bytes"]


def test_links_show_a_look_alike_host_in_punycode_and_no_bidi_controls() -> None:
    result = run_js(
        """
        const result = {
          cyrillic: chat.linkText("https://\u0430pple.com/login?next=/"),
          mixed: chat.linkText("http://user@b\u00fccher.example:8080/\u00e4"),
          ascii: chat.linkText("https://example.org/a?b=1"),
          broken: chat.linkText("https://exa mple"),
          bidi: chat.stripBidi("see \u202ehttps://evil.example/\u2066gpj.exe\u2069\u200f"),
        };
        """
    )
    assert result["cyrillic"] == {
        "href": "https://xn--pple-43d.com/login?next=/",
        "text": "https://xn--pple-43d.com/login?next=/",
    }
    assert result["mixed"]["text"] == "http://user@xn--bcher-kva.example:8080/\u00e4"
    assert result["mixed"]["href"] == "http://user@xn--bcher-kva.example:8080/%C3%A4"
    assert result["ascii"] == {
        "href": "https://example.org/a?b=1",
        "text": "https://example.org/a?b=1",
    }
    assert result["broken"] is None
    assert result["bidi"] == "see https://evil.example/gpj.exe"


def test_the_hands_queue_and_who_lowered_whose_hand() -> None:
    result = run_js(
        """
        const snapshot = {
          local: { id: "me", name: "Me", hand: 30 },
          peers: [{ id: "b", name: "Bo", hand: 20 }, { id: "c", name: "Cy", hand: 0 },
                  { id: "a", name: "Al", hand: 30 }],
        };
        const names = { me: "Me", b: "Bo", a: "Al" };
        const note = (id, by, hand = false) =>
          hands.loweredNote({ type: "peer-state", id, by, state: { hand } }, "me", (x) => names[x]);
        const result = {
          queue: hands.handQueue(snapshot).map((r) => [r.id, r.you]),
          notes: [note("me", "a"), note("me", "me"), note("b", "b"), note("b", "me"),
                  note("b", "a"), note("b", undefined), note("b", "a", 5)],
        };
        """
    )
    assert result["queue"] == [["b", False], ["a", False], ["me", True]]
    assert result["notes"] == [
        "Al lowered your hand",
        "",
        "Bo lowered their hand",
        "You lowered Bo's hand",
        "Al lowered Bo's hand",
        "",
        "",
    ]


def test_chat_and_hand_frames_are_read_strictly() -> None:
    result = run_js(
        """
        const read = (v) => protocol.readServerFrame(v);
        const result = [
          read({ type: "chat", id: "x", time: 5, from: "p", text: "<b>", name: 3, extra: 1 }),
          read({ type: "chat", id: "x", from: "p" }),
          read({ type: "peer-state", id: "p", state: { hand: 12, camera: "yes" }, by: "q" }),
          read({ type: "peer-state", id: "p", state: { hand: -1 } }),
          protocol.chatMessage("hi", true),
          protocol.lowerHandMessage("p"),
        ];
        """
    )
    assert result == [
        {
            "type": "chat",
            "id": "x",
            "time": 5,
            "from": "p",
            "name": "",
            "user": None,
            "color": None,
            "text": "<b>",
            "from_code": False,
        },
        None,
        {"type": "peer-state", "id": "p", "state": {"hand": 12}, "by": "q"},
        {"type": "peer-state", "id": "p", "state": {}},
        {"type": "chat", "text": "hi", "from_code": True},
        {"type": "lower-hand", "peer": "p"},
    ]
