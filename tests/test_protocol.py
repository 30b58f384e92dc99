import json
import sys
from collections.abc import Iterator

import pytest

from nbconference.protocol import MAX_DEPTH, Join, ProtocolError, Signal, parse_client_message

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
