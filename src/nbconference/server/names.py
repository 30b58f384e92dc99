"""Keeping a participant the server cannot vouch for apart from one it can.

A record is *verified* when the server stamped it with an identity (``user`` is not
None; see :func:`nbconference.protocol.peer_record`). Anyone else's name and colour are
only what their client said. So that such a label cannot pass for a verified person,
the registry (rooms.py) gives an unverified join whose name matches a verified member's
(case-insensitively, after :func:`~nbconference.protocol.normalize_name`) the name with
:data:`UNVERIFIED_SUFFIX`, and drops a colour equal to a verified member's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from ..protocol import MAX_NAME_CHARS, name_key

UNVERIFIED_SUFFIX: Final = " (unverified)"


def canonical_color(color: object) -> str | None:
    """``color`` in one spelling per colour: "#F00", "#ff0000" and "#ff0000ff" alike."""
    if not isinstance(color, str) or not color:
        return None
    value = color.strip().lower()
    if value.startswith("#") and len(value) in (4, 5):
        value = "#" + "".join(c * 2 for c in value[1:])
    if value.startswith("#") and len(value) == 9 and value.endswith("ff"):
        value = value[:7]
    return value


def kept_apart(record: Mapping[str, Any], members: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """``record`` (an unverified join's) as the room may see it next to ``members``: its
    name suffixed when a verified member has that name, its colour dropped when a
    verified member has that colour. The same record when nothing clashes."""
    names: set[str] = set()
    colors: set[str] = set()
    for member in members:
        user = member.get("user")
        if not user or member.get("id") == record.get("id"):
            continue
        names.add(name_key(str(member.get("name", ""))))
        names.add(name_key(str(user.get("username", ""))))
        color = canonical_color(member.get("color"))
        if color:
            colors.add(color)
    names.discard("")
    result = dict(record)
    name = str(record.get("name", ""))
    if name_key(name) in names:
        result["name"] = _suffixed(name, names)
    if canonical_color(record.get("color")) in colors:
        result["color"] = None
    return result


def _suffixed(name: str, taken: set[str]) -> str:
    """``name`` with the unverified suffix (and a number, if a verified member has even
    that name), cut to fit :data:`MAX_NAME_CHARS`."""
    count = 1
    while True:
        suffix = UNVERIFIED_SUFFIX if count == 1 else f" (unverified {count})"
        candidate = name[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
        if name_key(candidate) not in taken:
            return candidate
        count += 1
