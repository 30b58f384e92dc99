import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from nbconference.protocol import (
    DEFAULT_LIMITS,
    ERROR_CODES,
    MAX_DEPTH,
    ErrorCode,
    Join,
    Leave,
    ProtocolError,
    Signal,
    State,
    encode,
    error_frame,
    join_message,
    leave_message,
    media_frame,
    parse_client_message,
    peer_joined_frame,
    peer_left_frame,
    peer_state_frame,
    signal_frame,
    signal_message,
    state_message,
    welcome_frame,
)

LIMIT = 1024


def parse(obj: object) -> object:
    return parse_client_message(json.dumps(obj), LIMIT)


def test_join_parses_room_name_and_state() -> None:
    msg = parse({"type": "join", "room": "lab-1", "name": "Ada", "state": {"camera": False}})
    assert msg == Join("lab-1", "Ada", {"camera": False}, None)


def test_signal_needs_description_or_candidate() -> None:
    assert parse({"type": "signal", "to": "p", "data": {"candidate": {}}}) == Signal(
        "p", {"candidate": {}}
    )
    with pytest.raises(ProtocolError, match="description"):
        parse({"type": "signal", "to": "p", "data": {"other": 1}})


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad-message"),
        ("[1, 2]", "bad-message"),
        ('{"type": "dance"}', "bad-message"),
        ('{"type": []}', "bad-message"),
        ('{"type": {"a": 1}}', "bad-message"),
        ('{"type": "join", "room": "no spaces"}', "bad-message"),
        ('{"type": "join", "room": "' + "r" * 65 + '"}', "bad-message"),
        ('{"type": "signal", "to": 3, "data": {}}', "bad-message"),
        ('{"type": "state", "state": {"camera": "yes"}}', "bad-message"),
        ("x" * (LIMIT + 1), "too-large"),
    ],
)
def test_bad_frames_name_their_problem(frame: str, code: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_client_message(frame, LIMIT)
    assert info.value.code == code
    assert info.value.message


@pytest.fixture(params=[1000, 20_000], ids=["default-recursion-limit", "raised-recursion-limit"])
def recursion_limit(request: pytest.FixtureRequest) -> Iterator[int]:
    # IPython raises the limit to 3000, which once let a 1,500-deep frame through.
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(request.param)
    yield request.param
    sys.setrecursionlimit(old)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1500, 20_000])
def test_deep_nesting_is_refused_whatever_the_recursion_limit(
    recursion_limit: int, depth: int
) -> None:
    frame = '{"type":"signal","to":"p","data":{"candidate":' + "[" * depth + "]" * depth + "}}"
    with pytest.raises(ProtocolError, match="nests deeper") as caught:
        parse_client_message(frame, 1 << 20)
    assert caught.value.code == "bad-message"


def test_nesting_up_to_the_limit_and_brackets_in_strings_pass() -> None:
    depth = MAX_DEPTH - 2  # the envelope and "data" take two levels
    nested = parse(
        {"type": "signal", "to": "p", "data": {"candidate": json.loads("[" * depth + "]" * depth)}}
    )
    assert isinstance(nested, Signal)
    text = '[{"\\"' * 40
    msg = parse({"type": "signal", "to": "p", "data": {"candidate": {"sdp": text}}})
    assert isinstance(msg, Signal) and msg.data["candidate"]["sdp"] == text


# The builders are checked against frames written out by hand: those literals, not the
# module's own constants, are the independent record of the wire format.


def test_client_frame_builders_make_the_frames_the_server_parses() -> None:
    join = join_message("lab", "Ada", {"camera": True})
    assert join == {"type": "join", "room": "lab", "name": "Ada", "state": {"camera": True}}
    assert parse(join) == Join("lab", "Ada", {"camera": True}, None)
    assert join_message("lab", "Ada", {}, resume="tok")["resume"] == "tok"
    assert "resume" not in join_message("lab", "Ada", {}, resume="")
    data = {"candidate": {"candidate": "c", "sdpMid": "0"}}
    assert signal_message("p", data) == {"type": "signal", "to": "p", "data": data}
    assert parse(signal_message("p", data)) == Signal("p", data)
    assert state_message({"screen": True}) == {"type": "state", "state": {"screen": True}}
    assert parse(state_message({"screen": True})) == State({"screen": True})
    assert leave_message() == {"type": "leave"}
    assert parse(leave_message()) == Leave()


