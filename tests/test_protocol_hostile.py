"""Hostile input to the frame parser: Hypothesis properties, a plain reference for the
depth scan, megabyte-sized worst cases, and the module on every Python the package claims.

The worst cases are checked by their results, not by a stopwatch: a scan that backtracks
catastrophically on them would not finish within the test's timeout at all.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import random
import re
import subprocess
from pathlib import Path
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbconference import protocol
from nbconference.protocol import (
    ERROR_CODES,
    MAX_DEPTH,
    Chat,
    ClientFrame,
    ClientMessage,
    Join,
    LowerHand,
    ProtocolError,
    Signal,
    parse_client_message,
)
from nbconference.protocol.encoding import too_deep

ROOT = Path(__file__).resolve().parents[1]
MEGABYTE = 1 << 20

# Read from the protocol package, so that a new kind of client frame is generated as soon as it
# exists: every ``type`` a client may send, what the parser makes of them, and their
# fields (each message's dataclass fields are named as on the wire).
MESSAGES: tuple[type, ...] = get_args(ClientMessage)
CLIENT_TYPES = sorted(value for name, value in vars(ClientFrame).items() if name.isupper())
FIELDS = sorted({"type"} | {f.name for m in MESSAGES for f in dataclasses.fields(m)})


def reference_too_deep(text: str) -> bool:
    """The depth rule read one character at a time: brackets outside JSON strings."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def outcome(text: str | bytes, limit: int = 64 * 1024) -> object:
    """What the parser makes of ``text``: a message, or the code of its refusal."""
    try:
        message = parse_client_message(text, limit)
    except ProtocolError as error:
        assert error.code in ERROR_CODES, error.code
        assert error.message
        return error.code
    assert isinstance(message, MESSAGES), message
    return message


def hostile_inputs() -> dict[str, str]:
    """About a megabyte each, built to make a backtracking scan work hard."""
    n = MEGABYTE
    rng = random.Random(11)
    return {
        "escaped quotes, unterminated": '"' + '\\"' * (n // 2),
        "backslashes, unterminated": '"' + "\\" * n,
        "odd backslashes then a quote": '"' + "\\" * (n - 1) + '"' + "[" * 40,
        "deep, then an open string": "[" * 40 + '"' + "a" * n,
        "quote and bracket alternating": '"[' * (n // 2),
        "escape, quote, bracket": '\\"[' * (n // 3),
        "strings that open brackets": '[{"' * (n // 3),
        "brackets inside one string": '{"x":"' + "[{" * (n // 2) + '"}',
        "non-ASCII in strings": '["' + 'é\\"' * (n // 4) + '"]' * 20,
        "random structure characters": "".join(rng.choice('[]{}"\\a') for _ in range(n)),
    }


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", list(hostile_inputs()))
def test_megabyte_hostile_inputs_are_scanned_like_the_reference(name: str) -> None:
    text = hostile_inputs()[name]
    assert too_deep(text) == reference_too_deep(text), name
    assert outcome(text, 2 * MEGABYTE) in ERROR_CODES


STRUCTURE = st.text(alphabet='[]{}"\\a:,é', max_size=400)


# No deadline and no "too slow" check: both measure time, and the machine may be busy.
relaxed = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@given(STRUCTURE)
@relaxed
def test_depth_scan_agrees_with_the_reference(text: str) -> None:
    assert too_deep(text) == reference_too_deep(text)


@given(st.one_of(st.text(), st.binary(), STRUCTURE))
@relaxed
def test_any_text_or_bytes_parses_or_is_refused_with_a_known_code(text: str | bytes) -> None:
    outcome(text)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)
FRAMES = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=8),
    JSON_VALUES
    | st.sampled_from([*CLIENT_TYPES, "lab", "p1"])
    | st.fixed_dictionaries({}, optional={"candidate": JSON_VALUES, "camera": st.booleans()}),
    max_size=6,
)


@given(FRAMES)
@relaxed
def test_frames_near_the_protocol_parse_or_are_refused_with_a_known_code(frame: dict) -> None:  # type: ignore[type-arg]
    result = outcome(json.dumps(frame))
    if isinstance(result, Join):
        assert protocol.valid_room(result.room) and len(result.name) <= protocol.MAX_NAME_CHARS
    elif isinstance(result, Signal):
        assert result.to and ("candidate" in result.data or "description" in result.data)
    elif isinstance(result, Chat):
        assert result.text.strip() and isinstance(result.from_code, bool)
    elif isinstance(result, LowerHand):
        assert isinstance(result.peer, str)


def test_the_generated_frames_cover_every_client_frame_type() -> None:
    """Every ``type`` a client may send is generated above and known to the parser: a
    bare frame of it is parsed, or refused for what it lacks, never as an unknown type."""
    assert {"join", "signal", "state", "leave", "chat", "lower-hand"} <= set(CLIENT_TYPES)
    assert {"room", "to", "data", "state", "text", "from_code", "peer"} <= set(FIELDS)
    for kind in CLIENT_TYPES:
        try:
            assert isinstance(parse_client_message(json.dumps({"type": kind}), 1024), MESSAGES)
        except ProtocolError as error:
            assert "unknown message type" not in error.message, kind


def claimed_pythons() -> list[str]:
    """``3.10``, ``3.11``... from ``requires-python`` up to the newest minor pyenv holds."""
    # Read without tomllib, which the oldest claimed Python lacks.
    pyproject = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'^requires-python = ">=3\.(\d+)"$', pyproject, re.MULTILINE)
    assert match, "requires-python is not of the form >=3.N"
    return [f"3.{minor}" for minor in range(int(match.group(1)), 14)]


def interpreter(version: str) -> str | None:
    found = sorted(glob.glob(f"/root/.pyenv/versions/{version}.*/bin/python"))
    return found[-1] if found else None


# The protocol package needs only the standard library, so it is loaded on its own: the
# rest of nbconference needs its dependencies installed for that interpreter
# (scripts/test.sh runs the fast tests there too).
LOAD_PROTOCOL = """
import importlib.util, os, sys
init = os.path.join(sys.argv[1], "__init__.py")
spec = importlib.util.spec_from_file_location(
    "protocol", init, submodule_search_locations=[sys.argv[1]]
)
protocol = importlib.util.module_from_spec(spec)
sys.modules["protocol"] = protocol
spec.loader.exec_module(protocol)
deep = '{"type":"signal","to":"p","data":{"candidate":' + "[" * 40 + "]" * 40 + "}}"
try:
    protocol.parse_client_message(deep, 1 << 20)
except protocol.ProtocolError as error:
    print(error.code)
"""


@pytest.mark.parametrize("version", claimed_pythons())
def test_protocol_loads_on_every_claimed_python(version: str) -> None:
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} interpreter under /root/.pyenv")
    result = subprocess.run(
        [python, "-c", LOAD_PROTOCOL, str(ROOT / "src/nbconference/protocol")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "bad-message"
