"""Hosts and their powers: who runs a room, and the requests only they may make.

The server decides who is a host (docs/protocol.md, "Hosts") and marks them: a host's
public record carries ``"host": true``, and a ``hosts`` frame tells the room whenever its
hosts change. A host may mute someone (``mute``), remove them (``remove``, with a ban of
``ban_minutes`` on their identity), end the call for everyone (``end-call``), make
another participant a host (``make-host``) and lower anyone's hand (``lower-hand``, see
:mod:`.chat`). Anyone else who asks gets ``not-host`` and nothing changes.

A request may carry a ``request`` id (the pattern of a ping's): the server answers it
with ``done`` once it took effect, or with an ``error`` that names it. A socket that has
not joined may still act on a room it names in ``room``: a notebook's code does, from
its own socket, with the authority of the identity that socket shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from .encoding import encode
from .errors import ErrorCode, ProtocolError
from .names import PING_ID_PATTERN, ClientFrame, ServerFrame, valid_room

BAD = ErrorCode.BAD_MESSAGE
# How long a removed identity stays out of the room, unless the host says otherwise.
DEFAULT_BAN_MINUTES: Final = 10.0
# The longest ban a host may give: a day. Longer is the job of room_access.
MAX_BAN_MINUTES: Final = 24 * 60.0
# The devices a host may turn off, in the order of a mute's fields.
MUTE_DEVICES: Final = ("microphone", "camera")
# The longest close reason RFC 6455 allows, in UTF-8 bytes.
MAX_CLOSE_REASON_BYTES: Final = 123


@dataclass(frozen=True)
class Mute:
    """Turn ``peer``'s microphone and/or camera off; only they can turn them on again."""

    peer: str
    microphone: bool = True
    camera: bool = False
    room: str | None = None
    request: str | None = None


@dataclass(frozen=True)
class Remove:
    """Close ``peer``'s socket for good and keep its identity out for ``ban_minutes``."""

    peer: str
    ban_minutes: float = DEFAULT_BAN_MINUTES
    room: str | None = None
    request: str | None = None


@dataclass(frozen=True)
class EndCall:
    """Close every socket in the room for good."""

    room: str | None = None
    request: str | None = None


@dataclass(frozen=True)
class MakeHost:
    """Make ``peer`` a host too."""

    peer: str
    room: str | None = None
    request: str | None = None


HostRequest = Mute | Remove | EndCall | MakeHost
HOST_CLIENT_TYPES: Final = frozenset(
    {ClientFrame.MUTE, ClientFrame.REMOVE, ClientFrame.END_CALL, ClientFrame.MAKE_HOST}
)


def _peer(obj: dict[str, Any]) -> str:
    peer = obj.get("peer")
    if not isinstance(peer, str) or not peer:
        raise ProtocolError(BAD, "'peer' must be a peer id")
    return peer


def _addressing(obj: dict[str, Any]) -> tuple[str | None, str | None]:
    """The optional ``room`` (for a socket that has not joined) and ``request`` id."""
    room, request = obj.get("room"), obj.get("request")
    if room is not None and not valid_room(room):
        raise ProtocolError(
            BAD, "'room' must be 1-64 characters of letters, digits, '.', '_' or '-'"
        )
    if request is not None and (
        not isinstance(request, str) or PING_ID_PATTERN.fullmatch(request) is None
    ):
        raise ProtocolError(BAD, "'request' must be 1-32 of A-Z a-z 0-9 _ -")
    return room, request


def _flag(obj: dict[str, Any], key: str, default: bool) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise ProtocolError(BAD, f"'{key}' must be true or false")
    return value


def parse_host_request(obj: dict[str, Any]) -> HostRequest:
    """The host request ``obj`` (decoded, its ``type`` one of HOST_CLIENT_TYPES), or
    :class:`ProtocolError` ``bad-message`` saying what is wrong with it."""
    kind = obj.get("type")
    room, request = _addressing(obj)
    if kind == ClientFrame.END_CALL:
        return EndCall(room, request)
    peer = _peer(obj)
    if kind == ClientFrame.MAKE_HOST:
        return MakeHost(peer, room, request)
    if kind == ClientFrame.MUTE:
        microphone = _flag(obj, "microphone", True)
        camera = _flag(obj, "camera", False)
        if not (microphone or camera):
            raise ProtocolError(BAD, "a mute turns off the microphone, the camera or both")
        return Mute(peer, microphone, camera, room, request)
    minutes = obj.get("ban_minutes", DEFAULT_BAN_MINUTES)
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int | float)
        or not math.isfinite(minutes)
        or not 0 <= minutes <= MAX_BAN_MINUTES
    ):
        raise ProtocolError(BAD, f"'ban_minutes' must be a number from 0 to {MAX_BAN_MINUTES:g}")
    return Remove(peer, float(minutes), room, request)


# -- builders (what a Python client sends) ---------------------------------------------


def _addressed(message: dict[str, Any], room: str | None, request: str | None) -> dict[str, Any]:
    if room is not None:
        message["room"] = room
    if request is not None:
        message["request"] = request
    return message


def mute_message(
    peer: str,
    microphone: bool = True,
    camera: bool = False,
    room: str | None = None,
    request: str | None = None,
) -> dict[str, Any]:
    """Turn ``peer``'s microphone (and/or camera) off."""
    message = {"type": ClientFrame.MUTE, "peer": peer, "microphone": microphone, "camera": camera}
    return _addressed(message, room, request)


def remove_message(
    peer: str,
    ban_minutes: float = DEFAULT_BAN_MINUTES,
    room: str | None = None,
    request: str | None = None,
) -> dict[str, Any]:
    """Remove ``peer``; its identity may not rejoin for ``ban_minutes`` (0: at once)."""
    message = {"type": ClientFrame.REMOVE, "peer": peer, "ban_minutes": ban_minutes}
    return _addressed(message, room, request)


def end_call_message(room: str | None = None, request: str | None = None) -> dict[str, Any]:
    """End the call for everyone in the room."""
    return _addressed({"type": ClientFrame.END_CALL}, room, request)


def make_host_message(
    peer: str, room: str | None = None, request: str | None = None
) -> dict[str, Any]:
    """Make ``peer`` a host too."""
    return _addressed({"type": ClientFrame.MAKE_HOST, "peer": peer}, room, request)


# -- what the server sends -------------------------------------------------------------


def hosts_frame(hosts: list[str]) -> str:
    """The room's hosts changed: ``hosts`` are the ids of every host in it now."""
    return encode({"type": ServerFrame.HOSTS, "hosts": hosts})


def muted_frame(peer: str, by: str, name: str, microphone: bool, camera: bool) -> str:
    """A host (peer ``by``, "" for a notebook's code that has not joined; ``name`` as
    people know them) turned ``peer``'s microphone and/or camera off. Every receiver
    stops playing them until ``peer`` says, in a state of its own, that they are on."""
    return encode(
        {
            "type": ServerFrame.MUTED,
            "id": peer,
            "by": by,
            "name": name,
            "microphone": microphone,
            "camera": camera,
        }
    )


def done_frame(request: str) -> str:
    """The host request ``request`` took effect. Ids match PING_ID_PATTERN, so they need
    no escaping."""
    return f'{{"type":"{ServerFrame.DONE}","request":"{request}"}}'


def close_reason(text: str) -> str:
    """``text`` cut to what a WebSocket close frame may carry (123 bytes of UTF-8)."""
    encoded = text.encode()
    if len(encoded) <= MAX_CLOSE_REASON_BYTES:
        return text
    return encoded[: MAX_CLOSE_REASON_BYTES - 3].decode(errors="ignore") + "..."
