"""The interface between the room registry and where room membership lives."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

PeerInfo = dict[str, Any]
"""The public record of a peer: ``{"id", "name", "state"}``."""


class EventKind:
    """What a :class:`RoomEvent` says happened.

    The backends' own vocabulary (the Redis backend carries it between servers), kept
    apart from the client protocol's frame types so that either can change alone.
    """

    JOINED: Final = "joined"
    LEFT: Final = "left"
    STATE: Final = "state"
    SIGNAL: Final = "signal"
    # Back to the sender's server: its signal was not delivered (``data`` holds the
    # error's ``code`` and ``message``).
    REFUSED: Final = "refused"
    # Signals to ``peer_id`` may have been lost: its server missed part of the stream.
    LOST: Final = "lost"
    # A chat message for the whole room (``data_json`` is its encoded ``chat`` frame).
    CHAT: Final = "chat"
    # ``peer_id`` lowers the raised hand of ``to``, a peer of another server.
    LOWER: Final = "lower"
    # ``peer_id`` publishes a feed on the room's SFU (``data`` its shared feed record,
    # see protocol.sfu.parse_shared_feed), or withdrew it (``data`` None).
    FEED: Final = "feed"
    # A subscriber on another server receives the feed of ``to`` anew: its server asks
    # Janus for a key frame of it.
    KEY_FRAME: Final = "key-frame"
    # The hosts of a room changed (``data["hosts"]``: all of them now), between trusted
    # servers (redis_hosts.py), like the four kinds below.
    HOSTS: Final = "hosts"
    # A host's request about ``to``, a peer of this server (``data``: what to do, ``by``
    # the ticket its server waits on).
    HOST_ACT: Final = "host-act"
    # The answer to a ``host-act`` (handled by the backend itself).
    HOST_REPLY: Final = "host-reply"
    # A host ended the call of the room (``data["reason"]``: the close reason).
    END: Final = "end"
    # A frame for every peer of the room (``data_json``).
    FRAME: Final = "frame"
    # A host split the room into groups (``data``: ``groups``, by name the peer ids in
    # each, and ``seconds``), or ended that (``groups`` None).
    BREAKOUT: Final = "breakout"
    # The room's lobby changed (``data``: ``locked`` and every ``waiting`` entry).
    LOBBY: Final = "lobby"


@dataclass(frozen=True)
class RoomEvent:
    """Something that happened in a room, to be applied by every server with peers there.

    ``kind`` is one of :class:`EventKind`: ``joined`` (``peer`` set), ``left`` /
    ``state`` (``peer_id``, and ``state``), ``signal`` (``peer_id`` is the sender, ``to``
    and ``data`` set, ``data_json`` its encoding when known), ``refused`` (a signal of
    ``peer_id`` to ``to`` that was not delivered) or ``lost``. ``origin`` is the server
    that sent an event received from another one.
    """

    kind: str
    room: str
    peer_id: str = ""
    peer: PeerInfo | None = None
    state: dict[str, bool] | None = None
    to: str = ""
    data: dict[str, Any] | None = None
    data_json: str = ""
    origin: str = ""
    # A ``state`` that lowered a hand: who lowered it.
    by: str = ""


@dataclass(frozen=True)
class RoomMedia:
    """A room's SFU plane as the backend shares it between servers, read with a join:
    whether the room moved to the SFU, the Janus it is pinned to ('' : none yet), and the
    feeds published there by peer id (their records as stored, unchecked)."""

    sfu: bool = False
    janus: str = ""
    feeds: dict[str, str] | None = None


@dataclass(frozen=True)
class SharedLobby:
    """A room's lobby as the trusted servers share it: whether the room is locked, and
    the entries of everyone waiting, on any server (``server`` names it), first come
    first."""

    locked: bool = False
    waiting: list[dict[str, Any]] = field(default_factory=list)


class RoomFull(Exception):
    """The room already holds its maximum number of peers."""


class BackendUnavailable(Exception):
    """The shared store cannot be reached; the operation did not happen."""


class PeerBusy(Exception):
    """The target of a signal cannot take more just now; the signal was not sent."""


EventSink = Callable[[RoomEvent], None]


class Backend(ABC):
    """Membership with an atomic room cap, and a channel to the other servers of a room.

    The registry delivers every event to the peers connected to *this* process itself;
    a backend only has to carry events to *other* processes and hand theirs back
    through the sink given to :meth:`start`.
    """

    @abstractmethod
    async def start(self, sink: EventSink) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def add_peer(self, room: str, peer: PeerInfo, max_peers: int) -> list[PeerInfo]:
        """Add ``peer`` to ``room`` and return the peers that were already there.

        Raises :class:`RoomFull` when the room holds ``max_peers`` already.
        """

    @abstractmethod
    async def remove_peer(self, room: str, peer_id: str) -> None: ...

    @abstractmethod
    def publish(self, event: RoomEvent, on_failure: Callable[[str], None]) -> None:
        """Carry ``event`` to the other servers of its room, in order per sender.

        ``on_failure(reason)`` is called if the event could not be handed on, so that
        its sender can be told: nothing is dropped silently. A signal its target cannot
        take now raises :class:`PeerBusy` instead.
        """

    @abstractmethod
    def refuse(self, event: RoomEvent, code: str, message: str) -> None:
        """Tell the server that sent ``event`` (a signal from another server) that it was
        not delivered, so that its sender gets the error ``code``."""

    # -- the SFU plane shared between servers (not abstract: one process shares nothing) --

    shares_media = False
    """Whether other servers hold members of the same rooms (the SFU plane, its pin and
    its feeds are then shared through the backend: see redis_media.py)."""

    def room_media(self, room: str) -> RoomMedia | None:
        """What the join of this server's first peer in ``room`` read of the room's SFU
        plane (once: None afterwards, and always without sharing)."""
        return None

    def record_sfu(self, room: str) -> None:
        """The room moved to the SFU: the servers whose first peer joins later read so."""
        return None

    async def pin_janus(self, room: str, url: str, replacing: str = "") -> str:
        """The Janus (URL) ``room`` is pinned to: the one pinned already, else ``url``,
        pinned now (also when the pin is ``replacing``, an instance that was lost)."""
        return url

    # -- host state shared between trusted servers (not abstract: see redis_hosts.py) ----

    shares_hosts = False
    """Whether the backend can share host state (hosts, bans, host requests) with other
    servers of a room; the registry uses it only between servers it trusts."""

    def room_hosts(self, room: str) -> list[str] | None:
        """The hosts the join of this server's first peer in ``room`` read (once)."""
        return None

    def promote(self, room: str, candidates: list[str]) -> None:
        """With no host in ``room``, the candidate that joined first hosts it."""
        return None

    async def make_host(self, room: str, peer_id: str) -> bool:
        """``peer_id`` hosts ``room`` too; False when it is no member."""
        return False

    async def ban(self, room: str, username: str, seconds: float) -> None:
        """Keep ``username`` out of ``room`` for ``seconds``, on every server."""
        return None

    async def ban_left(self, room: str, username: str) -> float:
        """How many seconds ``username``'s ban from ``room`` lasts still (0: none)."""
        return 0.0

    async def end_call(self, room: str, reason: str) -> None:
        """Every other server of ``room`` closes its peers there with ``reason``."""
        return None

    async def breakout_event(
        self, room: str, groups: dict[str, list[str]] | None, seconds: float
    ) -> None:
        """Tell every other server of ``room`` that a breakout of it starts (``groups``
        for ``seconds``) or ends (``groups`` None)."""
        return None

    def room_frame(self, room: str, frame: str) -> None:
        """Hand ``frame`` to the peers of ``room`` on every other server."""
        return None

    async def host_act(
        self, room: str, to: str, what: dict[str, Any], server: str = ""
    ) -> tuple[str, str]:
        """Have the server of ``to`` (a member, or a newcomer waiting on ``server``)
        carry out a host's request ``what``; its answer ``(error code, message)``, code
        ``""`` when it took effect."""
        return "peer-unavailable", "host requests do not reach other servers"

    def host_reply(self, event: RoomEvent, code: str, message: str) -> None:
        """Answer a ``host-act`` event (``code`` ``""``: done)."""
        return None

    async def lobby_change(
        self, room: str, change: str, peer_id: str = "", entry: dict[str, Any] | None = None
    ) -> SharedLobby:
        """Change the room's shared lobby (``lock``, ``unlock``, ``wait`` with ``entry``,
        ``gone``) and announce it, or only ``read`` it; the lobby after the change."""
        return SharedLobby()

    def forget_lobby(self, room: str) -> None:
        """Drop the room's lobby if nobody is in the room nor waits."""
        return None

    # -- chat history (not abstract: a backend without it keeps none) -------------------

    def add_chat(self, room: str, frame: str, on_failure: Callable[[str], None]) -> None:
        """Keep ``frame`` (an encoded ``chat``) in the room's bounded history and carry it
        to the room's other servers (the registry delivers it to its own peers)."""
        return None

    def chat_history(self, room: str, peer_id: str) -> list[str]:
        """The history as ``peer_id``, which has just been added, is to receive it: every
        message before its join (later ones reach it live; a message in both is dropped
        by its id)."""
        return []
