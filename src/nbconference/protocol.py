"""Signaling protocol v1: the one contract between browsers, Python peers and the server.

Every name of the wire format lives here: frame types, error codes, close codes, the
endpoint path, limit defaults, the reconnect policy, and builders for every frame. Frames
are JSON text; this module parses and validates client frames but never looks inside SDP.
``js/protocol.js`` exposes the same names to the front end (a test compares the two),
and ``docs/protocol.md`` explains them.

Client to server::

    {"type": "join", "room": "lab", "name": "Ada", "state": {...}, "resume": "<token>"?,
     "widget": "<tag>"?, "color": "<css colour>"?, "kind": "recorder"?}
    {"type": "signal", "to": "<peer id>", "data": {"description": {...}} | {"candidate": {...}}}
    {"type": "state", "state": {"camera": bool, "microphone": bool, "screen": bool}}
    {"type": "leave"}
    {"type": "chat", "text": "...", "from_code": true?}
    {"type": "lower-hand", "peer": "<peer id>"}

Server to client: ``welcome``, ``peer-joined``, ``peer-left``, ``peer-state``, ``signal``
(stamped with ``from``), ``chat`` and ``error`` (with one of :data:`ERROR_CODES`, and ``peer`` when
the error concerns one).

A peer's public record (in ``welcome`` and ``peer-joined``) is stamped by the server::

    {"id": "<peer id>", "name": "Ada Lovelace", "state": {...},
     "user": {"username", "display_name", "initials", "avatar_url", "color"} | null,
     "color": "<css colour>" | null, "widget": "<tag>"?, "kind": "recorder"?}

``user`` is the authenticated Jupyter user (null where the server knows none, as with
``nbconference serve``: ``name`` is then only the client's label). A client cannot set it.
``widget`` tags the participants that view one and the same widget model. ``kind``
is present for participants that are not people (a ``recorder``) and cannot be changed.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from json.encoder import (  # type: ignore[attr-defined]
    c_make_encoder,
    encode_basestring,
    encode_basestring_ascii,
)
from typing import Any, Final

PROTOCOL_VERSION: Final = 1
# Relative to a Jupyter server's base URL, and the path of `nbconference serve`.
SIGNAL_PATH: Final = "nbconference/signal"

ROOM_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_NAME_CHARS: Final = 64
# The name of a participant whose label is empty once normalised (see normalize_name),
# as the widget and the page call a nameless person.
DEFAULT_NAME: Final = "guest"
# What a join may say of itself beyond its label: which widget it views (an opaque tag),
# and the colour its person has in a shared notebook when the server's identity has none.
WIDGET_TAG_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
COLOR_PATTERN = re.compile(r"#[0-9A-Fa-f]{3,8}|var\(--jp-collaborator-color[1-9]\)")
# SDP and ICE payloads nest two or three levels. The limit is explicit so that it does not
# depend on the interpreter's recursion limit, which IPython, for one, raises to 3000.
MAX_DEPTH: Final = 32
# "hand": a client says true or false; the server turns true into the time (ms) the hand
# went up, which orders the room's queue of raised hands (see "chat and raised hands").
STATE_KEYS: Final = ("camera", "microphone", "screen", "hand")

# -- kinds of participant (recording, issue 13) ----------------------------------------
# A join may declare what kind of participant it is. The server carries a declared kind
# in the peer record for as long as the peer is in the room: no later frame can change
# or strip it (state frames carry STATE_KEYS only; a resume keeps the first record).
# A participant that declares nothing is a person ("participant"), and its record
# carries no ``kind``. A ``recorder`` sends no media and writes what it receives to
# disk: every page shows a "Recording" banner while one is in the room.
PARTICIPANT_KIND: Final = "participant"
RECORDER_KIND: Final = "recorder"
PEER_KINDS: Final = (PARTICIPANT_KIND, RECORDER_KIND)


class ClientFrame:
    """The ``type`` of each frame a client sends."""

    JOIN: Final = "join"
    SIGNAL: Final = "signal"
    STATE: Final = "state"
    LEAVE: Final = "leave"
    CHAT: Final = "chat"
    LOWER_HAND: Final = "lower-hand"


class ServerFrame:
    """The ``type`` of each frame the server sends."""

    WELCOME: Final = "welcome"
    PEER_JOINED: Final = "peer-joined"
    PEER_LEFT: Final = "peer-left"
    PEER_STATE: Final = "peer-state"
    SIGNAL: Final = "signal"
    CHAT: Final = "chat"
    ERROR: Final = "error"


ERROR_CODES: Final = frozenset(
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
        # chat (a message refused; the socket stays open)
        "chat-invalid",
        "chat-too-long",
        "chat-rate-limited",
    }
)
# Errors that are the client's fault. The others (a peer that just left, a full room, a
# peer reconnecting) happen to well-behaved clients in races and must not get them closed.
ABUSE_CODES: Final = frozenset(
    {"bad-message", "too-large", "not-joined", "already-joined", "rate-limited"}
)
# A join refused with one of these would be refused again: the client stops. Other join
# errors (backend-unavailable) are retried like a dropped socket.
FATAL_JOIN_ERRORS: Final = frozenset({"room-full", "bad-message", "too-large"})

# WebSocket close codes. 1000/1001 are RFC 6455's "normal" and "going away" (a closed
# tab); 4000-4999 are for applications.
CLOSE_LEFT: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_POLICY: Final = 1008  # repeated abuse, or a client that stopped reading
# Sent by the server only: a frame over four times max_message_bytes (RFC 6455 "message
# too big"); clients treat it like any other drop.
CLOSE_TOO_BIG: Final = 1009
CLOSE_REPLACED: Final = 4000  # the peer resumed on a newer socket
CLOSE_DROPPED: Final = 4001  # a client's deliberate "network failure": the server keeps its peer
# The client left on purpose: its peer leaves at once, with no grace window.
CLEAN_CLOSE_CODES: Final = frozenset({CLOSE_LEFT, CLOSE_GOING_AWAY})
# After these a client does not reconnect: it would be refused or replace itself again.
FINAL_CLOSE_CODES: Final = frozenset({CLOSE_POLICY, CLOSE_REPLACED})

# The one reconnect policy (docs/protocol.md): wait RECONNECT_FIRST_DELAY after a drop,
# double after each failed attempt up to RECONNECT_MAX_DELAY, start over after a welcome.
RECONNECT_FIRST_DELAY: Final = 0.5  # seconds
RECONNECT_MAX_DELAY: Final = 8.0  # seconds


@dataclass(frozen=True)
class Limits:
    """What the server enforces; the first five are announced in ``welcome``."""

    max_peers_per_room: int = 8
    max_message_bytes: int = 64 * 1024
    messages_per_second: float = 500.0
    message_burst: int = 1000
    reconnect_grace_seconds: float = 15.0
    max_pending_messages: int = 256
    max_violations: int = 50
    max_sockets_per_user: int = 32
    max_sockets_per_address: int = 256
    max_queued_bytes: int = 1024 * 1024
    send_timeout_seconds: float = 10.0
    joins_per_minute: float = 6.0
    join_burst: int = 3

    def public(self) -> dict[str, Any]:
        """The limits a client paces itself by, as ``welcome`` carries them."""
        return {
            "max_peers_per_room": self.max_peers_per_room,
            "max_message_bytes": self.max_message_bytes,
            "messages_per_second": self.messages_per_second,
            "message_burst": self.message_burst,
            "reconnect_grace_seconds": self.reconnect_grace_seconds,
        }


DEFAULT_LIMITS: Final = Limits()


class ProtocolError(Exception):
    """A frame the server refuses; ``code`` is one of :data:`ERROR_CODES`.

    ``peer`` names the peer the error concerns (the target of a refused signal), so that
    clients never have to read it out of the message.
    """

    def __init__(self, code: str, message: str, peer: str | None = None) -> None:
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.peer = peer


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
class Chat:
    text: str
    from_code: bool = False


@dataclass(frozen=True)
class LowerHand:
    peer: str


ClientMessage = Join | Signal | State | Leave | Chat | LowerHand


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


def _make_encode(ascii_only: bool) -> Callable[[Any], str]:
    slow: Callable[[Any], str] = json.JSONEncoder(
        separators=(",", ":"), allow_nan=False, ensure_ascii=ascii_only
    ).encode
    if c_make_encoder is None:
        return slow
    # JSONEncoder.encode builds a new C encoder on every call, which costs more than
    # encoding a signaling message; this one is built once. Parsed JSON cannot be
    # circular, so it skips the cycle check.
    strings = encode_basestring_ascii if ascii_only else encode_basestring
    fast = c_make_encoder(None, _not_json, strings, None, ":", ",", False, False, False)
    return lambda value: "".join(fast(value, 0))


# Frames go out as UTF-8 text, not ASCII-escaped: escaping would make non-ASCII text up to
# three times longer ("é" is 2 bytes, "\u00e9" 6) than the frame a client sent.
_encode_text = _make_encode(ascii_only=False)
_encode_ascii = _make_encode(ascii_only=True)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _encode(value: Any) -> str:
    text = _encode_text(value)
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    # A lone surrogate (which "\ud800" in a client's JSON decodes to) has no UTF-8 form:
    # only the escaped encoding can carry it.
    return _encode_ascii(value)


def utf8_size(text: str) -> int:
    """The size of ``text`` in UTF-8 bytes."""
    return len(text) if text.isascii() else len(text.encode())


# -- text people see ------------------------------------------------------------------
# Names and chat are shown to everyone in the room, so the server keeps out what would
# make them lie about themselves: bidi controls (U+202E turns "exe.txt" into "txt.exe"),
# zero-width and other invisible characters, and control characters.

# Characters that draw as blank space but are letters or symbols, not whitespace.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Control (Cc), format (Cf: zero-width, bidi, soft hyphen), surrogate and unassigned.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn"})


def normalize_name(raw: str) -> str:
    """A participant's name as everyone sees it: NFKC, without control, format (zero-width,
    bidi), surrogate or unassigned characters, runs of whitespace made one space, trimmed,
    at most :data:`MAX_NAME_CHARS` characters. "" when nothing visible is left."""
    text = unicodedata.normalize("NFKC", raw)
    kept = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or unicodedata.category(char) not in _HIDDEN_CATEGORIES
    )
    name = " ".join(kept.split())[:MAX_NAME_CHARS].rstrip()
    return "" if all(char in _BLANK_LETTERS or char == " " for char in name) else name


def name_key(name: str) -> str:
    """What two names are compared by: case-insensitive, blank letters ignored."""
    return "".join(c for c in normalize_name(name) if c not in _BLANK_LETTERS).casefold()


# Chat keeps line breaks and tabs; every other control character and every bidi control
# (U+061C, U+200E-200F, U+202A-202E, U+2066-2069) goes.
_CHAT_STRIPPED = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def clean_chat_text(text: str) -> str:
    """``text`` without NUL, control characters (but newline and tab) and bidi controls;
    "" when nothing visible is left (only whitespace, zero-width or blank characters)."""
    cleaned = _CHAT_STRIPPED.sub("", text)
    visible = (
        char
        for char in cleaned
        if not char.isspace() and char not in _BLANK_LETTERS and unicodedata.category(char) != "Cf"
    )
    return cleaned if next(visible, None) is not None else ""


def _require(obj: dict[str, Any], key: str, kind: type, what: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is str and not value):
        raise ProtocolError("bad-message", f"'{key}' must be {what}")
    return value


def _optional(obj: dict[str, Any], key: str, pattern: re.Pattern[str], what: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
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


def _parse_kind(value: object) -> str:
    if not isinstance(value, str) or value not in PEER_KINDS:
        shown = f"'{value[:40]}'" if isinstance(value, str) else "that"
        known = " or ".join(f"'{k}'" for k in PEER_KINDS)
        raise ProtocolError("bad-message", f"'kind' must be {known}, not {shown}")
    return value


# A whole JSON string (skipped; an unterminated one runs to the end) or one bracket.
# The scan is linear without possessive repeats (which need Python 3.11): the two
# alternatives inside a string, one ordinary character or a backslash and the character
# it escapes, can never match the same text, and what follows them (a closing quote, or
# the end with at most one stray backslash) always matches where the repeat stops, so
# the engine never has a reason to backtrack.
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


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
    """Parse one client frame, raising :class:`ProtocolError` with a readable reason.

    A ``signal`` is refused unless its data, as it will be relayed, also fits in
    ``max_bytes``: relayed frames are bounded like the frames clients send."""
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
    if kind == ClientFrame.SIGNAL:
        to = _require(obj, "to", str, "a peer id")
        data = _require(obj, "data", dict, "an object")
        if not ("description" in data or "candidate" in data):
            raise ProtocolError("bad-message", "'data' must hold a 'description' or 'candidate'")
        data_json = _encode(data)
        relayed = utf8_size(data_json)
        if relayed > max_bytes:  # only escaped lone surrogates make the data grow
            raise ProtocolError(
                "too-large", f"data of {relayed} bytes as relayed exceeds {max_bytes}"
            )
        return Signal(to, data, data_json)
    if kind == ClientFrame.JOIN:
        room = obj.get("room")
        if not isinstance(room, str) or not valid_room(room):
            raise ProtocolError(
                "bad-message", "'room' must be 1-64 characters of letters, digits, '.', '_' or '-'"
            )
        name = obj.get("name", "")
        if not isinstance(name, str) or len(name) > MAX_NAME_CHARS:
            raise ProtocolError("bad-message", f"'name' must be text of at most {MAX_NAME_CHARS}")
        name = normalize_name(name) or DEFAULT_NAME
        resume = obj.get("resume")
        if resume is not None and not isinstance(resume, str):
            raise ProtocolError("bad-message", "'resume' must be a token string")
        widget = _optional(obj, "widget", WIDGET_TAG_PATTERN, "1-64 of A-Z a-z 0-9 _ -")
        color = _optional(obj, "color", COLOR_PATTERN, "#rgb(a) hex or a collaborator colour")
        peer_kind = _parse_kind(obj.get("kind", PARTICIPANT_KIND))
        state = _parse_state(obj.get("state", {}))
        return Join(room, name, state, resume, widget, color, peer_kind)
    if kind == ClientFrame.STATE:
        return State(_parse_state(obj.get("state")))
    if kind == ClientFrame.LEAVE:
        return Leave()
    if kind == ClientFrame.CHAT:
        return _parse_chat(obj)
    if kind == ClientFrame.LOWER_HAND:
        return LowerHand(_require(obj, "peer", str, "a peer id"))
    if isinstance(kind, str):
        raise ProtocolError("bad-message", f"unknown message type '{kind[:40]}'")
    raise ProtocolError("bad-message", "'type' must be a string")


def encode(message: Mapping[str, Any]) -> str:
    """Encode a frame compactly (and refuse NaN, which a browser could not parse)."""
    return _encode(message)


# -- client frames --------------------------------------------------------------------


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


def peer_record(peer_id: str, join: Join, user: Mapping[str, Any] | None) -> dict[str, Any]:
    """The public record of a peer that joined with ``join``, stamped with ``user``.

    ``user`` is the server's own knowledge of who is on the socket (see
    :func:`identity_stamp`); when there is one, its display name replaces the client's
    label and its colour the client's.
    """
    stamp = dict(user) if user else None
    record: dict[str, Any] = {
        "id": peer_id,
        "name": stamp["display_name"] if stamp else join.name,
        "state": dict(join.state),
        "user": stamp,
        "color": (stamp or {}).get("color") or join.color,
    }
    if join.widget:
        record["widget"] = join.widget
    if join.kind != PARTICIPANT_KIND:
        record["kind"] = join.kind
    return record


def identity_stamp(user: Any) -> dict[str, Any]:
    """The identity fields of a jupyter_server ``User`` that go into peer records."""
    display = str(getattr(user, "display_name", "") or getattr(user, "name", "") or "")
    username = str(getattr(user, "username", "") or "")
    initials = getattr(user, "initials", None)
    color = getattr(user, "color", None)
    avatar = getattr(user, "avatar_url", None)
    return {
        "username": username[:200],
        "display_name": normalize_name(display) or normalize_name(username) or DEFAULT_NAME,
        "initials": str(initials)[:8] if initials else None,
        "avatar_url": str(avatar)[:2000] if avatar else None,
        "color": str(color)[:200] if color else None,
    }


def signal_message(to: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (``{"description": ...}`` or ``{"candidate": ...}``) for peer ``to``."""
    return {"type": ClientFrame.SIGNAL, "to": to, "data": dict(data)}


