"""A participant as Python sees it: the one record of ``w.peers``, ``kp.peers`` and
``rec.peers``, whichever side met the participant.

A browser reports each peer it knows as a roster entry (``peerTraits`` in js/mesh.js: the
person, the presence state and its link); a kernel peer or a recorder holds the
server's public record of each (:func:`nbconference.protocol.peer_record`) and turns it
into the same entry with :func:`roster_entry`. :func:`peer_record` makes the record from
either. It loads no UI code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .chat_log import hand_fields

IDENTITY_FIELDS = ("username", "initials", "color", "avatar_url")
DEVICE_FIELDS = ("camera", "microphone", "screen")
MAX_TEXT = 2000


def _text(value: object, limit: int = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _identity(source: Mapping[str, Any]) -> dict[str, Any]:
    """The identity fields of a browser's record, as text (or None when unknown)."""
    result: dict[str, Any] = {"name": _text(source.get("name"), 200)}
    for key in IDENTITY_FIELDS:
        value = source.get(key)
        result[key] = value[:MAX_TEXT] if isinstance(value, str) and value else None
    result["verified"] = source.get("verified") is True
    result["groups"] = _groups(source.get("groups"))
    return result


def _groups(value: object) -> list[str]:
    """The groups of a record (a JupyterHub user's), as a list of names."""
    if not isinstance(value, list):
        return []
    return [group[:200] for group in value[:100] if isinstance(group, str)]


def _devices(source: Mapping[str, Any]) -> dict[str, bool]:
    return {key: source.get(key) is True for key in DEVICE_FIELDS}


def peer_record(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A ``peers`` record from one roster entry (a viewer's, or :func:`roster_entry`'s)."""
    return {
        "id": _text(entry.get("id"), 64),
        **_identity(entry),
        **_devices(entry),
        **hand_fields(entry),
        "host": entry.get("host") is True,
        "connection": _text(entry.get("connection"), 32) or "new",
        "problem": _text(entry.get("problem")),
    }


def initials_of(name: str) -> str:
    """Up to two letters from a name, as the page draws them (js/people.js initialsOf):
    "Ada Lovelace" gives "AL", "ada" gives "A"."""
    words = name.split()
    letters = [words[0], words[-1]] if len(words) > 1 else words
    return "".join(word[0] for word in letters).upper() or "?"


def roster_entry(
    info: Mapping[str, Any], connection: str = "new", problem: str = ""
) -> dict[str, Any]:
    """The roster entry a browser would report for the server's public record ``info``
    (js/people.js personOf and js/mesh.js peerTraits), with our link's ``connection``."""
    user = info.get("user")
    person: Mapping[str, Any] = user if isinstance(user, Mapping) else {}
    name = person.get("display_name") or info.get("name") or "Someone"
    state = info.get("state")
    presence: Mapping[str, Any] = state if isinstance(state, Mapping) else {}
    return {
        "id": info.get("id"),
        "name": name,
        "username": person.get("username"),
        "initials": person.get("initials") or initials_of(str(name)),
        "color": info.get("color"),
        "avatar_url": person.get("avatar_url"),
        "verified": isinstance(user, Mapping),
        "groups": _groups(person.get("groups")),
        **{key: presence.get(key) for key in (*DEVICE_FIELDS, "hand")},
        "host": info.get("host") is True,
        "connection": connection,
        "problem": problem,
        "widget": info.get("widget"),
    }
