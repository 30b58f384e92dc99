"""Which plane carries each room's media: the mesh, or the server's SFU.

The trusted server decides, never a page: a room moves to the SFU when, after a join,
it holds more than ``mesh_max_peers`` participants that carry media (a recorder only
receives, so it does not count), and the server has an SFU. It stays there until it
empties; the next first join starts a mesh again.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..protocol import MEDIA_MESH, MEDIA_SFU, RECORDER_KIND
from .backends.base import PeerInfo


def carries_media(peer: PeerInfo) -> bool:
    """A participant that sends media (a recorder does not)."""
    return peer.get("kind") != RECORDER_KIND


class MediaPlanes:
    """The rooms on the SFU that this process follows (every other room is a mesh)."""

    def __init__(self, mesh_max_peers: int) -> None:
        self.mesh_max_peers = mesh_max_peers
        self._sfu: set[str] = set()

    def of(self, room: str) -> str:
        """``"sfu"`` or ``"mesh"``: the plane of ``room`` now."""
        return MEDIA_SFU if room in self._sfu else MEDIA_MESH

    def after_join(self, room: str, members: Iterable[PeerInfo], has_sfu: bool) -> bool:
        """Apply the rule once a join made ``members`` the room; True when the room moved
        to the SFU just now (those already in it are then told)."""
        if not has_sfu or room in self._sfu:
            return False
        if sum(1 for peer in members if carries_media(peer)) <= self.mesh_max_peers:
            return False
        self._sfu.add(room)
        return True

    def keep_sfu(self, room: str) -> None:
        """The room is on the SFU already: another server moved it (media_events.py)."""
        self._sfu.add(room)

    def emptied(self, room: str) -> None:
        """The room has nobody left: its next first join starts a mesh."""
        self._sfu.discard(room)
