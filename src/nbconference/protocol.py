"""Signaling protocol v1: the one contract between browsers, Python peers and the server.

Frames are JSON text. This module only parses and validates them; it never looks
inside SDP. ``js/protocol.js`` mirrors the same names for the front end.

Client to server::

    {"type": "join", "room": "lab", "name": "Ada", "state": {...}, "resume": "<token>"?}
    {"type": "signal", "to": "<peer id>", "data": {"description": {...}} | {"candidate": {...}}}
    {"type": "state", "state": {"camera": bool, "microphone": bool, "screen": bool}}
    {"type": "leave"}

Server to client: ``welcome``, ``peer-joined``, ``peer-left``, ``peer-state``, ``signal``
(stamped with ``from``) and ``error`` (with one of :data:`ERROR_CODES`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

PROTOCOL_VERSION = 1

ROOM_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_NAME_CHARS = 64
# SDP and ICE payloads nest two or three levels. The limit is explicit so that it does not
# depend on the interpreter's recursion limit, which IPython, for one, raises to 3000.
MAX_DEPTH = 32
STATE_KEYS = ("camera", "microphone", "screen")

ERROR_CODES = frozenset(
    {
        "bad-message",
        "too-large",
        "room-full",
        "unknown-peer",
        "peer-unavailable",
        "not-joined",
        "already-joined",
        "rate-limited",
        "backend-unavailable",
    }
)


class ProtocolError(Exception):
    """A frame the server refuses; ``code`` is one of :data:`ERROR_CODES`."""

    def __init__(self, code: str, message: str) -> None:
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Join:
    room: str
    name: str
    state: dict[str, bool] = field(default_factory=dict)
    resume: str | None = None


@dataclass(frozen=True)
class Signal:
    to: str
    data: dict[str, Any]
    # ``data`` encoded once at parse time: relaying splices it into the outgoing frame, and
    # data too deep to encode again is refused here rather than failing mid-relay.
    data_json: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class State:
    state: dict[str, bool]


@dataclass(frozen=True)
class Leave:
    pass


ClientMessage = Join | Signal | State | Leave


def valid_room(room: object) -> bool:
    """True for room names of 1-64 characters from ``[A-Za-z0-9._-]``."""
    return isinstance(room, str) and ROOM_PATTERN.fullmatch(room) is not None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Python's json accepts NaN and Infinity, which a browser's JSON.parse rejects: relaying
# them would hand the receiving peer a frame it cannot read.
_decode = json.JSONDecoder(parse_constant=_reject_constant).decode


def _not_json(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _make_encode() -> Callable[[Any], str]:
    slow: Callable[[Any], str] = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode
    if c_make_encoder is None:
        return slow
    # JSONEncoder.encode builds a new C encoder on every call, which costs more than
    # encoding a signaling message; this one is built once. Parsed JSON cannot be
    # circular, so it skips the cycle check.
    fast = c_make_encoder(
        None, _not_json, encode_basestring_ascii, None, ":", ",", False, False, False
    )
    return lambda value: "".join(fast(value, 0))


_encode = _make_encode()


def _require(obj: dict[str, Any], key: str, kind: type, what: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is str and not value):
        raise ProtocolError("bad-message", f"'{key}' must be {what}")
    return value


def _parse_state(value: object) -> dict[str, bool]:
    if not isinstance(value, dict):
        raise ProtocolError("bad-message", "'state' must be an object")
    state: dict[str, bool] = {}
    for key in STATE_KEYS:
        if key in value:
            if not isinstance(value[key], bool):
                raise ProtocolError("bad-message", f"'state.{key}' must be true or false")
            state[key] = value[key]
    return state


# A whole JSON string (skipped; an unterminated one runs to the end) or one bracket.
# Possessive repeats keep the scan linear whatever the input.
_STRUCTURE = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


def _too_deep(text: str) -> bool:
    """True when ``text`` nests JSON arrays or objects more than :data:`MAX_DEPTH` deep.

    Checked before decoding, so a hostile frame never reaches the recursive decoder. Frames
    with few brackets, which is every real one, are passed by a count done in C.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    for match in _STRUCTURE.finditer(text):
        char = match.group()[0]
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def parse_client_message(text: str | bytes, max_bytes: int) -> ClientMessage:
    """Parse one client frame, raising :class:`ProtocolError` with a readable reason."""
    size = len(text)
    if size <= max_bytes and isinstance(text, str) and not text.isascii():
        size = len(text.encode())  # the limit is in bytes; non-ASCII characters take 2-4
    if size > max_bytes:
        raise ProtocolError("too-large", f"message of {size} bytes exceeds {max_bytes}")
    if isinstance(text, bytes):
        raise ProtocolError("bad-message", "binary frames are not part of the protocol")
    if _too_deep(text):
        raise ProtocolError("bad-message", f"message nests deeper than {MAX_DEPTH} levels")
    try:
        obj = _decode(text)
    except (ValueError, RecursionError):
        raise ProtocolError("bad-message", "message is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad-message", "message must be a JSON object")
    kind = obj.get("type")
    if kind == "signal":
        to = _require(obj, "to", str, "a peer id")
        data = _require(obj, "data", dict, "an object")
        if not ("description" in data or "candidate" in data):
            raise ProtocolError("bad-message", "'data' must hold a 'description' or 'candidate'")
        return Signal(to, data, _encode(data))
    if kind == "join":
        room = obj.get("room")
        if not isinstance(room, str) or not valid_room(room):
            raise ProtocolError(
                "bad-message", "'room' must be 1-64 characters of letters, digits, '.', '_' or '-'"
            )
        name = obj.get("name", "")
        if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
            raise ProtocolError("bad-message", f"'name' must be text of at most {MAX_NAME_CHARS}")
        resume = obj.get("resume")
        if resume is not None and not isinstance(resume, str):
            raise ProtocolError("bad-message", "'resume' must be a token string")
        return Join(room, name, _parse_state(obj.get("state", {})), resume)
    if kind == "state":
        return State(_parse_state(obj.get("state")))
    if kind == "leave":
        return Leave()
    if isinstance(kind, str):
        raise ProtocolError("bad-message", f"unknown message type '{kind[:40]}'")
    raise ProtocolError("bad-message", "'type' must be a string")


def encode(message: dict[str, Any]) -> str:
    """Encode a server frame compactly."""
    return _encode(message)


def signal_frame(sender: str, data_json: str) -> str:
    """The relayed ``signal`` frame, built around data already encoded by the parser.

    Peer ids are server-made URL-safe tokens, so they need no escaping.
    """
    return f'{{"type":"signal","from":"{sender}","data":{data_json}}}'


def error_frame(code: str, message: str, **extra: Any) -> str:
    assert code in ERROR_CODES, code
    return encode({"type": "error", "code": code, "message": message, **extra})
