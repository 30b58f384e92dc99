"""Frames a client sends: their parsed form, the parser the server runs on every frame,
and the builders Python clients send them with.

The parser never looks inside SDP; it refuses what is malformed, too large or too deep
with a :class:`ProtocolError` that says why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .breakout import BREAKOUT_CLIENT_TYPES, BreakoutRequest, parse_breakout_request
from .chat import Chat, LowerHand, parse_chat
from .encoding import decode, encode, too_deep, utf8_size
from .errors import ErrorCode, ProtocolError
from .hosts import HOST_CLIENT_TYPES, HostRequest, parse_host_request
from .lobby import LOBBY_CLIENT_TYPES, LobbyRequest, parse_lobby_request
from .names import (
    COLOR_PATTERN,
    DEFAULT_NAME,
    MAX_DEPTH,
    MAX_NAME_CHARS,
    PARTICIPANT_KIND,
    PEER_KINDS,
    PING_ID_PATTERN,
    STATE_KEYS,
    WIDGET_TAG_PATTERN,
    ClientFrame,
    valid_room,
)
from .sfu import SFU_CLIENT_TYPES, SfuMessage, parse_sfu
from .text import normalize_name

BAD = ErrorCode.BAD_MESSAGE


@dataclass(frozen=True)
class Join:
    room: str
    name: str
    state: dict[str, bool] = field(default_factory=dict)
    resume: str | None = None
    widget: str | None = None
    color: str | None = None
    kind: str = PARTICIPANT_KIND


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


@dataclass(frozen=True)
class Ping:
    """Asks for a ``pong`` with the same ``id``: the signaling round trip."""

    id: str


ClientMessage = (
    Join
    | Signal
    | State
    | Leave
    | Chat
    | LowerHand
    | Ping
    | HostRequest
    | LobbyRequest
    | BreakoutRequest
    | SfuMessage
)


def _require(obj: dict[str, Any], key: str, kind: type, what: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is str and not value):
        raise ProtocolError(BAD, f"'{key}' must be {what}")
    return value


def _optional(obj: dict[str, Any], key: str, pattern: re.Pattern[str], what: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise ProtocolError(BAD, f"'{key}' must be {what}")
    return value


def _parse_state(value: object) -> dict[str, bool]:
    if not isinstance(value, dict):
        raise ProtocolError(BAD, "'state' must be an object")
    state: dict[str, bool] = {}
    for key in STATE_KEYS:
        if key in value:
            if not isinstance(value[key], bool):
                raise ProtocolError(BAD, f"'state.{key}' must be true or false")
            state[key] = value[key]
    return state


def _parse_kind(value: object) -> str:
    if not isinstance(value, str) or value not in PEER_KINDS:
        shown = f"'{value[:40]}'" if isinstance(value, str) else "that"
        known = " or ".join(f"'{k}'" for k in PEER_KINDS)
        raise ProtocolError(BAD, f"'kind' must be {known}, not {shown}")
    return value


def _parse_join(obj: dict[str, Any]) -> Join:
    room = obj.get("room")
    if not isinstance(room, str) or not valid_room(room):
        raise ProtocolError(
            BAD, "'room' must be 1-64 characters of letters, digits, '.', '_' or '-'"
        )
    name = obj.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
        raise ProtocolError(BAD, f"'name' must be text of at most {MAX_NAME_CHARS}")
    name = normalize_name(name) or DEFAULT_NAME
    resume = obj.get("resume")
    if resume is not None and not isinstance(resume, str):
        raise ProtocolError(BAD, "'resume' must be a token string")
    widget = _optional(obj, "widget", WIDGET_TAG_PATTERN, "1-64 of A-Z a-z 0-9 _ -")
    color = _optional(obj, "color", COLOR_PATTERN, "#rgb(a) hex or a collaborator colour")
    peer_kind = _parse_kind(obj.get("kind", PARTICIPANT_KIND))
    state = _parse_state(obj.get("state", {}))
    return Join(room, name, state, resume, widget, color, peer_kind)


def _parse_signal(obj: dict[str, Any], max_bytes: int) -> Signal:
    to = _require(obj, "to", str, "a peer id")
    data = _require(obj, "data", dict, "an object")
    if not ("description" in data or "candidate" in data):
        raise ProtocolError(BAD, "'data' must hold a 'description' or 'candidate'")
    data_json = encode(data)
    relayed = utf8_size(data_json)
    if relayed > max_bytes:  # only escaped lone surrogates make the data grow
        raise ProtocolError(
            ErrorCode.TOO_LARGE, f"data of {relayed} bytes as relayed exceeds {max_bytes}"
        )
    return Signal(to, data, data_json)


def parse_client_message(text: str | bytes, max_bytes: int) -> ClientMessage:
    """Parse one client frame, raising :class:`ProtocolError` with a readable reason.

    A ``signal`` is refused unless its data, as it will be relayed, also fits in
    ``max_bytes``: relayed frames are bounded like the frames clients send."""
    size = len(text)
    if size <= max_bytes and isinstance(text, str) and not text.isascii():
        size = len(text.encode())  # the limit is in bytes; non-ASCII characters take 2-4
    if size > max_bytes:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"message of {size} bytes exceeds {max_bytes}")
    if isinstance(text, bytes):
        raise ProtocolError(BAD, "binary frames are not part of the protocol")
    if too_deep(text):
        raise ProtocolError(BAD, f"message nests deeper than {MAX_DEPTH} levels")
    try:
        obj = decode(text)
    except (ValueError, RecursionError):
        raise ProtocolError(BAD, "message is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ProtocolError(BAD, "message must be a JSON object")
    kind = obj.get("type")
    if kind == ClientFrame.SIGNAL:
        return _parse_signal(obj, max_bytes)
    if kind == ClientFrame.JOIN:
        return _parse_join(obj)
    if kind == ClientFrame.STATE:
        return State(_parse_state(obj.get("state")))
    if kind == ClientFrame.LEAVE:
        return Leave()
    if kind == ClientFrame.CHAT:
        return parse_chat(obj)
    if kind == ClientFrame.LOWER_HAND:
        return LowerHand(_require(obj, "peer", str, "a peer id"))
    if kind == ClientFrame.PING:
        ping_id = _optional(obj, "id", PING_ID_PATTERN, "1-32 of A-Z a-z 0-9 _ -")
        if ping_id is None:
            raise ProtocolError(BAD, "'id' must be 1-32 of A-Z a-z 0-9 _ -")
        return Ping(ping_id)
    if not isinstance(kind, str):  # before the set lookup: a list or dict is unhashable
        raise ProtocolError(BAD, "'type' must be a string")
    if kind in HOST_CLIENT_TYPES:
        return parse_host_request(obj)
    if kind in LOBBY_CLIENT_TYPES:
        return parse_lobby_request(obj)
    if kind in BREAKOUT_CLIENT_TYPES:
        return parse_breakout_request(obj)
    if kind in SFU_CLIENT_TYPES:
        return parse_sfu(obj)
    raise ProtocolError(BAD, f"unknown message type '{kind[:40]}'")


# -- builders (chat_message and lower_hand_message are in .chat) ------------------------


def join_message(
    room: str,
    name: str,
    state: Mapping[str, bool],
    resume: str | None = None,
    widget: str | None = None,
    color: str | None = None,
    kind: str = PARTICIPANT_KIND,
) -> dict[str, Any]:
    """The first frame on a socket; ``resume`` rejoins as the peer that token belongs to.

    ``name`` is a label, shown only where the server knows no identity; ``widget`` tags
    the views of one widget model; ``color`` is the person's colour in a shared notebook;
    ``kind`` is one of :data:`PEER_KINDS` (sent only when not a plain participant).
    """
    message: dict[str, Any] = {
        "type": ClientFrame.JOIN,
        "room": room,
        "name": name,
        "state": dict(state),
    }
    for key, value in (("resume", resume), ("widget", widget), ("color", color)):
        if value:
            message[key] = value
    if kind != PARTICIPANT_KIND:
        message["kind"] = kind
    return message


def signal_message(to: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (``{"description": ...}`` or ``{"candidate": ...}``) for peer ``to``."""
    return {"type": ClientFrame.SIGNAL, "to": to, "data": dict(data)}


def state_message(state: Mapping[str, bool]) -> dict[str, Any]:
    """Our presence state (camera, microphone, screen) after a change."""
    return {"type": ClientFrame.STATE, "state": dict(state)}


def leave_message() -> dict[str, Any]:
    """Goodbye: the peer leaves its room at once."""
    return {"type": ClientFrame.LEAVE}


def ping_message(ping_id: str) -> dict[str, Any]:
    """Ask the server for a ``pong`` naming ``ping_id``: the signaling round trip."""
    return {"type": ClientFrame.PING, "id": ping_id}