def state_message(state: Mapping[str, bool]) -> dict[str, Any]:
    """Our presence state (camera, microphone, screen) after a change."""
    return {"type": ClientFrame.STATE, "state": dict(state)}


def leave_message() -> dict[str, Any]:
    """Goodbye: the peer leaves its room at once."""
    return {"type": ClientFrame.LEAVE}


# -- server frames, encoded -----------------------------------------------------------


def welcome_frame(
    *,
    peer_id: str,
    peer: Mapping[str, Any],
    resume: str,
    resumed: bool,
    room: str,
    peers: list[dict[str, Any]],
    ice_servers: list[dict[str, Any]],
    limits: Limits,
    chat_limits: ChatLimits | None = None,
) -> str:
    """The answer to ``join``: our id, our own record as the others see it (``peer``),
    the resume token, who is in the room, and the limits a client keeps to."""
    return encode(
        {
            "type": ServerFrame.WELCOME,
            "protocol": PROTOCOL_VERSION,
            "id": peer_id,
            "peer": peer,
            "resume": resume,
            "resumed": resumed,
            "room": room,
            "peers": peers,
            "ice_servers": ice_servers,
            "limits": {
                **limits.public(),
                "max_chat_bytes": (chat_limits or DEFAULT_CHAT_LIMITS).max_chat_bytes,
            },
        }
    )


