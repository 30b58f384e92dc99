"""Breakout rooms: a host splits a room into named groups for a while, and everyone comes
back when it ends.

A host asks with ``breakout``: either ``groups`` (each group's name and the ids of the
main room's participants in it) or ``n_groups`` (the server deals the room's
participants, hosts and recorders aside, into ``group-1`` ... ``group-N``), and
``minutes``. The server moves each one it assigned, on its own socket: the peer gets
``moved`` (the room it is in from now on), then a ``welcome`` to that room, keeping its
peer id. Each group is a room of its own, named after the main room
(:func:`breakout_room`), on the mesh or the SFU by its size. Only those a host assigned
to a group, and the main room's hosts, may enter it: a join that names a group room is
refused otherwise. When the time is up, or a host sends ``end-breakout``, everyone in
the groups is moved back (``moved`` with an empty ``group``, then a welcome to the main
room). ``breakouts`` tells the main room and every group what runs: the groups, the
seconds left (``{}`` and 0 once it ended), and who in a group asks for help (raised
their hand there): the main room's pages put them in its queue of raised hands. A host
who joined moves itself to a group to visit it, or back (``visit``, ``group`` "" for the
main room). The three requests are host requests (:mod:`.hosts`): ``room`` and
``request`` as there, ``not-host`` for anyone else.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .encoding import encode
from .errors import ErrorCode, ProtocolError
from .hosts import _addressed, _addressing
from .names import ClientFrame, ServerFrame

BAD = ErrorCode.BAD_MESSAGE
# A group's name: short, and fit to be part of a room name.
GROUP_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,16}")
# What a group room's name carries between the main room's name and the group's. A room
# name that has it is a group room: it is entered only as breakout rooms allow.
BREAKOUT_MARK: Final = ".breakout."
MAX_GROUPS: Final = 20
# How long a breakout may last: from a second to a day.
MIN_BREAKOUT_MINUTES: Final = 1 / 60
MAX_BREAKOUT_MINUTES: Final = 24 * 60.0
DEFAULT_BREAKOUT_MINUTES: Final = 10.0
# The longest room name (names.ROOM_PATTERN), and how much of a hash stands for the end
# of a main room's name that is too long to be kept whole in its groups' names.
_MAX_ROOM_CHARS = 64
_HASH_CHARS = 8


@dataclass(frozen=True)
class Breakout:
    """Split the room: ``groups`` by name (the main room's peer ids in each), or
    ``n_groups`` the server deals, for ``minutes``."""

    groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    n_groups: int = 0
    minutes: float = DEFAULT_BREAKOUT_MINUTES
    room: str | None = None
    request: str | None = None


@dataclass(frozen=True)
class EndBreakout:
    """Bring everyone back to the main room now (nothing changes when none runs)."""

    room: str | None = None
    request: str | None = None


@dataclass(frozen=True)
class Visit:
    """Move the host who asks (it joined) to ``group``'s room, or back to the main room
    ("")."""

    group: str
    room: str | None = None
    request: str | None = None


BreakoutRequest = Breakout | EndBreakout | Visit
BREAKOUT_CLIENT_TYPES: Final = frozenset(
    {ClientFrame.BREAKOUT, ClientFrame.END_BREAKOUT, ClientFrame.VISIT}
)


def valid_group(name: object) -> bool:
    return isinstance(name, str) and GROUP_PATTERN.fullmatch(name) is not None


def valid_minutes(minutes: object) -> bool:
    """A breakout's length: a finite number from a second to a day (in minutes)."""
    return (
        not isinstance(minutes, bool)
        and isinstance(minutes, int | float)
        and math.isfinite(minutes)
        and MIN_BREAKOUT_MINUTES <= minutes <= MAX_BREAKOUT_MINUTES
    )


def _groups(value: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict) or not value:
        raise ProtocolError(BAD, "'groups' must map each group's name to a list of peer ids")
    if len(value) > MAX_GROUPS:
        raise ProtocolError(BAD, f"a breakout has at most {MAX_GROUPS} groups")
    seen: set[str] = set()
    groups = []
    for name, members in value.items():
        if not valid_group(name):
            raise ProtocolError(
                BAD, f"group name '{str(name)[:40]}' must be 1-16 of A-Z a-z 0-9 _ -"
            )
        if not isinstance(members, list) or not members:
            raise ProtocolError(BAD, f"group '{name}' must list at least one peer id")
        for peer in members:
            if not isinstance(peer, str) or not peer:
                raise ProtocolError(BAD, f"group '{name}' must list peer ids")
            if peer in seen:
                raise ProtocolError(BAD, f"peer '{peer[:40]}' is in two groups", peer=peer)
            seen.add(peer)
        groups.append((name, tuple(members)))
    return tuple(groups)


def parse_breakout_request(obj: dict[str, Any]) -> BreakoutRequest:
    """The breakout request ``obj`` (decoded, its ``type`` one of BREAKOUT_CLIENT_TYPES),
    or :class:`ProtocolError` ``bad-message`` saying what is wrong with it (naming the
    request, when its ``request`` id is good)."""
    room, request = _addressing(obj)
    try:
        return _parse(obj, room, request)
    except ProtocolError as exc:
        exc.request = request
        raise


def _parse(obj: dict[str, Any], room: str | None, request: str | None) -> BreakoutRequest:
    if obj.get("type") == ClientFrame.END_BREAKOUT:
        return EndBreakout(room, request)
    if obj.get("type") == ClientFrame.VISIT:
        group = obj.get("group")
        if group != "" and not valid_group(group):
            raise ProtocolError(BAD, "'group' must be a group's name, or \"\" for the main room")
        return Visit(str(group), room, request)
    minutes = obj.get("minutes", DEFAULT_BREAKOUT_MINUTES)
    if not valid_minutes(minutes):
        raise ProtocolError(
            BAD,
            f"'minutes' must be a number from {MIN_BREAKOUT_MINUTES * 60:g} s to "
            f"{MAX_BREAKOUT_MINUTES:g} minutes",
        )
    has_groups, n_groups = "groups" in obj, obj.get("n_groups")
    if has_groups == (n_groups is not None):
        raise ProtocolError(BAD, "a breakout names its 'groups' or asks for 'n_groups', not both")
    if n_groups is not None:
        if isinstance(n_groups, bool) or not isinstance(n_groups, int):
            raise ProtocolError(BAD, "'n_groups' must be a whole number")
        if not 1 <= n_groups <= MAX_GROUPS:
            raise ProtocolError(BAD, f"'n_groups' must be from 1 to {MAX_GROUPS}")
        return Breakout((), n_groups, float(minutes), room, request)
    return Breakout(_groups(obj.get("groups")), 0, float(minutes), room, request)


def breakout_room(main: str, group: str) -> str:
    """The room of ``group`` in a breakout of ``main``: ``<main>.breakout.<group>``, with
    the end of a long main room's name replaced by a hash so that it fits ROOM_PATTERN
    (its start, an owner tag among it, stays)."""
    whole = f"{main}{BREAKOUT_MARK}{group}"
    if len(whole) <= _MAX_ROOM_CHARS:
        return whole
    digest = hashlib.sha256(main.encode()).hexdigest()[:_HASH_CHARS]
    keep = _MAX_ROOM_CHARS - len(BREAKOUT_MARK) - len(group) - _HASH_CHARS - 1
    return f"{main[:keep]}-{digest}{BREAKOUT_MARK}{group}"


def is_breakout_room(room: str) -> bool:
    """Whether ``room`` names a group room (it may be entered only as a breakout allows)."""
    return BREAKOUT_MARK in room


# -- builders (what a Python client sends) ---------------------------------------------


def breakout_message(
    groups: Mapping[str, Sequence[str]] | None = None,
    n_groups: int | None = None,
    minutes: float = DEFAULT_BREAKOUT_MINUTES,
    room: str | None = None,
    request: str | None = None,
) -> dict[str, Any]:
    """Split the room into ``groups`` (name: peer ids) or ``n_groups`` for ``minutes``."""
    message: dict[str, Any] = {"type": ClientFrame.BREAKOUT, "minutes": minutes}
    if groups is not None:
        message["groups"] = {name: list(peers) for name, peers in groups.items()}
    if n_groups is not None:
        message["n_groups"] = n_groups
    return _addressed(message, room, request)


def end_breakout_message(room: str | None = None, request: str | None = None) -> dict[str, Any]:
    """Bring everyone back to the main room now."""
    return _addressed({"type": ClientFrame.END_BREAKOUT}, room, request)


def visit_message(
    group: str, room: str | None = None, request: str | None = None
) -> dict[str, Any]:
    """Visit ``group`` (a host that joined), or go back to the main room ("")."""
    return _addressed({"type": ClientFrame.VISIT, "group": group}, room, request)


# -- what the server sends -------------------------------------------------------------


def moved_frame(room: str, group: str, main: str) -> str:
    """To a peer the server moves: it is in ``room`` from now on (its welcome follows),
    ``group`` of a breakout of ``main`` ("" : back in ``main``)."""
    return encode({"type": ServerFrame.MOVED, "room": room, "group": group, "main": main})


# The fields of each entry of a ``breakouts`` frame's ``help``, in this order.
HELP_ENTRY_FIELDS: Final = ("id", "name", "group", "hand")


def help_entry(peer_id: str, name: str, group: str, hand: int) -> dict[str, Any]:
    """Somebody in ``group`` asks for help: their hand went up there at ``hand`` (ms
    since 1970, the stamp that orders a queue of raised hands)."""
    return {"id": peer_id, "name": name, "group": group, "hand": hand}


def breakouts_frame(
    main: str,
    groups: Mapping[str, Sequence[str]],
    seconds_left: float,
    asking: Sequence[Mapping[str, Any]] = (),
) -> str:
    """To the main room and every group: the breakout of ``main`` now, each group's name
    and the ids a host put in it (``{}`` when none runs), the seconds left (0), and who
    asks for help (entries of :func:`help_entry`, first asked first)."""
    return encode(
        {
            "type": ServerFrame.BREAKOUTS,
            "main": main,
            "groups": {name: list(peers) for name, peers in groups.items()},
            "seconds_left": round(max(0.0, seconds_left), 1),
            "help": list(asking),
        }
    )
