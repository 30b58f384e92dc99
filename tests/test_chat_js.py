"""The chat's and hands' pure rules, run in Node straight from js/: each message once and
in the server's time order (js/chat.js), the hands queue and who-lowered-whose-hand
sentences (js/hands.js), and how the protocol reads chat and hand frames (js/protocol.js)."""

from __future__ import annotations

import json
from typing import Any

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