def peer_joined_frame(peer: Mapping[str, Any]) -> str:
    """``peer`` (its public record: id, name, state) joined the room."""
    return encode({"type": ServerFrame.PEER_JOINED, "peer": peer})


def peer_left_frame(peer_id: str) -> str:
    return encode({"type": ServerFrame.PEER_LEFT, "id": peer_id})


def peer_state_frame(peer_id: str, state: Mapping[str, Any], by: str | None = None) -> str:
    """``peer_id``'s state changed; ``by`` names who lowered its hand (itself or another)."""
    frame: dict[str, Any] = {"type": ServerFrame.PEER_STATE, "id": peer_id, "state": state}
    if by:
        frame["by"] = by
    return encode(frame)


def signal_frame(sender: str, data_json: str) -> str:
    """The relayed ``signal`` frame, built around data already encoded by the parser.

    Peer ids are server-made URL-safe tokens, so they need no escaping.
    """
    return f'{{"type":"{ServerFrame.SIGNAL}","from":"{sender}","data":{data_json}}}'


def error_frame(code: str, message: str, peer: str | None = None) -> str:
    """An ``error``; ``peer`` names the peer it concerns, when there is one."""
    assert code in ERROR_CODES, code
    frame: dict[str, Any] = {"type": ServerFrame.ERROR, "code": code, "message": message}
    if peer is not None:
        frame["peer"] = peer
    return encode(frame)