def test_server_frame_builders_match_the_wire_format() -> None:
    welcome = json.loads(
        welcome_frame(
            peer_id="me",
            peer={"id": "me", "name": "Al", "state": {}, "user": None, "color": None},
            resume="tok",
            resumed=False,
            room="lab",
            peers=[{"id": "p", "name": "Bo", "state": {}}],
            ice_servers=[],
            limits=DEFAULT_LIMITS,
        )
    )
    assert welcome == {
        "type": "welcome",
        "protocol": 1,
        "id": "me",
        "peer": {"id": "me", "name": "Al", "state": {}, "user": None, "color": None},
        "resume": "tok",
        "resumed": False,
        "room": "lab",
        "peers": [{"id": "p", "name": "Bo", "state": {}}],
        "ice_servers": [],
        "limits": {
            "max_peers_per_room": 8,
            "max_message_bytes": 65536,
            "messages_per_second": 500.0,
            "message_burst": 1000,
            "reconnect_grace_seconds": 15.0,
            "max_chat_bytes": 4096,
        },
        "media": "mesh",
    }
    assert json.loads(media_frame("sfu")) == {"type": "media", "media": "sfu"}
    peer = {"id": "p", "name": "Bo", "state": {"camera": True}}
    assert json.loads(peer_joined_frame(peer)) == {"type": "peer-joined", "peer": peer}
    assert json.loads(peer_left_frame("p")) == {"type": "peer-left", "id": "p"}
    assert json.loads(peer_state_frame("p", {"camera": False})) == {
        "type": "peer-state",
        "id": "p",
        "state": {"camera": False},
    }
    assert json.loads(signal_frame("p", '{"candidate":{}}')) == {
        "type": "signal",
        "from": "p",
        "data": {"candidate": {}},
    }


def test_error_frames_name_the_peer_only_when_one_is_concerned() -> None:
    assert json.loads(error_frame("unknown-peer", "no peer 'p'", peer="p")) == {
        "type": "error",
        "code": "unknown-peer",
        "message": "no peer 'p'",
        "peer": "p",
    }
    assert "peer" not in json.loads(error_frame("bad-message", "not JSON"))
    error = ProtocolError("peer-unavailable", "reconnecting", peer="p")
    assert (error.code, error.message, error.peer) == ("peer-unavailable", "reconnecting", "p")
    assert ProtocolError("bad-message", "x").peer is None


def test_error_codes_are_their_bare_strings_on_the_wire() -> None:
    assert {code.value for code in ErrorCode} == ERROR_CODES
    for code in ErrorCode:
        # The enum and its string are one code: equal, hashed alike, printed and encoded
        # as the string (the fast encoder and the standard one alike).
        assert code == code.value and code.value in {code} and str(code) == code.value
        assert f"{code}" == code.value
        assert json.loads(encode({"code": code})) == {"code": code.value}
        assert json.dumps({"code": code}) == json.dumps({"code": code.value})
        frame = json.loads(error_frame(code, "why"))
        assert frame["code"] == code.value and type(frame["code"]) is str
        assert ProtocolError(code.value, "why").code is code


# Checks written as ``assert`` vanish under ``python -O``; these must not.
UNKNOWN_CODES = """
import sys
from nbconference.protocol import ProtocolError, error_frame
for make in (lambda: ProtocolError("no-such-code", "x"), lambda: error_frame("room-ful", "x")):
    try:
        make()
    except ValueError as error:
        print("refused:", error)
    else:
        print("accepted")
"""


def test_an_unknown_error_code_is_refused_even_under_python_dash_o() -> None:
    src = os.path.dirname(os.path.dirname(sys.modules["nbconference"].__file__ or ""))
    result = subprocess.run(
        [sys.executable, "-O", "-c", UNKNOWN_CODES],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": src},
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines == [
        "refused: 'no-such-code' is not an nbconference error code",
        "refused: 'room-ful' is not an nbconference error code",
    ]
