"""Frames the server sends, encoded: a peer's public record and every frame but ``chat``
(in :mod:`.chat`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .chat import DEFAULT_CHAT_LIMITS, ChatLimits
from .client_frames import Join
from .encoding import encode
from .errors import ErrorCode, error_code
from .names import (
    DEFAULT_NAME,
    ICE_TRANSPORT_ALL,
    MEDIA_MESH,
    PARTICIPANT_KIND,
    PROTOCOL_VERSION,
    Limits,
    ServerFrame,
)
from .text import normalize_name


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


MAX_GROUPS = 100


def identity_stamp(user: Any, groups: Any = ()) -> dict[str, Any]:
    """The identity fields of a jupyter_server ``User`` that go into peer records, with
    the ``groups`` a JupyterHub says the user is in (sorted; none elsewhere)."""
    display = str(getattr(user, "display_name", "") or getattr(user, "name", "") or "")
    username = str(getattr(user, "username", "") or "")
    initials = getattr(user, "initials", None)
    color = getattr(user, "color", None)
    avatar = getattr(user, "avatar_url", None)
    stamp: dict[str, Any] = {
        "username": username[:200],
        "display_name": normalize_name(display) or normalize_name(username) or DEFAULT_NAME,
        "initials": str(initials)[:8] if initials else None,
        "avatar_url": str(avatar)[:2000] if avatar else None,
        "color": str(color)[:200] if color else None,
    }
    if groups:
        stamp["groups"] = sorted({str(group)[:200] for group in groups})[:MAX_GROUPS]
    return stamp


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
    ice_transport_policy: str = ICE_TRANSPORT_ALL,
    media: str = MEDIA_MESH,
) -> str:
    """The answer to ``join``: our id, our own record as the others see it (``peer``),
    the resume token, who is in the room, the ICE servers and which candidates to use
    (``ice_transport_policy``, as RTCConfiguration's), the limits a client keeps to, and
    the plane that carries the room's media now (``media``: one of MEDIA_PLANES)."""
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
            "ice_transport_policy": ice_transport_policy,
            "limits": {
                **limits.public(),
                "max_chat_bytes": (chat_limits or DEFAULT_CHAT_LIMITS).max_chat_bytes,
            },
            "media": media,
        }
    )


def ice_servers_frame(ice_servers: list[dict[str, Any]]) -> str:
    """New ICE servers for this socket (fresh TURN credentials before the last expire):
    for new connections, and for existing ones' next ICE restart."""
    return encode({"type": ServerFrame.ICE_SERVERS, "ice_servers": ice_servers})


def media_frame(media: str) -> str:
    """The room moved to the plane ``media`` (one of MEDIA_PLANES); sent to every peer
    already in the room, not to the one whose join moved it (its welcome says so)."""
    return encode({"type": ServerFrame.MEDIA, "media": media})


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


def error_frame(
    code: ErrorCode | str, message: str, peer: str | None = None, request: str | None = None
) -> str:
    """An ``error``; ``peer`` names the peer it concerns, when there is one, and
    ``request`` the host request it refuses, when that carried an id (hosts.py).

    ``code`` must be an :class:`ErrorCode` (or its string): ValueError otherwise."""
    frame: dict[str, Any] = {
        "type": ServerFrame.ERROR,
        "code": error_code(code).value,
        "message": message,
    }
    if peer is not None:
        frame["peer"] = peer
    if request is not None:
        frame["request"] = request
    return encode(frame)


def pong_frame(ping_id: str) -> str:
    """The answer to a ``ping``; ids match PING_ID_PATTERN, so they need no escaping."""
    return f'{{"type":"{ServerFrame.PONG}","id":"{ping_id}"}}'