# -- between peers, not through the server --------------------------------------------
# Each receiver tells each sender how large it shows the sender's camera and screen, on an
# RTCDataChannel of their peer connection (docs/protocol.md, "What a receiver shows").

VIEW_CHANNEL: Final = "nbc-view"  # the channel's label; the first offer's side opens it
VIEW_REQUEST: Final = "view"  # the ``type`` of its one message
MAX_VIEW_HEIGHT: Final = 4320  # heights are read up to this: "the whole picture"
MAX_VIEW_MESSAGE: Final = 256  # characters; longer messages are not requests
# A sender scales by the largest of these that keeps the picture at least as high as the
# receiver shows it, so it sends at most one step above the asked height.
SCALE_STEPS: Final = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


@dataclass(frozen=True)
class ViewRequest:
    """Heights in device pixels at which a receiver shows a sender; 0: not at all."""

    camera: int
    screen: int


def view_request(camera: int, screen: int) -> str:
    """The message a receiver sends on the view channel."""

    def clamp(height: int) -> int:
        return max(0, min(MAX_VIEW_HEIGHT, int(height)))

    return encode({"type": VIEW_REQUEST, "camera": clamp(camera), "screen": clamp(screen)})


def parse_view_request(data: object) -> ViewRequest | None:
    """A message from the view channel, or None when it is not one we can read."""
    if not isinstance(data, str) or len(data) > MAX_VIEW_MESSAGE:
        return None
    try:
        value = _decode(data)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("type") != VIEW_REQUEST:
        return None
    heights: list[int] = []
    for key in ("camera", "screen"):
        height = value.get(key)
        if not isinstance(height, int | float) or isinstance(height, bool):
            return None
        if not math.isfinite(height):
            return None
        heights.append(max(0, min(MAX_VIEW_HEIGHT, round(height))))
    return ViewRequest(*heights)


