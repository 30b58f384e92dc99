"""A peer of this process as the registry keeps it: its socket (a :class:`Transport`),
its mailbox, and how its waiting state updates are merged."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .backends.base import PeerInfo
from .mailbox import Mailbox


class Transport(Protocol):
    """One client socket as the registry sees it."""

    def send_frame(self, frame: bytes) -> bool:
        """Queue a frame (UTF-8 JSON) for this socket alone: its ``welcome``, an
        ``error``. False when the socket is already closed."""

    def attach(self, mailbox: Mailbox | None) -> None:
        """Drain this peer's mailbox from now on (None: stop)."""

    def wake(self) -> None:
        """The mailbox attached has new frames."""

    def close_socket(self, code: int, reason: str) -> None: ...

    def moved(self, peer: Peer) -> None:
        """The server moved this socket's peer to another room (breakouts.py): it speaks
        for ``peer`` from now on."""


@dataclass(eq=False)
class Peer:
    """A peer connected to this process, or dropped and inside its grace window.

    ``mailbox`` holds what its socket has not taken yet, and outlives a dropped socket.
    ``forced`` holds the devices a host turned off (hosts.py), each True once the peer
    itself said it is off: only then may its own word turn it on again.
    ``waiting_since`` is set (ms since 1970) while the peer waits in the lobby of a
    locked room (lobby.py): it is no member yet, and hears nothing of the room;
    ``entering`` while a host's admission of it is under way."""

    info: PeerInfo
    room: str
    resume: str
    transport: Transport | None
    mailbox: Mailbox
    user: Mapping[str, Any] | None = None
    expiry: asyncio.TimerHandle | None = None
    forced: dict[str, bool] = field(default_factory=dict)
    waiting_since: int | None = None
    entering: bool = False

    @property
    def id(self) -> str:
        return str(self.info["id"])


def state_key(peer_id: str, by: str) -> str:
    """What a waiting ``peer-state`` frame is merged by (see :class:`Mailbox`): a newer
    state of the same peer replaces it, so toggling a camera or a hand cannot fill anyone's
    mailbox. A hand lowered by another peer is kept apart (the last one of each peer):
    the room is told who lowered it, and its own peer that it is down."""
    return peer_id if by in ("", peer_id) else f"{peer_id} by"
