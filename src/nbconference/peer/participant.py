"""What a kernel peer and a recorder share: joining a room, the room as they see it, chat.

:class:`Participant` checks the room and name, finds the signaling server, joins, reads
the server's frames until it leaves, and keeps the room: :attr:`~Participant.peers` (the
records the widget's ``w.peers`` has, from :mod:`nbconference.records`) and
:attr:`~Participant.links` (the media side). :class:`~nbconference.KernelPeer` and
:class:`~nbconference.Recorder` add what they do with the media.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from aiortc.mediastreams import MediaStreamTrack

from ..chat_log import ChatRecords, chat_record
from ..client.discovery import resolve_signaling
from ..client.hosting import HostRequests, breakout_groups, lobby_records
from ..client.session import SignalingSession
from ..protocol import (
    MAX_NAME_CHARS,
    MEDIA_MESH,
    MEDIA_SFU,
    PARTICIPANT_KIND,
    RECORDER_KIND,
    ServerFrame,
    chat_message,
    valid_group,
    valid_room,
    visit_message,
)
from ..records import peer_record, roster_entry
from .link import MediaSource
from .mesh import Mesh, RemotePeer
from .roster import PeerRecord, Roster
from .sfu import SFU_FRAME_TYPES, SfuPlane, SfuSource
from .tasks import Tasks

log = logging.getLogger("nbconference")

P = TypeVar("P", bound="Participant")
PeerCallback = Callable[[PeerRecord], object]
# On the move to the SFU, a mesh link stays until its peer's media arrive through the SFU,
# or this long at most (make before break: the call goes on meanwhile).
HANDOVER_SECONDS = 3.0
ChatCallback = Callable[[dict[str, Any]], object]


class Participant:
    """A participant living in this Python process (the base of KernelPeer and Recorder).

    Without ``url``, the Jupyter server running this kernel is found by itself (or
    ``$NBCONFERENCE_SIGNALING_URL`` and ``$NBCONFERENCE_TOKEN`` are used when set). For
    ``nbconference serve`` pass the ``ws://`` URL and the token it prints; a server's
    ``http(s)://host:port/base/`` URL works too. ``timeout`` bounds joining. Join with
    ``await cls.join(room, ...)``, ``await cls(room, ...).connect()`` or ``async with``.
    A dropped signaling socket is reconnected by itself (``status`` is ``reconnecting``
    meanwhile); back after the server's grace window, the participant has a new id.
    """

    kind: ClassVar[str] = PARTICIPANT_KIND
    # The status while in the room, and once it has been left.
    IN_ROOM: ClassVar[str] = "joined"
    LEFT: ClassVar[str] = "left"

    def __init__(
        self,
        room: str,
        *,
        name: str,
        url: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        outgoing_video: Callable[[], MediaStreamTrack] | None = None,
    ) -> None:
        if not valid_room(room):
            raise ValueError("room must be 1-64 characters of letters, digits, '.', '_' or '-'")
        if len(name) > MAX_NAME_CHARS:
            raise ValueError(f"name must be at most {MAX_NAME_CHARS} characters")
        self.room, self.name, self.timeout = room, name, timeout
        self._url, self._token = url, token or ""
        self._status, self._error = "new", ""
        self._state = {"camera": False, "microphone": False, "screen": False}
        self._session: SignalingSession | None = None
        self._outgoing_video = outgoing_video
        self._mesh = Mesh(
            self._send, outgoing_video, self._mesh_media, self._peer_gone, self._wants
        )
        self._plane = MEDIA_MESH  # the room's media plane, as the server says
        self._sfu: SfuPlane | None = None
        self._received: dict[str, int] = {}  # frames through mesh links, by peer id
        self._tasks = Tasks(type(self).__name__)
        self._chat = ChatRecords()
        self._chat_callbacks: list[ChatCallback] = []
        self._joined_callbacks: list[PeerCallback] = []
        self._left_callbacks: list[PeerCallback] = []
        self._told: dict[str, RemotePeer] = {}  # the peers the callbacks know of
        # Our host requests, answered on our own socket (client/hosting.py).
        self._requests = HostRequests(self._send, None, timeout)
        self._host = False  # the server marks us a host of the room
        # The lobby, as the server shows it to those who may act as hosts (lobby.py).
        self._lobby: tuple[bool, list[dict[str, Any]]] = (False, [])
        # The breakout of our main room, as the server said (breakout.py): its groups,
        # the group we are in ("" in the main room) and that group's room.
        self._breakouts: dict[str, list[str]] = {}
        self._group, self._group_room = "", ""

    # -- joining and leaving ----------------------------------------------------------

    @classmethod
    async def join(cls: type[P], room: str, **options: Any) -> P:
        """Join ``room`` and return the participant; options as for the constructor."""
        return await cls(room, **options).connect()

    async def connect(self: P) -> P:
        """Join the room; raises ``SignalingError`` with a readable reason."""
        if self._status != "new":
            raise RuntimeError(f"this {type(self).__name__} is already {self._status}")
        self._status = "connecting"
        try:
            await self._prepare()
            self._url, self._token = await resolve_signaling(self._url, self._token, self.timeout)
            await self._before_joining()
            self._session = SignalingSession(
                self._url,
                self._token,
                self.room,
                self.name,
                self._state,
                self.timeout,
                kind=self.kind,
            )
            welcome = await self._session.open()
            self._welcomed(welcome)
            self._media_said(welcome)
        except BaseException as exc:
            self._status, self._error = "error", str(exc)
            if self._session is not None:
                with contextlib.suppress(Exception):
                    await self._session.close()
            raise
        self._status = self.IN_ROOM
        self._tasks.spawn(self._read_signaling())
        self._in_room()
        if self._plane == MEDIA_SFU:
            self._use_sfu()
        self._room_changed()
        return self

    async def __aenter__(self: P) -> P:
        return await self.connect() if self._status == "new" else self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.leave()

    async def leave(self) -> None:
        """Leave the room and close every connection, socket and task."""
        if self._status == self.LEFT:
            return
        self._status = self.LEFT
        if self._session is not None:
            await self._session.close()
        await self._close()
        self._room_changed()

    # What a subclass adds to joining and leaving.

    async def _prepare(self) -> None:
        """Checks before anything is opened (raise to refuse joining)."""

    async def _before_joining(self) -> None:
        """The signaling server is known; the room is not joined yet."""

    def _welcomed(self, welcome: dict[str, Any]) -> None:
        """The first ``welcome``: we are in the room."""
        self._mesh.welcomed(welcome)
        self._host_said(welcome)

    def _in_room(self) -> None:
        """The status is :attr:`IN_ROOM` and the signaling is being read."""

    async def _close(self) -> None:
        """Close what we opened (after the session, when leaving)."""
        self._requests.end(f"this {type(self).__name__} is {self._status}")
        await self._tasks.cancel_all()
        await self._mesh.close()
        if self._sfu is not None:
            await self._sfu.close()

    async def _lost(self) -> None:
        """The signaling server was lost for good (``error`` says why)."""
        await self._close()

    # -- what it is -------------------------------------------------------------------

    @property
    def id(self) -> str:
        """Our peer id in the room, given by the server ('' before joining)."""
        return self._mesh.id

    @property
    def status(self) -> str:
        """``new``, ``connecting``, the status in the room (:attr:`IN_ROOM`),
        ``reconnecting``, :attr:`LEFT` or ``error``."""
        session = self._session
        if self._status == self.IN_ROOM and session is not None and session.reconnecting:
            return "reconnecting"
        return self._status

    @property
    def media(self) -> str:
        """The plane that carries the room's media: ``"mesh"`` (a link per peer) or
        ``"sfu"`` (through the server's Janus, once the room grew past its
        mesh_max_peers); ``""`` before joining and once we have left."""
        return self._plane if self._status == self.IN_ROOM else ""

    @property
    def stats(self) -> dict[str, dict[str, Any]]:
        """Per peer that sends us media, how it reaches us: ``via`` (``"direct"``: our
        mesh link; ``"sfu"``: through the server's SFU), ``connection`` (that route's
        state), ``frames_received`` (decoded frames of every kind, on that route) and
        ``substream`` (the simulcast layer received; None: one layer, or the mesh)."""
        if self._status != self.IN_ROOM:
            return {}
        links = self._mesh.links
        records: dict[str, dict[str, Any]] = {}
        for peer_id in self._mesh.peers:
            sfu_frames = self._sfu.frames.get(peer_id, 0) if self._sfu is not None else 0
            if self._sfu is not None and (sfu_frames or peer_id not in links):
                via, connection, frames = "sfu", self._sfu.connection_state, sfu_frames
            elif peer_id in links:
                via, connection = "direct", links[peer_id].connection_state
                frames = self._received.get(peer_id, 0)
            else:
                continue
            records[peer_id] = {
                "via": via,
                "connection": connection,
                "frames_received": frames,
                "substream": None,
            }
        return records

    @property
    def error(self) -> str:
        """Why joining failed or we stopped; while reconnecting, why the last try did."""
        if self.status == "reconnecting" and self._session is not None:
            return self._session.error
        return self._error

    # -- who is here ------------------------------------------------------------------

    @property
    def peers(self) -> Roster:
        """Everyone else in the room as the widget's ``w.peers`` lists them: one dict
        each with id, name, username, initials, color, avatar_url, verified, camera,
        microphone, screen, hand, hand_raised_at, connection (our link's) and problem.
        Recorders are not in it (see :attr:`recording`); empty once we have left."""
        return Roster(self._records().values(), self._mesh.peers)

    @property
    def links(self) -> dict[str, RemotePeer]:
        """The media side of everyone we know in the room (recorders too), by id: the
        presence ``state``, ``connection``, ``shows_us``, ``frames_sent`` and the
        ``link`` (a snapshot; empty once we have left)."""
        return self._mesh.peers if self._status == self.IN_ROOM else {}

    @property
    def recording(self) -> bool:
        """A recorder is in the room (``w.recording`` in the widget)."""
        return any(p.info.get("kind") == RECORDER_KIND for p in self.links.values())

    def on_peer_joined(self, callback: PeerCallback) -> Callable[[], None]:
        """Call ``callback(peer)`` when a peer appears in :attr:`peers` (also those in
        the room when we join): once per peer, whether the server announces it again or
        we come back from a dropped connection. Returns a function that removes it."""
        return _register(self._joined_callbacks, callback)

    def on_peer_left(self, callback: PeerCallback) -> Callable[[], None]:
        """Call ``callback(peer)`` when a peer leaves :attr:`peers` (also when we leave).
        Returns a function that removes the callback."""
        return _register(self._left_callbacks, callback)

    def _present(self) -> dict[str, RemotePeer]:
        """The people in the room: peers the server told us of, recorders apart."""
        if self._status != self.IN_ROOM:
            return {}
        return {
            peer_id: peer
            for peer_id, peer in self._mesh.peers.items()
            if peer.info and peer.info.get("kind") != RECORDER_KIND
        }

    def _records(self) -> dict[str, PeerRecord]:
        return {peer_id: _record(peer) for peer_id, peer in self._present().items()}

    def _room_changed(self) -> None:
        """Tell the callbacks who came and went since they last heard."""
        now, before = self._present(), self._told
        self._told = now
        for peer_id, peer in now.items():
            if peer_id not in before:
                _notify(self._joined_callbacks, _record(peer))
        for peer_id, peer in before.items():
            if peer_id not in now:
                _notify(self._left_callbacks, _record(peer, connection="closed"))

    # -- chat -------------------------------------------------------------------------

    def send_chat(self, text: str) -> None:
        """Post ``text`` to the room's chat, marked as sent by code (a script posting its
        results into the call). The server may refuse it (too long, too fast): that is
        logged, like other signaling errors."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("chat text must be text that is not blank")
        if self._status != self.IN_ROOM:
            raise RuntimeError(f"this {type(self).__name__} is {self.status}, not in the room")
        self._send(chat_message(text, from_code=True))

    def on_chat(self, callback: ChatCallback) -> Callable[[], None]:
        """Call ``callback(record)`` for every chat message of the room, each once (ours
        too): a dict with id, time (seconds since 1970), sender_id, name, text and
        from_code. Messages from before we joined come first. Returns a function to stop."""
        return _register(self._chat_callbacks, callback)

    @property
    def chat(self) -> list[dict[str, Any]]:
        """The chat messages seen since joining (with the room's history), oldest first."""
        return self._chat.records()

    def _chat_received(self, frame: dict[str, Any]) -> None:
        record = chat_record(frame)
        if record is None or not self._chat.add(record):
            return
        for callback in list(self._chat_callbacks):
            try:
                callback(record)
            except Exception:
                log.exception("nbconference: an on_chat callback failed")

    # -- signaling --------------------------------------------------------------------

    async def _read_signaling(self) -> None:
        assert self._session is not None
        while (frame := await self._session.receive()) is not None:
            kind = frame.get("type")
            if self._requests.answer(frame):
                continue
            if kind == ServerFrame.HOSTS:
                self._hosts_changed(frame)
                continue
            if kind == ServerFrame.LOBBY:
                self._lobby = lobby_records(frame)
                continue
            if kind == ServerFrame.BREAKOUTS:
                self._breakouts = breakout_groups(frame)
                continue
            if kind == ServerFrame.MOVED:
                self._moved(frame)
                continue
            if kind == ServerFrame.CHAT:
                self._chat_received(frame)
                continue
            if kind in SFU_FRAME_TYPES or kind == ServerFrame.MEDIA:
                self._sfu_frame(frame)
                continue
            if kind == ServerFrame.ERROR and str(frame.get("code", "")).startswith("sfu-"):
                log.warning(
                    "nbconference: the SFU said %s: %s", frame["code"], frame.get("message")
                )
                if self._sfu is not None:
                    self._sfu.dispatch(frame)
                continue
            self._room_frame(frame)
            self._mesh.dispatch(frame)
            if kind == ServerFrame.WELCOME:
                self._rewelcomed(frame)
                self._host_said(frame)
            self._room_changed()
        if self._status != self.LEFT:
            self._status, self._error = "error", self._session.error
            await self._lost()
            self._room_changed()

    def _room_frame(self, frame: dict[str, Any]) -> None:
        """A frame about the room, before the mesh acts on it."""

    # -- hosts (client/hosting.py) ------------------------------------------------------

    def _host_said(self, welcome: dict[str, Any]) -> None:
        own = welcome.get("peer")
        self._host = isinstance(own, dict) and own.get("host") is True

    def _hosts_changed(self, frame: dict[str, Any]) -> None:
        """A ``hosts`` frame: the room's hosts now."""
        found = frame.get("hosts")
        hosts = {h for h in found if isinstance(h, str)} if isinstance(found, list) else set()
        self._host = self.id in hosts
        self._mesh.mark_hosts(hosts)
        self._room_changed()

    @property
    def hosts(self) -> list[str]:
        """The ids of the room's hosts as the server marks them, ours included when we
        are one (see docs/protocol.md, "Hosts")."""
        own = [self.id] if self._host and self._status == self.IN_ROOM else []
        return own + [peer["id"] for peer in self.peers if peer["host"]]

    @property
    def lobby(self) -> list[dict[str, Any]]:
        """Who waits to be let into the locked room, first come first: ``id``, ``name``,
        ``username`` ("" where the server knows nobody) and ``waiting_since`` (seconds
        since 1970). Only those who may act as hosts see it; empty for anyone else."""
        return [dict(entry) for entry in self._lobby[1]] if self._status == self.IN_ROOM else []

    @property
    def locked(self) -> bool:
        """Whether the room is locked, as the server shows its hosts (False for others)."""
        return self._lobby[0] and self._status == self.IN_ROOM

    # -- breakout rooms (docs/protocol.md, "Breakout rooms") ----------------------------

    def _moved(self, frame: dict[str, Any]) -> None:
        """The server moves us to a breakout group, or back: our welcome to that room
        follows (with our id), and a reconnect rejoins it there."""
        room = frame.get("room")
        if not isinstance(room, str) or not valid_room(room) or self._session is None:
            return
        self._session.room = room
        group = frame.get("group")
        self._group = group if isinstance(group, str) else ""
        self._group_room = room if self._group else ""
        self._lobby = (False, [])
        log.info("nbconference: %s moves to room %s", self.name, room)

    @property
    def breakouts(self) -> dict[str, list[str]]:
        """The groups of the breakout the room is split into now, each with the peer ids a
        host put in it; ``{}`` when none runs."""
        if self._status != self.IN_ROOM:
            return {}
        return {name: list(peers) for name, peers in self._breakouts.items()}

    async def visit(self, group: str = "") -> None:
        """Move ourselves to breakout ``group`` (a host's visit), or back to the main room
        (""). Raises :class:`~nbconference.NotHost` unless we may act as a host."""
        if group != "" and not valid_group(group):
            raise ValueError(
                "group must be a group's name (see breakouts), or '' for the main room"
            )
        await (await self._host_requests()).ask(visit_message(group))

    @property
    def group(self) -> str:
        """The breakout group we are in now ("" in the main room)."""
        return self._group if self._status == self.IN_ROOM else ""

    async def _host_requests(self) -> HostRequests:
        if self._status != self.IN_ROOM:
            raise RuntimeError(f"this {type(self).__name__} is {self.status}: join the room first")
        return self._requests

    def _send(self, frame: dict[str, Any]) -> None:
        if self._session is not None and self._status != self.LEFT:
            self._session.send(frame)

    # -- the media plane (the server decides: docs/protocol.md, "SFU") ------------------

    def _media_said(self, welcome: dict[str, Any]) -> None:
        self._plane = MEDIA_SFU if welcome.get("media") == MEDIA_SFU else MEDIA_MESH

    def _sfu_frame(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == ServerFrame.MEDIA:
            if frame.get("media") == MEDIA_SFU and self._plane != MEDIA_SFU:
                self._plane = MEDIA_SFU
                self._use_sfu()
                self._room_changed()
        elif self._sfu is not None:
            self._sfu.dispatch(frame)

    def _use_sfu(self) -> None:
        """The room is on the SFU: publish (when we send) and receive through it; each
        mesh link closes once its peer's media arrive that way (HANDOVER_SECONDS at most)."""
        self._mesh.sfu = True
        self._mesh.via_sfu = lambda: self._sfu.connection_state if self._sfu else "new"
        self._sfu = SfuPlane(
            self.id,
            self._send,
            self._mesh.ice,
            self._outgoing_video,
            self._sfu_media,
            self._sfu_wants,
        )
        if self._mesh.links:
            self._tasks.spawn(self._end_mesh_later())

    async def _end_mesh_later(self) -> None:
        await asyncio.sleep(HANDOVER_SECONDS)
        for peer_id in self._mesh.links:
            self._mesh.drop_link(peer_id)

    def _rewelcomed(self, welcome: dict[str, Any]) -> None:
        """A welcome after a reconnect. Not resumed, we are a new peer: the server ended
        our SFU sessions, so the plane starts again on the plane the room has now."""
        resumed = bool(welcome.get("resumed"))
        was_sfu = self._plane == MEDIA_SFU
        self._media_said(welcome)
        if resumed and was_sfu:
            return
        old, self._sfu = self._sfu, None
        if old is not None:
            self._tasks.spawn(old.close())
        self._mesh.sfu = False
        if self._plane == MEDIA_SFU:
            self._use_sfu()

    def _mesh_media(self, link: MediaSource, kind: str, frame: Any) -> None:
        self._received[link.peer_id] = self._received.get(link.peer_id, 0) + 1
        self._on_media(link, kind, frame)

    def _sfu_media(self, source: SfuSource, kind: str, frame: Any) -> None:
        if source.peer_id in self._mesh.links:
            self._mesh.drop_link(source.peer_id)  # its media arrive through the SFU now
        self._on_media(source, kind, frame)

    # -- media (what a subclass does with it) -----------------------------------------

    def _on_media(self, link: MediaSource, kind: str, frame: Any) -> None:
        """A decoded frame (``kind``: audio, camera or screen) from ``link``'s peer."""

    def _peer_gone(self, peer_id: str) -> None:
        """``peer_id`` left the room (or we lost it): its media ends."""

    def _wants(self, peer_id: str) -> tuple[int, int]:
        """How high we show ``peer_id``'s camera and screen (0: not at all)."""
        return (0, 0)

    def _hears(self, peer_id: str) -> bool:
        """Whether we use ``peer_id``'s audio (on the SFU we receive it only then; a mesh
        link carries it anyway)."""
        return False

    def _update_wants(self) -> None:
        """What we use of whom may have changed: tell both planes."""
        self._mesh.update_wants()
        if self._sfu is not None:
            self._sfu.update_wants()

    def _sfu_wants(self, peer_id: str, kind: str) -> bool:
        if kind == "audio":
            return self._hears(peer_id)
        camera, screen = self._wants(peer_id)
        return bool(screen if kind == "screen" else camera)


def _record(peer: RemotePeer, connection: str | None = None) -> PeerRecord:
    """The ``peers`` record of ``peer`` (with our link's ``connection``, unless given)."""
    entry = roster_entry(peer.info, connection or peer.connection)
    return PeerRecord(peer_record(entry), peer)


def _register(callbacks: list[Any], callback: Any) -> Callable[[], None]:
    callbacks.append(callback)
    return lambda: callbacks.remove(callback) if callback in callbacks else None


def _notify(callbacks: list[PeerCallback], peer: PeerRecord) -> None:
    for callback in list(callbacks):
        try:
            callback(peer)
        except Exception:
            log.exception("nbconference: peer callback %r failed", callback)
