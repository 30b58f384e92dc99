"""``peers`` of a kernel peer or recorder: a list of records, as the widget's ``w.peers``.

``peers`` used to be a dict of :class:`~nbconference.peer.RemotePeer` by id. For one
release the list still answers that way (``peers[peer_id]``, ``.items()``, ``.keys()``,
``.values()``, ``.get()``, ``peer_id in peers``), and each record the attributes of its
RemotePeer (``peer.name``, ``peer.state``...), with a ``DeprecationWarning`` that says
what to use instead: the records' keys, and ``links`` for the media side.
"""

from __future__ import annotations

import warnings
from collections.abc import ItemsView, Iterable, KeysView, Mapping, ValuesView
from typing import Any, SupportsIndex, overload

from .mesh import RemotePeer


def _deprecated(what: str, instead: str) -> None:
    warnings.warn(
        f"{what} is deprecated: peers is a list of records like the widget's w.peers; "
        f"use {instead}",
        DeprecationWarning,
        stacklevel=3,
    )


class PeerRecord(dict[str, Any]):
    """A record of ``peers``: a plain dict to read and compare (id, name, username,
    initials, color, avatar_url, verified, camera, microphone, screen, hand,
    hand_raised_at, connection, problem)."""

    __slots__ = ("_remote",)

    def __init__(self, record: Mapping[str, Any], remote: RemotePeer | None = None) -> None:
        super().__init__(record)
        self._remote = remote

    def __getattr__(self, name: str) -> Any:
        remote = None if name.startswith("_") else self._remote
        if remote is None or not hasattr(remote, name):
            raise AttributeError(name)
        instead = f'peer["{name}"]' if name in self else f"links[peer_id].{name}"
        _deprecated(f"peer.{name} (an attribute of a peers record)", instead)
        return getattr(remote, name)


class Roster(list[PeerRecord]):
    """``peers``: the records of everyone else in the room, in the order they came."""

    def __init__(self, records: Iterable[PeerRecord], remotes: Mapping[str, RemotePeer]) -> None:
        super().__init__(records)
        self._remotes = dict(remotes)

    @overload
    def __getitem__(self, key: SupportsIndex) -> PeerRecord: ...
    @overload
    def __getitem__(self, key: slice) -> list[PeerRecord]: ...
    @overload
    def __getitem__(self, key: str) -> RemotePeer: ...
    def __getitem__(self, key: SupportsIndex | slice | str) -> Any:
        if isinstance(key, str):
            _deprecated("peers[peer_id]", "links[peer_id] or the record whose 'id' it is")
            return self._remotes[key]
        return super().__getitem__(key)

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            _deprecated("peer_id in peers", "any(p['id'] == peer_id for p in peers)")
            return item in self._remotes
        return super().__contains__(item)

    def get(self, peer_id: str, default: Any = None) -> Any:
        _deprecated("peers.get(peer_id)", "links.get(peer_id)")
        return self._remotes.get(peer_id, default)

    def keys(self) -> KeysView[str]:
        _deprecated("peers.keys()", "[p['id'] for p in peers]")
        return self._remotes.keys()

    def values(self) -> ValuesView[RemotePeer]:
        _deprecated("peers.values()", "the records of peers, or links.values()")
        return self._remotes.values()

    def items(self) -> ItemsView[str, RemotePeer]:
        _deprecated("peers.items()", "links.items()")
        return self._remotes.items()
