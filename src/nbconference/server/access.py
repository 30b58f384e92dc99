"""Who may enter which room: the ``room_access`` rules.

A rule is ``{"rooms": GLOB, "allow": [...], "hosts": [...]}``. The first rule whose
``rooms`` glob matches a room's name (``fnmatch``, case-sensitive) decides who may enter
it; a room no rule matches is open to every socket the server admits. An entry of
``allow`` or ``hosts`` is a username, ``group:NAME`` or ``*`` (anyone the server has
verified); hosts may always enter. The registry checks a join against them before the
peer reaches the backend, so a refused join leaves no trace anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

from ..protocol import ErrorCode, ProtocolError, owner_tag, room_owner_tag

ANYONE = "*"
GROUP_PREFIX = "group:"
RULE_KEYS = ("rooms", "allow", "hosts")

Identity = Mapping[str, Any]
# What a socket may open beyond who it is, as the server that authenticated it says: on a
# JupyterHub, the ``access:servers`` scopes of its token. Only the entry check reads them;
# they are never part of the identity stamp that others see.
Grants = frozenset[str]
NO_GRANTS: Grants = frozenset()


@dataclass(frozen=True)
class AccessRule:
    """One rule: the rooms its glob matches, who may enter them, and their hosts."""

    rooms: str
    allow: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()

    def admits(self, identity: Identity | None) -> bool:
        """Whether an entry of ``allow`` or ``hosts`` names ``identity``."""
        return names(self.allow, identity) or names(self.hosts, identity)


def names(entries: Sequence[str], identity: Identity | None) -> bool:
    """Whether one of ``entries`` (usernames, ``group:NAME``, ``*``) names ``identity``;
    never, for None (a socket that names nobody)."""
    if identity is None:
        return False
    username = identity.get("username") or ""
    groups = identity.get("groups") or []
    for entry in entries:
        if entry == ANYONE:
            return True
        if entry.startswith(GROUP_PREFIX):
            if entry[len(GROUP_PREFIX) :] in groups:
                return True
        elif entry == username:
            return True
    return False


class OwnedRooms(Protocol):
    """Who, besides its owner, may enter a room of one user's: on a JupyterHub, those the
    Hub lets open the owner's server (see :mod:`.hub`)."""

    async def may_enter(self, tag: str, identity: Identity, grants: Grants) -> bool:
        """Whether ``identity``, showing ``grants``, owns the rooms of owner tag ``tag``
        or may use them."""


