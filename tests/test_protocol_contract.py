"""The protocol is written once per language: src/nbconference/protocol/, js/protocol/
and the table of error codes in docs/protocol.md must agree, name for name. So must the
widget's own wire (the comm messages between widget.py and js/bridge.js, the record a
browser reports of itself, the signaling modes), checked against the records the JS code
really makes and what viewers.py reads of them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from nbconference import protocol
from nbconference.protocol import (
    ErrorCode,
    FromKernel,
    SignalingMode,
    ToKernel,
    parse_client_message,
    sfu,
)
from nbconference.viewers import Viewers, peer_record, viewer_record
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
    assert js["HUB_LOGIN_PATH"] == protocol.HUB_LOGIN_PATH
    assert js["HUB_LOGIN_MESSAGE"] == protocol.HUB_LOGIN_MESSAGE
    assert js["MAX_NAME_CHARS"] == protocol.MAX_NAME_CHARS
    assert tuple(js["STATE_KEYS"]) == protocol.STATE_KEYS
    assert js["CLIENT"] == frame_types(protocol.ClientFrame)
    assert js["SERVER"] == frame_types(protocol.ServerFrame)
    for name in (
        "CLOSE_LEFT",
        "CLOSE_GOING_AWAY",
        "CLOSE_POLICY",
        "CLOSE_REPLACED",
        "CLOSE_REMOVED",
        "CLOSE_ENDED",
    ):
        assert js[name] == getattr(protocol, name), name
    assert js["PING_ID_PATTERN"] == f"^{protocol.PING_ID_PATTERN.pattern}$"
    assert js["CLOSE_DROPPED"] == protocol.CLOSE_DROPPED
    assert js["FINAL_CLOSE_CODES"] == sorted(protocol.FINAL_CLOSE_CODES)
    assert js["FATAL_JOIN_ERRORS"] == sorted(protocol.FATAL_JOIN_ERRORS)
    assert js["RECONNECT_FIRST_DELAY_MS"] == protocol.RECONNECT_FIRST_DELAY * 1000
    assert js["RECONNECT_MAX_DELAY_MS"] == protocol.RECONNECT_MAX_DELAY * 1000
    # Kinds of participant (docs/protocol.md, "Recorders").
    assert js["PARTICIPANT_KIND"] == protocol.PARTICIPANT_KIND
    assert js["RECORDER_KIND"] == protocol.RECORDER_KIND
    assert tuple(js["PEER_KINDS"]) == protocol.PEER_KINDS
    # Media planes (docs/protocol.md, "SFU").
    assert (js["MEDIA_MESH"], js["MEDIA_SFU"]) == (protocol.MEDIA_MESH, protocol.MEDIA_SFU)
    assert tuple(js["MEDIA_PLANES"]) == protocol.MEDIA_PLANES
    # The same room names pass both patterns.
    js_room = re.compile(js["ROOM_PATTERN"])
    for room in ("lab", "a" * 64, "a" * 65, "x y", "ü", "a.b_c-d", "", "ada~notes-1f2e"):
        assert bool(js_room.fullmatch(room)) == protocol.valid_room(room), room


def test_the_sfu_frames_agree(js: dict[str, Any]) -> None:
    assert js["SFU_CLIENT"] == frame_types(sfu.SfuClient)
    assert js["SFU_SERVER"] == frame_types(sfu.SfuServer)
    assert tuple(js["SFU_KINDS"]) == sfu.SFU_KINDS
    assert tuple(js["SFU_PCS"]) == sfu.SFU_PCS
    assert js["MAX_SFU_STREAMS"] == sfu.MAX_SFU_STREAMS
    assert js["MAX_SUBSTREAM"] == sfu.MAX_SUBSTREAM
    assert js["MID_PATTERN"] == f"^{sfu.MID_PATTERN.pattern}$"
    docs = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    for kind in [*js["SFU_CLIENT"].values(), *js["SFU_SERVER"].values()]:
        assert f"`{kind}`" in docs, kind


def test_the_hosts_frames_agree(js: dict[str, Any]) -> None:
    """A host's requests as the page builds them are what the server parses, and the
    frames the server sends about hosts are what the page reads (docs/protocol.md,
    "Hosts")."""
    assert js["DEFAULT_BAN_MINUTES"] == protocol.DEFAULT_BAN_MINUTES
    assert js["MAX_BAN_MINUTES"] == protocol.MAX_BAN_MINUTES
    assert tuple(js["MUTE_DEVICES"]) == protocol.MUTE_DEVICES
    docs = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    for kind in (*sorted(protocol.HOST_CLIENT_TYPES), "hosts", "muted", "done"):
        assert f'"type": "{kind}"' in docs, kind
    server_frames = [
        protocol.hosts_frame(["a", "b"]),
        protocol.muted_frame("p", "h", "Ada Lovelace", True, False),
        protocol.muted_frame("p", "", "ada's notebook", False, True),
        protocol.done_frame("h1"),
        protocol.error_frame("not-host", "only a host", request="h2"),
        '{"type":"hosts","hosts":["a",3]}',
    ]
    result = run_module(
        f"""
        import * as p from {json.dumps(module_url("protocol.js"))};
        const read = (text) => p.readServerFrame(JSON.parse(text));
        console.log(JSON.stringify({{
          read: {json.dumps(server_frames)}.map(read),
          built: [
            p.muteMessage("p"),
            p.muteMessage("p", {{ microphone: false, camera: true }}),
            p.removeMessage("p"),
            p.removeMessage("p", 0.5),
            p.endCallMessage(),
            p.makeHostMessage("p"),
          ],
        }}));
        """
    )
    assert result["read"] == [
        {"type": "hosts", "hosts": ["a", "b"]},
        {"type": "muted", "id": "p", "by": "h", "name": "Ada Lovelace"}
        | {"microphone": True, "camera": False},
        {"type": "muted", "id": "p", "by": "", "name": "ada's notebook"}
        | {"microphone": False, "camera": True},
        {"type": "done", "request": "h1"},
        {"type": "error", "code": "not-host", "message": "only a host", "request": "h2"},
        {"type": "hosts", "hosts": ["a"]},
    ]
    parsed = [parse_client_message(json.dumps(frame), 1024) for frame in result["built"]]
    assert parsed == [
        protocol.Mute("p", True, False),
        protocol.Mute("p", False, True),
        protocol.Remove("p", protocol.DEFAULT_BAN_MINUTES),
        protocol.Remove("p", 0.5),
        protocol.EndCall(),
        protocol.MakeHost("p"),
    ]
    # What the Python client builds is what the page builds.
    assert [
        protocol.mute_message("p"),
        protocol.mute_message("p", microphone=False, camera=True),
        protocol.remove_message("p"),
        protocol.remove_message("p", 0.5),
        protocol.end_call_message(),
        protocol.make_host_message("p"),
    ] == result["built"]


def test_the_lobby_frames_agree(js: dict[str, Any]) -> None:
    """The lobby's requests as the page builds them are what the server parses, and the
    frames the server sends about it are what the page reads (docs/protocol.md, "The
    lobby")."""
    assert js["WAITING_MESSAGE"] == protocol.WAITING_MESSAGE
    assert tuple(js["LOBBY_ENTRY_FIELDS"]) == protocol.LOBBY_ENTRY_FIELDS
    assert js["CLOSE_DENIED"] == protocol.CLOSE_DENIED
    assert protocol.CLOSE_DENIED in protocol.FINAL_CLOSE_CODES
    docs = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    for kind in (*sorted(protocol.LOBBY_CLIENT_TYPES), "waiting", "lobby"):
        assert f'"type": "{kind}"' in docs, kind
    entry = protocol.lobby_entry("g", "Grace Hopper", "grace", 1_700_000_000_000)
    assert tuple(entry) == protocol.LOBBY_ENTRY_FIELDS
    server_frames = [
        protocol.waiting_frame("me", "tok", "lab", 1_700_000_000_000),
        protocol.lobby_frame(True, [entry, protocol.lobby_entry("n", "Newcomer", "", 5)]),
        protocol.lobby_frame(False, []),
        '{"type":"lobby","locked":1,"waiting":[{"id":3},{"id":"x"}]}',
        '{"type":"waiting","room":"lab"}',
    ]
    result = run_module(
        f"""
        import * as p from {json.dumps(module_url("protocol.js"))};
        const read = (text) => p.readServerFrame(JSON.parse(text));
        console.log(JSON.stringify({{
          read: {json.dumps(server_frames)}.map(read),
          built: [p.lockMessage(), p.unlockMessage(), p.admitMessage("p"), p.denyMessage("p")],
        }}));
        """
    )
    assert result["read"] == [
        {"type": "waiting", "id": "me", "resume": "tok", "room": "lab"}
        | {"waiting_since": 1_700_000_000_000, "message": protocol.WAITING_MESSAGE},
        {
            "type": "lobby",
            "locked": True,
            "waiting": [entry, protocol.lobby_entry("n", "Newcomer", "", 5)],
        },
        {"type": "lobby", "locked": False, "waiting": []},
        {"type": "lobby", "locked": False, "waiting": [protocol.lobby_entry("x", "", "", 0)]},
        None,
    ]
    parsed = [parse_client_message(json.dumps(frame), 1024) for frame in result["built"]]
    assert parsed == [protocol.Lock(), protocol.Unlock(), protocol.Admit("p"), protocol.Deny("p")]
    # What the Python client builds is what the page builds.
    assert [
        protocol.lock_message(),
        protocol.unlock_message(),
        protocol.admit_message("p"),
        protocol.deny_message("p"),
    ] == result["built"]


def test_the_breakout_frames_agree(js: dict[str, Any]) -> None:
    """Breakout requests as the page builds them are what the server parses, and the
    frames the server sends about breakouts are what the page reads (docs/protocol.md,
    "Breakout rooms")."""
    for name in ("BREAKOUT_MARK", "MAX_GROUPS", "MIN_BREAKOUT_MINUTES", "MAX_BREAKOUT_MINUTES"):
        assert js[name] == getattr(protocol, name), name
    assert js["DEFAULT_BREAKOUT_MINUTES"] == protocol.DEFAULT_BREAKOUT_MINUTES
    assert js["GROUP_PATTERN"] == f"^{protocol.GROUP_PATTERN.pattern}$"
    assert tuple(js["HELP_ENTRY_FIELDS"]) == protocol.HELP_ENTRY_FIELDS
    asking = protocol.help_entry("p2", "Bob", "group-a", 1_700_000_000_000)
    assert tuple(asking) == protocol.HELP_ENTRY_FIELDS
    docs = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    for kind in (*sorted(protocol.BREAKOUT_CLIENT_TYPES), "moved", "breakouts"):
        assert f'"type": "{kind}"' in docs, kind
    server_frames = [
        protocol.moved_frame("lab.breakout.group-a", "group-a", "lab"),
        protocol.moved_frame("lab", "", "lab"),
        protocol.breakouts_frame(
            "lab", {"group-a": ["p1", "p2"], "group-b": ["p3"]}, 599.94, [asking]
        ),
        protocol.breakouts_frame("lab", {}, 0),
        '{"type":"breakouts","main":"lab","groups":{"bad name":["x"],"ok":["y",3]},'
        '"seconds_left":-1,"help":[{"id":3},{"id":"q","group":"ok"}]}',
        '{"type":"moved","room":3,"main":"lab"}',
    ]
    result = run_module(
        f"""
        import * as p from {json.dumps(module_url("protocol.js"))};
        const read = (text) => p.readServerFrame(JSON.parse(text));
        console.log(JSON.stringify({{
          read: {json.dumps(server_frames)}.map(read),
          built: [
            p.breakoutMessage({{ groups: {{ "group-a": ["p1", "p2"], "b": ["p3"] }} }}, 5),
            p.breakoutMessage({{ n_groups: 3 }}),
            p.endBreakoutMessage(),
            p.visitMessage("group-a"),
            p.visitMessage(""),
          ],
        }}));
        """
    )
    assert result["read"] == [
        {"type": "moved", "room": "lab.breakout.group-a", "group": "group-a", "main": "lab"},
        {"type": "moved", "room": "lab", "group": "", "main": "lab"},
        {
            "type": "breakouts",
            "main": "lab",
            "groups": {"group-a": ["p1", "p2"], "group-b": ["p3"]},
            "seconds_left": 599.9,
            "help": [asking],
        },
        {"type": "breakouts", "main": "lab", "groups": {}, "seconds_left": 0, "help": []},
        {
            "type": "breakouts",
            "main": "lab",
            "groups": {"ok": ["y"]},
            "seconds_left": 0,
            "help": [{"id": "q", "name": "", "group": "ok", "hand": 1}],
        },
        None,
    ]
    parsed = [parse_client_message(json.dumps(frame), 1024) for frame in result["built"]]
    assert parsed == [
        protocol.Breakout((("group-a", ("p1", "p2")), ("b", ("p3",))), 0, 5.0),
        protocol.Breakout((), 3, protocol.DEFAULT_BREAKOUT_MINUTES),
        protocol.EndBreakout(),
        protocol.Visit("group-a"),
        protocol.Visit(""),
    ]
    # What the Python client builds is what the page builds.
    assert [
        protocol.breakout_message({"group-a": ["p1", "p2"], "b": ["p3"]}, minutes=5),
        protocol.breakout_message(n_groups=3),
        protocol.end_breakout_message(),
        protocol.visit_message("group-a"),
        protocol.visit_message(""),
    ] == result["built"]


def test_error_codes_agree_in_code_and_docs(js: dict[str, Any]) -> None:
    # Name for name and code for code: ErrorCode.ROOM_FULL is ERROR.ROOM_FULL.
    assert js["ERROR"] == {code.name: code.value for code in ErrorCode}
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


def test_the_widgets_comm_messages_and_signaling_modes_agree(js: dict[str, Any]) -> None:
    assert js["TO_KERNEL"] == frame_types(ToKernel)
    assert js["FROM_KERNEL"] == frame_types(FromKernel)
    assert js["SIGNALING_MODE"] == frame_types(SignalingMode)
    assert tuple(js["SIGNALING_MODES"]) == protocol.SIGNALING_MODES
    assert set(protocol.SIGNALING_MODES) == set(frame_types(SignalingMode).values())
    assert tuple(js["PERSON_FIELDS"]) == protocol.PERSON_FIELDS
    assert tuple(js["VIEWER_REPORT_FIELDS"]) == protocol.VIEWER_REPORT_FIELDS
    assert tuple(js["ROSTER_ENTRY_FIELDS"]) == protocol.ROSTER_ENTRY_FIELDS
    assert tuple(js["RECORDER_ENTRY_FIELDS"]) == protocol.RECORDER_ENTRY_FIELDS
    assert tuple(js["JOIN_PHASES"]) == protocol.JOIN_PHASES
    assert tuple(js["DIAGNOSIS_FIELDS"]) == protocol.DIAGNOSIS_FIELDS


# A call as a view sees it, with a value in every field the report reads that no default
# could produce.
SNAPSHOT = {
    "local": {
        "id": "me-1",
        "name": "Ada",
        "username": "ada",
        "initials": "AL",
        "color": "#123456",
        "avatar_url": "https://example.org/ada.png",
        "verified": True,
        "camera": True,
        "microphone": False,
        "screen": True,
        "hand": 1_700_000_000_000,
        "host": True,
    },
    "wanted": {"camera": False, "microphone": True},
    "receiveVideo": False,
    "status": "reconnecting",
    "error": "",
    "notice": "the network is slow",
    "mediaError": "no camera",
    "peers": [
        {
            "id": "peer-2",
            "name": "Bob",
            "username": "bob",
            "initials": "B",
            "color": "#abcdef",
            "avatar_url": "https://example.org/bob.png",
            "verified": True,
            "camera": False,
            "microphone": True,
            "screen": True,
            "hand": 1_700_000_001_000,
            "host": True,
            "connection": "connecting",
            "problem": "no route",
            "widget": "another-widget",
            "kind": "participant",
        }
    ],
    "recorders": [{"id": "rec-3", "name": "Recorder", "widget": None}],
    "media": "sfu",
    "devices": {
        "list": [{"kind": "camera", "deviceId": "cam-1", "label": "Never sent"}],
        "report": {
            "in_use": [{"kind": "camera", "label": "USB camera"}],
            "counts": {"camera": 2, "microphone": 1, "speaker": 3},
        },
    },
    "lobby": {
        "locked": True,
        "waiting": [
            {"id": "knock-4", "name": "Cy", "username": "cy", "waiting_since": 1_700_000_002_000}
        ],
    },
    "breakout": {
        "group": "group-a",
        "main": "lab",
        "groups": {"group-a": ["me-1", "peer-2"], "group-b": ["peer-5"]},
        "endsAt": 1_700_000_600_000,
    },
}


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    """What js/snapshot.js viewerRecordOf makes of SNAPSHOT, and the keys it has (a field
    the JSON would drop, being undefined, still counts)."""
    result: dict[str, Any] = run_module(
        f"""
        import {{ viewerRecordOf }} from {json.dumps(module_url("snapshot.js"))};
        const record = viewerRecordOf({json.dumps(SNAPSHOT)});
        console.log(JSON.stringify({{
          record,
          keys: Object.keys(record),
          peerKeys: record.peers.map((peer) => Object.keys(peer)),
          recorderKeys: record.recorders.map((recorder) => Object.keys(recorder)),
        }}));
        """
    )
    return result


def test_the_viewer_report_the_browser_makes_has_the_agreed_fields(report: dict[str, Any]) -> None:
    assert tuple(report["keys"]) == protocol.VIEWER_REPORT_FIELDS
    assert [tuple(keys) for keys in report["peerKeys"]] == [protocol.ROSTER_ENTRY_FIELDS]
    assert [tuple(keys) for keys in report["recorderKeys"]] == [protocol.RECORDER_ENTRY_FIELDS]


class ReadKeys(dict[str, Any]):
    """A report that notes which of its fields the code reading it asks for."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)


def test_viewers_py_reads_only_fields_the_browser_sends(report: dict[str, Any]) -> None:
    record = ReadKeys(report["record"])
    viewer_record(record)
    entry = ReadKeys(report["record"]["peers"][0])
    peer_record(entry)
    assert record.read and record.read <= set(protocol.VIEWER_REPORT_FIELDS)
    assert entry.read and entry.read <= set(protocol.ROSTER_ENTRY_FIELDS)


def test_the_kernel_reads_every_value_of_the_browsers_report(report: dict[str, Any]) -> None:
    viewers = Viewers("this-widget")
    viewers.report("browser-1", report["record"], now=0.0)
    local, peer = SNAPSHOT["local"], SNAPSHOT["peers"][0]  # type: ignore[index]
    identity = ("name", "username", "initials", "color", "avatar_url", "verified")
    (me,) = viewers.viewers()
    assert {key: me[key] for key in ("id", *identity, "camera", "microphone", "screen")} == {
        key: local[key] for key in ("id", *identity, "camera", "microphone", "screen")
    }
    assert (me["hand"], me["hand_raised_at"]) == (True, local["hand"] / 1000)
    assert me["host"] is True
    assert (me["status"], me["error"]) == (SNAPSHOT["status"], SNAPSHOT["notice"])
    assert me["receive_video"] is SNAPSHOT["receiveVideo"]
    (them,) = viewers.peers()
    fields = ("id", *identity, "camera", "microphone", "screen", "connection", "problem")
    assert {key: them[key] for key in fields} == {key: peer[key] for key in fields}
    assert (them["hand"], them["hand_raised_at"]) == (True, peer["hand"] / 1000)
    assert them["host"] is True
    assert viewers.recorders() == [{"id": "rec-3", "name": "Recorder"}]
    # Who waits in the lobby, as a host's page sees it (seconds, not ms); this viewer is
    # reconnecting, not in the room, so the kernel takes another's word only.
    assert viewers.lobby() == (False, [])
    viewers.report("browser-2", {**report["record"], "status": "joined"}, now=0.0)
    (waiting,) = SNAPSHOT["lobby"]["waiting"]  # type: ignore[index]
    assert viewers.lobby() == (True, [{**waiting, "waiting_since": 1_700_000_002.0}])
    # The groups of a breakout, as a page in the room or one of its groups sees them.
    assert viewers.breakouts() == SNAPSHOT["breakout"]["groups"]  # type: ignore[index]
    viewers.gone("browser-2")
    assert viewers.breakouts() == {}
    only = viewers.only()
    assert only is not None
    assert (only["wanted_camera"], only["wanted_microphone"]) == (False, True)
    assert only["media_error"] == SNAPSHOT["mediaError"]
    # The devices in use and the counts, never the full list (its labels stay in the page).
    assert viewers.devices() == [
        {"id": local["id"], "name": local["name"], **SNAPSHOT["devices"]["report"]}  # type: ignore[index]
    ]
    assert "Never sent" not in json.dumps(report["record"])


def test_every_error_frame_the_server_makes_is_read_by_the_browser() -> None:
    """Each code as Python encodes it is the code JS reads and explains; a code JS does
    not know (a newer server's) is kept apart, and still shown."""
    frames = [protocol.error_frame(code, "why", peer="p") for code in ErrorCode]
    newer = '{"type":"error","code":"room-on-fire","message":"why"}'
    result = run_module(
        f"""
        import * as p from {json.dumps(module_url("protocol.js"))};
        const read = (text) => p.readServerFrame(JSON.parse(text));
        const frames = {json.dumps(frames)}.map(read);
        const newer = read({json.dumps(newer)});
        console.log(JSON.stringify({{
          frames,
          said: frames.map((frame) => p.describeError(frame)),
          newer,
          newerSaid: p.describeError(newer),
        }}));
        """
    )
    assert [frame["code"] for frame in result["frames"]] == [code.value for code in ErrorCode]
    assert all(frame["peer"] == "p" and "other" not in frame for frame in result["frames"])
    assert all(said.startswith("Server: ") for said in result["said"])
    assert result["newer"] == {
        "type": "error",
        "code": "",
        "other": "room-on-fire",
        "message": "why",
    }
    assert result["newerSaid"] == "Server error room-on-fire: why"


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


def test_the_page_reads_the_ice_servers_and_policy_the_server_gives(js: dict[str, Any]) -> None:
    """A welcome says which candidates to use; an ``ice-servers`` frame renews the TURN
    credentials (docs/protocol.md, "TURN credentials")."""
    assert tuple(js["ICE_TRANSPORT_POLICIES"]) == protocol.ICE_TRANSPORT_POLICIES
    turn = {"urls": ["turn:127.0.0.1:3478"], "username": "1:me", "credential": "c"}
    welcome = json.loads(
        protocol.welcome_frame(
            peer_id="me",
            peer={"id": "me", "name": "Al", "state": {}, "user": None, "color": None},
            resume="tok",
            resumed=False,
            room="lab",
            peers=[],
            ice_servers=[turn],
            limits=protocol.DEFAULT_LIMITS,
            ice_transport_policy=protocol.ICE_TRANSPORT_RELAY,
        )
    )
    older = {key: value for key, value in welcome.items() if key != "ice_transport_policy"}
    renewal = json.loads(protocol.ice_servers_frame([turn, {"url": "not an ICE server"}]))
    result = run_module(
        f"""
        import * as p from {json.dumps(module_url("protocol.js"))};
        const read = (frame) => p.readServerFrame(frame);
        console.log(JSON.stringify([
          read({json.dumps(welcome)}), read({json.dumps(older)}), read({json.dumps(renewal)}),
        ]));
        """
    )
    assert result[0]["ice_transport_policy"] == "relay" and result[0]["ice_servers"] == [turn]
    assert result[1]["ice_transport_policy"] == "all"
    assert result[2] == {"type": "ice-servers", "ice_servers": [turn]}


def test_the_page_reads_the_rooms_media_plane() -> None:
    """welcome.media and the media frame, as the server makes them, are what the page
    reads; a welcome from a server without the move reads as a mesh, and a plane the
    page does not know is not taken."""

    def welcome(media: str) -> Any:
        return protocol.welcome_frame(
            peer_id="me",
            peer={"id": "me", "name": "Al", "state": {}, "user": None, "color": None},
            resume="tok",
            resumed=False,
            room="lab",
            peers=[],
            ice_servers=[],
            limits=protocol.DEFAULT_LIMITS,
            media=media,
        )

    older = {k: v for k, v in json.loads(welcome("sfu")).items() if k != "media"}
    frames = [welcome("sfu"), welcome("mesh"), json.dumps(older)]
    frames += [protocol.media_frame("sfu"), '{"type":"media","media":"p2p"}']
    result = run_module(
        f"""
        import * as p from {json.dumps(module_url("protocol.js"))};
        const frames = {json.dumps(frames)}.map((text) => p.readServerFrame(JSON.parse(text)));
        console.log(JSON.stringify(frames.map((f) => f && f.media)));
        """
    )
    assert result == ["sfu", "mesh", "mesh", "sfu", None]