def scale_for(source_height: int, shown: int) -> float:
    """The step to scale a picture ``source_height`` high by, for a receiver that shows it
    ``shown`` high (> 0): the largest of :data:`SCALE_STEPS` that keeps it that high."""
    chosen = 1.0
    for step in SCALE_STEPS:
        if source_height / step >= shown:
            chosen = step
    return chosen


# -- chat and raised hands ------------------------------------------------------------
# A chat message goes to the whole room through the server, which gives it an id and
# stamps who sent it; the room keeps a bounded history for late joiners. A raised hand
# is the "hand" of a peer's state: the server stamps when it went up, so every server of
# the room orders the queue alike, and anyone in the room may lower anyone's hand.


@dataclass(frozen=True)
class ChatLimits:
    """What the server enforces on chat, apart from the general message limits."""

    max_chat_bytes: int = 4096
    chat_messages_per_second: float = 1.0
    chat_burst: int = 10
    chat_history_messages: int = 100
    chat_history_bytes: int = 128 * 1024


DEFAULT_CHAT_LIMITS: Final = ChatLimits()


def _parse_chat(obj: dict[str, Any]) -> Chat:
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError("chat-invalid", "'text' must be text that is not blank")
    if _SURROGATE.search(text) is not None:
        # Only a JSON escape can make one: it has no UTF-8 form to show or relay.
        raise ProtocolError("chat-invalid", "'text' is not valid UTF-8 (a lone surrogate)")
    cleaned = clean_chat_text(text)
    if not cleaned:
        raise ProtocolError(
            "chat-invalid",
            "'text' has nothing visible once control, bidi and zero-width characters are removed",
        )
    # ``from_code`` is the sender's claim: the server cannot know what a page posts.
    return Chat(cleaned, obj.get("from_code") is True)


def chat_message(text: str, from_code: bool = False) -> dict[str, Any]:
    """A chat message for the whole room; ``from_code``: posted by a notebook's code."""
    message: dict[str, Any] = {"type": ClientFrame.CHAT, "text": text}
    if from_code:
        message["from_code"] = True
    return message


def lower_hand_message(peer: str) -> dict[str, Any]:
    """Lower the raised hand of ``peer`` (our own id lowers ours)."""
    return {"type": ClientFrame.LOWER_HAND, "peer": peer}


def chat_frame(
    message_id: str, time_ms: int, sender: Mapping[str, Any], text: str, from_code: bool
) -> str:
    """The ``chat`` frame every member of the room receives, stamped with the sender's
    public record (:func:`peer_record`): its id, name, identity and colour."""
    frame: dict[str, Any] = {
        "type": ServerFrame.CHAT,
        "id": message_id,
        "time": time_ms,
        "from": sender["id"],
        "name": sender.get("name", ""),
        "user": sender.get("user"),
        "color": sender.get("color"),
        "text": text,
    }
    if from_code:
        frame["from_code"] = True
    return encode(frame)