class RoomAccess:
    """The ``room_access`` rules of a server, and who a socket without an identity is.

    ``owner`` is the username that a socket without an identity stands for: in the
    Jupyter extension, a socket that showed the server's token without a login cookie (a
    KernelPeer, a script) belongs to the user the server runs for. None (``nbconference
    serve``, which knows nobody): such a socket is nobody, and enters only rooms that no
    rule matches.
    """

    def __init__(
        self,
        rules: Sequence[AccessRule] = (),
        owner: str | None = None,
        owned: OwnedRooms | None = None,
    ) -> None:
        self.rules = tuple(rules)
        self.owner = owner or None
        self.owned = owned

    def rule_for(self, room: str) -> AccessRule | None:
        """The rule that decides ``room``: the first whose glob matches its name."""
        return next((rule for rule in self.rules if fnmatchcase(room, rule.rooms)), None)

    def who(self, identity: Identity | None) -> Identity | None:
        """Whom a socket showing ``identity`` stands for: that identity, the server's
        owner for a socket without one (in the extension), or None (nobody known)."""
        if identity is None and self.owner is not None:
            return {"username": self.owner}
        return identity

    def may_enter(self, room: str, identity: Identity | None) -> bool:
        rule = self.rule_for(room)
        return rule is None or rule.admits(self.who(identity))

    def is_host(self, room: str, identity: Identity | None) -> bool:
        """Whether ``identity`` hosts ``room`` by name: the rule that decides it names
        them among its hosts, or, where the rule names none, the room is theirs (a room
        of one user's, where this server keeps them: a notebook's default room on a Hub
        is hosted by the notebook server's owner)."""
        rule = self.rule_for(room)
        if rule is not None and rule.hosts:
            return names(rule.hosts, self.who(identity))
        return self._owns(room, identity)

    def names_hosts(self, room: str) -> bool:
        """Whether the server decides who hosts ``room`` by name: a rule's ``hosts`` name
        somebody, or the room is one user's (its owner)."""
        rule = self.rule_for(room)
        return (rule is not None and bool(rule.hosts)) or self._owned(room)

    def _owned(self, room: str) -> bool:
        return self.owned is not None and room_owner_tag(room) is not None

    def _owns(self, room: str, identity: Identity | None) -> bool:
        who = self.who(identity)
        username = str((who or {}).get("username") or "")
        return self._owned(room) and bool(username) and owner_tag(username) == room_owner_tag(room)

    def host_by_right(self, room: str, identity: Identity | None) -> bool:
        """Whether ``identity`` hosts ``room`` whoever else is there: the rule's hosts
        where the rule names some; otherwise the server's owner (in the extension, the
        user it runs for, whose token its kernels show)."""
        if self.names_hosts(room):
            return self.is_host(room, identity)
        who = self.who(identity)
        return self.owner is not None and who is not None and who.get("username") == self.owner

    async def admit(self, room: str, identity: Identity | None, grants: Grants = NO_GRANTS) -> None:
        """Raise ``not-allowed`` unless ``identity`` may enter ``room``: a room of one
        user's (``"<owner tag>~..."``) where this server keeps them (:class:`OwnedRooms`,
        which weighs the socket's ``grants``), then the rules (:meth:`check`)."""
        tag = room_owner_tag(room)
        if self.owned is not None and tag is not None:
            who = self.who(identity)
            if who is None or not await self.owned.may_enter(tag, who, grants):
                raise ProtocolError(
                    ErrorCode.NOT_ALLOWED,
                    f"room '{room}' is a room of another user's server: only its owner, and "
                    "those the Hub lets open that server, may enter",
                )
        self.check(room, identity)

    def check(self, room: str, identity: Identity | None) -> None:
        """Raise ``not-allowed`` unless ``identity`` may enter ``room``.

        The message names the room and who asked, never who may enter.
        """
        if self.may_enter(room, identity):
            return
        who = self.who(identity)
        username = (who or {}).get("username")
        asker = f"'{username}'" if username else "a connection that names no user"
        raise ProtocolError(
            ErrorCode.NOT_ALLOWED,
            f"room '{room}' admits only the people its server's room_access names, and not {asker}",
        )


def parse_room_access(value: Any) -> list[AccessRule]:
    """The rules of a ``room_access`` setting; ValueError says what is wrong with it.

    A rule that lets nobody in (``allow`` and ``hosts`` both empty or missing) is a
    mistake more often than a wish, so it is refused too.
    """
    if not isinstance(value, list):
        raise ValueError(f"expected a list of rules, got {type(value).__name__}")
    return [_parse_rule(n, rule) for n, rule in enumerate(value)]


def _parse_rule(n: int, rule: Any) -> AccessRule:
    if not isinstance(rule, dict):
        raise ValueError(f"rule {n} is not an object (got {type(rule).__name__})")
    unknown = set(rule) - set(RULE_KEYS)
    if unknown:
        raise ValueError(
            f"rule {n} has unknown keys {sorted(map(str, unknown))}; a rule has "
            f"{', '.join(repr(k) for k in RULE_KEYS)}"
        )
    rooms = rule.get("rooms")
    if not isinstance(rooms, str) or not rooms:
        raise ValueError(f"rule {n} needs 'rooms': a glob of room names, e.g. \"class-*\"")
    allow = _entries(n, rule, "allow")
    hosts = _entries(n, rule, "hosts")
    if not allow and not hosts:
        raise ValueError(
            f"rule {n} (rooms {rooms!r}) lets nobody in: its 'allow' and 'hosts' are both "
            "empty. Name who may enter: usernames, 'group:NAME', or '*' for anyone signed in"
        )
    return AccessRule(rooms, allow, hosts)


def _entries(n: int, rule: Mapping[str, Any], key: str) -> tuple[str, ...]:
    entries = rule.get(key, [])
    if not isinstance(entries, list):
        raise ValueError(f"rule {n}: {key!r} must be a list, got {type(entries).__name__}")
    for entry in entries:
        if not isinstance(entry, str):
            raise ValueError(f"rule {n}: {key!r} holds {entry!r}, which is not a string")
        if not entry or entry == GROUP_PREFIX:
            raise ValueError(f"rule {n}: {key!r} holds {entry!r}, which names nobody")
    return tuple(entries)
