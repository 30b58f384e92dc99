import json

import pytest

from nbconference.protocol import Join, ProtocolError, Signal, parse_client_message

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
