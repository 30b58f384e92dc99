"""The protocol is written once per language: src/nbconference/protocol.py, js/protocol.js
and the table of error codes in docs/protocol.md must agree, name for name."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from nbconference import protocol
from support.node import module_url, needs_node, run_module

ROOT = Path(__file__).resolve().parent.parent

pytestmark = needs_node


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    """The names js/protocol.js exports, as JSON (Sets as sorted lists)."""
    result: dict[str, Any] = run_module(
        f"""
        import * as p from {json.dumps(module_url("protocol.js"))};
        const plain = (v) => v instanceof Set ? [...v].sort() : v instanceof RegExp ? v.source : v;
        const out = {{}};
        for (const [name, value] of Object.entries(p)) {{
          if (typeof value !== "function") out[name] = plain(value);
        }}
        console.log(JSON.stringify(out));
        """
    )
    return result


def frame_types(namespace: type) -> dict[str, str]:
    return {k: v for k, v in vars(namespace).items() if k.isupper()}


def test_names_and_values_agree(js: dict[str, Any]) -> None:
    assert js["PROTOCOL_VERSION"] == protocol.PROTOCOL_VERSION
    assert js["SIGNAL_PATH"] == protocol.SIGNAL_PATH
    assert js["MAX_NAME_CHARS"] == protocol.MAX_NAME_CHARS
    assert tuple(js["STATE_KEYS"]) == protocol.STATE_KEYS
    assert js["CLIENT"] == frame_types(protocol.ClientFrame)
    assert js["SERVER"] == frame_types(protocol.ServerFrame)
    for name in ("CLOSE_LEFT", "CLOSE_GOING_AWAY", "CLOSE_POLICY", "CLOSE_REPLACED"):
        assert js[name] == getattr(protocol, name), name
    assert js["CLOSE_DROPPED"] == protocol.CLOSE_DROPPED
    assert js["FINAL_CLOSE_CODES"] == sorted(protocol.FINAL_CLOSE_CODES)
    assert js["FATAL_JOIN_ERRORS"] == sorted(protocol.FATAL_JOIN_ERRORS)
    assert js["RECONNECT_FIRST_DELAY_MS"] == protocol.RECONNECT_FIRST_DELAY * 1000
    assert js["RECONNECT_MAX_DELAY_MS"] == protocol.RECONNECT_MAX_DELAY * 1000
    # Kinds of participant (docs/protocol.md, "Recorders").
    assert js["PARTICIPANT_KIND"] == protocol.PARTICIPANT_KIND
    assert js["RECORDER_KIND"] == protocol.RECORDER_KIND
    assert tuple(js["PEER_KINDS"]) == protocol.PEER_KINDS
    # The same room names pass both patterns.
    js_room = re.compile(js["ROOM_PATTERN"])
    for room in ("lab", "a" * 64, "a" * 65, "x y", "ü", "a.b_c-d", ""):
        assert bool(js_room.fullmatch(room)) == protocol.valid_room(room), room


def test_error_codes_agree_in_code_and_docs(js: dict[str, Any]) -> None:
    assert sorted(js["ERROR_CODES"]) == sorted(protocol.ERROR_CODES)
    assert sorted(js["ERROR_EXPLANATIONS"]) == sorted(protocol.ERROR_CODES)
    docs = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `([a-z-]+)` \|", docs, re.MULTILINE))
    assert table == set(protocol.ERROR_CODES)


def test_the_view_channel_is_the_same_in_both_languages(js: dict[str, Any]) -> None:
    """What a receiver shows travels peer to peer (docs/protocol.md, "What a receiver
    shows"): a browser and a KernelPeer must read each other's requests and round them
    to the same scale steps."""
    assert js["VIEW_CHANNEL"] == protocol.VIEW_CHANNEL
    assert js["VIEW_REQUEST"] == protocol.VIEW_REQUEST
    assert js["MAX_VIEW_HEIGHT"] == protocol.MAX_VIEW_HEIGHT
    assert js["MAX_VIEW_MESSAGE"] == protocol.MAX_VIEW_MESSAGE
    assert tuple(js["SCALE_STEPS"]) == protocol.SCALE_STEPS
    grid = [(source, shown) for source in (180, 360, 720, 1080) for shown in (1, 45, 100, 186, 700)]
    texts = [
        protocol.view_request(360, 0),
        '{"type":"view","camera":1e400,"screen":0}',
        '{"type":"view","camera":-4,"screen":9999.6}',
        '{"type":"view","camera":"360","screen":0}',
        '{"type":"other","camera":1,"screen":0}',
        "not json",
        '{"type":"view","camera":1,"screen":' + " " * 300 + "0}",
        # Right at the longest message both read, and one character past it.
        '{"type":"view","camera":1,"screen":0' + " " * (protocol.MAX_VIEW_MESSAGE - 37) + "}",
        '{"type":"view","camera":1,"screen":0' + " " * (protocol.MAX_VIEW_MESSAGE - 36) + "}",
    ]
    result = run_module(
        f"""
        import * as p from {json.dumps(module_url("protocol.js"))};
        const grid = {json.dumps(grid)};
        const texts = {json.dumps(texts)};
        console.log(JSON.stringify({{
          steps: grid.map(([source, shown]) => p.scaleFor(source, shown)),
          read: texts.map((text) => p.readViewRequest(text)),
          made: p.viewRequest({{ camera: 360.4, screen: -1 }}),
        }}));
        """
    )
    assert result["steps"] == [protocol.scale_for(source, shown) for source, shown in grid]
    parsed = [protocol.parse_view_request(text) for text in texts]
    assert result["read"] == [None if r is None else vars(r) for r in parsed]
    assert protocol.parse_view_request(result["made"]) == protocol.ViewRequest(360, 0)


def test_the_page_reads_the_chat_limit_the_server_announces(js: dict[str, Any]) -> None:
    """The page counts a message's bytes against the room's own limit (docs/protocol.md,
    welcome's ``limits``), and against the server default when a welcome says none."""
    assert js["MAX_CHAT_BYTES"] == protocol.DEFAULT_CHAT_LIMITS.max_chat_bytes

    def welcome(chat_limits: protocol.ChatLimits | None) -> Any:
        return json.loads(
            protocol.welcome_frame(
                peer_id="me",
                peer={"id": "me", "name": "Al", "state": {}, "user": None, "color": None},
                resume="tok",
                resumed=False,
                room="lab",
                peers=[],
                ice_servers=[],
                limits=protocol.DEFAULT_LIMITS,
                chat_limits=chat_limits,
            )
        )

    frames = [welcome(protocol.ChatLimits(max_chat_bytes=300)), welcome(None)]
    older = {key: value for key, value in frames[1].items() if key != "limits"}
    frames += [older, {**older, "limits": {"max_chat_bytes": "300"}}]
    result = run_module(
        f"""
        import * as p from {json.dumps(module_url("protocol.js"))};
        const frames = {json.dumps(frames)};
        console.log(JSON.stringify(frames.map((f) => p.readServerFrame(f).limits.max_chat_bytes)));
        """
    )
    assert result == [300, 4096, 4096, 4096]
