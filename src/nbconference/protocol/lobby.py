"""The lobby of a locked room: who waits to be let in, and the host requests that run it.

A host locks a room (``lock``). From then on a newcomer who does not host the room on
arrival waits in its lobby: its socket gets ``waiting`` (its id and resume token, and a
sentence for people) and nothing else of the room, no names, no media signalling, no
chat, until a host lets it in (``admit``: it then gets its ``welcome``, and the room
``peer-joined``) or does not (``deny``: its socket closes with ``CLOSE_DENIED``). While
it waits it may send only ``state`` (kept for its welcome), ``ping`` and ``leave``;
anything else gets ``in-lobby``. ``unlock`` lets the next joiners straight in, and
everyone waiting with them.

Those who may act as hosts of the room get ``lobby`` whenever the lobby changes: whether
the room is locked, and who waits (id, name, username, when they started waiting). The
room's other members learn nothing of it. The four requests are host requests
(:mod:`.hosts`): ``room`` and ``request`` as there, ``not-host`` for anyone else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .encoding import encode
from .hosts import _addressed, _addressing, _peer
from .names import ClientFrame, ServerFrame

# What a newcomer of a locked room is told, in the ``waiting`` frame.
WAITING_MESSAGE: Final = "waiting for a host to let you in"
# The fields of each entry of a ``lobby`` frame's ``waiting``, in this order.
LOBBY_ENTRY_FIELDS: Final = ("id", "name", "username", "waiting_since")


@dataclass(frozen=True)
class Lock:
    """Lock the room: newcomers wait in the lobby until a host lets them in."""

    room: str | None = None
    request: str | None = None


@dataclass(frozen=True)
class Unlock:
    """Unlock the room: newcomers come straight in, and so does everyone waiting."""

    room: str | None = None
    request: str | None = None


@dataclass(frozen=True)
class Admit:
    """Let ``peer``, waiting in the lobby, into the room."""

    peer: str
    room: str | None = None
    request: str | None = None


@dataclass(frozen=True)
class Deny:
    """Do not let ``peer`` in: its socket closes for good (``CLOSE_DENIED``)."""

    peer: str
    room: str | None = None
    request: str | None = None


LobbyRequest = Lock | Unlock | Admit | Deny
LOBBY_CLIENT_TYPES: Final = frozenset(
    {ClientFrame.LOCK, ClientFrame.UNLOCK, ClientFrame.ADMIT, ClientFrame.DENY}
)


def parse_lobby_request(obj: dict[str, Any]) -> LobbyRequest:
    """The lobby request ``obj`` (decoded, its ``type`` one of LOBBY_CLIENT_TYPES), or
    :class:`~nbconference.protocol.ProtocolError` ``bad-message`` saying what is wrong."""
    kind = obj.get("type")
    room, request = _addressing(obj)
    if kind == ClientFrame.LOCK:
        return Lock(room, request)
    if kind == ClientFrame.UNLOCK:
        return Unlock(room, request)
    peer = _peer(obj)
    if kind == ClientFrame.ADMIT:
        return Admit(peer, room, request)
    return Deny(peer, room, request)


# -- builders (what a Python client sends) ---------------------------------------------


def lock_message(room: str | None = None, request: str | None = None) -> dict[str, Any]:
    """Lock the room: newcomers wait in the lobby."""
    return _addressed({"type": ClientFrame.LOCK}, room, request)


def unlock_message(room: str | None = None, request: str | None = None) -> dict[str, Any]:
    """Unlock the room: newcomers, and everyone waiting, come in."""
    return _addressed({"type": ClientFrame.UNLOCK}, room, request)


def admit_message(peer: str, room: str | None = None, request: str | None = None) -> dict[str, Any]:
    """Let ``peer`` in from the lobby."""
    return _addressed({"type": ClientFrame.ADMIT, "peer": peer}, room, request)


def deny_message(peer: str, room: str | None = None, request: str | None = None) -> dict[str, Any]:
    """Do not let ``peer`` in: its socket closes for good."""
    return _addressed({"type": ClientFrame.DENY, "peer": peer}, room, request)


# -- what the server sends -------------------------------------------------------------


def lobby_entry(peer_id: str, name: str, username: str, since: int) -> dict[str, Any]:
    """One person waiting: their id, name, username ("" where the server knows nobody)
    and when they started waiting (ms since 1970)."""
    return {"id": peer_id, "name": name, "username": username, "waiting_since": since}


def waiting_frame(peer_id: str, resume: str, room: str, since: int) -> str:
    """To a newcomer of a locked room: it waits in the lobby as ``peer_id`` (``resume``
    brings it back there after a drop) since ``since`` (ms since 1970)."""
    return encode(
        {
            "type": ServerFrame.WAITING,
            "id": peer_id,
            "resume": resume,
            "room": room,
            "waiting_since": since,
            "message": WAITING_MESSAGE,
        }
    )


def lobby_frame(locked: bool, waiting: Sequence[Mapping[str, Any]]) -> str:
    """To those who may act as the room's hosts: whether it is locked, and who waits
    (entries of :func:`lobby_entry`, first come first)."""
    return encode({"type": ServerFrame.LOBBY, "locked": locked, "waiting": list(waiting)})
