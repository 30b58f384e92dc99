"""KernelPeer: a Python process (a notebook's kernel, a script) as a full conference peer.

It joins a room through the same signaling as the browsers, keeps one aiortc
connection per remote peer, hands their video and audio to Python as numpy arrays and
sends a video of its own made from numpy arrays or a live matplotlib figure::

    kp = await KernelPeer.join("lab")          # top-level await in a notebook
    kp.publish_figure(fig, fps=10, update=step)
    async for peer_id, image in kp.frames():   # (height, width, 3) uint8 RGB
        ...
    await kp.leave()

Needs the ``kernel-peer`` extra (aiortc, numpy).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal, NamedTuple, TypeVar

import numpy as np

from ..chat_log import ChatRecords, chat_record
from ..client.discovery import resolve_signaling
from ..client.session import SignalingSession
from ..protocol import (
    MAX_NAME_CHARS,
    MAX_VIEW_HEIGHT,
    ServerFrame,
    chat_message,
    state_message,
    valid_room,
)
from .link import PeerLink
from .mesh import Mesh, PeerCallback, RemotePeer
from .publishing import FrameSource, VideoPublisher, pump_figure, pump_frames
from .receiving import Fanout, Subscription
from .tasks import Tasks

ChatCallback = Callable[[dict[str, Any]], object]

log = logging.getLogger("nbconference")

T = TypeVar("T")
VideoKind = Literal["camera", "screen"]
# Joined peers by (server URL, room, name): joining again replaces the earlier one.
_LIVE: weakref.WeakValueDictionary[tuple[str, str, str], KernelPeer] = weakref.WeakValueDictionary()


class PeerFrame(NamedTuple):
    """A decoded video frame: ``image`` is ``(height, width, 3)`` uint8 RGB."""

    peer_id: str
    image: np.ndarray[Any, np.dtype[np.uint8]]


class PeerAudio(NamedTuple):
    """Decoded audio: ``samples`` is int16 ``(n, channels)``, usually 20 ms at 48 kHz."""

    peer_id: str
    samples: np.ndarray[Any, np.dtype[np.int16]]
    sample_rate: int


class KernelPeer:
    """A conference participant living in this Python process; see the module docstring.

    Without ``url``, the Jupyter server running this kernel is found by itself (or
    ``$NBCONFERENCE_SIGNALING_URL`` and ``$NBCONFERENCE_TOKEN`` are used when set). For
    ``nbconference serve`` pass the ``ws://`` URL and the token it prints; a
    server's ``http(s)://host:port/base/`` URL works too.
    ``timeout`` bounds joining. Use ``await KernelPeer.join(...)`` or ``async with``.
    A dropped signaling socket is reconnected by itself (``status`` is ``reconnecting``
    meanwhile); back after the server's grace window, the peer has a new id.

    Joining again from this process with the same server, room and name makes the
    earlier KernelPeer leave first: re-running a notebook cell leaves no ghost behind.
    Everything runs on the event loop (aiortc encodes and decodes in threads): callbacks
    should be short, and a cell that blocks the kernel's loop for long pauses our video.
    """

    def __init__(
        self,
        room: str,
        *,
        name: str = "kernel",
        url: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if not valid_room(room):
            raise ValueError("room must be 1-64 characters of letters, digits, '.', '_' or '-'")
        if len(name) > MAX_NAME_CHARS:
            raise ValueError(f"name must be at most {MAX_NAME_CHARS} characters")
        self.room, self.name, self.timeout = room, name, timeout
        self._url, self._token = url, token or ""
        self._error = ""
        self.video = VideoPublisher(on_active=self._camera_changed)
        self._status = "new"
        self._state = {"camera": False, "microphone": False, "screen": False}
        self._session: SignalingSession | None = None
        self._mesh = Mesh(
            self._send, self.video.track, self._on_media, self._peer_gone, self._wants
        )
        update = self._mesh.update_wants
        self._fanouts: dict[str, Fanout[Any]] = {
            "camera": Fanout(4, on_change=update),
            "screen": Fanout(4, on_change=update),
            "audio": Fanout(50),
        }
        self._tasks = Tasks("KernelPeer")
        self._chat = ChatRecords()
        self._chat_callbacks: list[ChatCallback] = []
        self._publishing: asyncio.Task[None] | None = None

    # -- joining and leaving ----------------------------------------------------------

    @classmethod
    async def join(cls, room: str, **options: Any) -> KernelPeer:
        """Join ``room`` and return the peer; options as for the constructor."""
        return await cls(room, **options).connect()

    async def connect(self) -> KernelPeer:
        """Join the room; raises ``SignalingError`` with a readable reason."""
        if self._status != "new":
            raise RuntimeError(f"this KernelPeer is already {self._status}")
        self._status = "connecting"
        try:
            self._url, self._token = await resolve_signaling(self._url, self._token, self.timeout)
            previous = _LIVE.get((self._url, self.room, self.name))
            if previous is not None:
                await previous.leave()
            self._session = SignalingSession(
                self._url, self._token, self.room, self.name, self._state, self.timeout
            )
            self._mesh.welcomed(await self._session.open())
            self._status = "joined"
        except BaseException as exc:
            self._status, self._error = "error", str(exc)
            raise
        _LIVE[(self._url, self.room, self.name)] = self
        self._tasks.spawn(self._read_signaling())
        return self

    @property
    def id(self) -> str:
        """Our peer id in the room, given by the server ('' before joining)."""
        return self._mesh.id

    @property
    def error(self) -> str:
        """Why joining failed or the peer stopped; while reconnecting, why the last try did."""
        if self.status == "reconnecting" and self._session is not None:
            return self._session.error
        return self._error

    @property
    def status(self) -> str:
        """``new``, ``connecting``, ``joined``, ``reconnecting``, ``left`` or ``error``."""
        if self._status == "joined" and self._session is not None and self._session.reconnecting:
            return "reconnecting"
        return self._status

    async def __aenter__(self) -> KernelPeer:
        return self if self._status == "joined" else await self.connect()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.leave()

    async def leave(self) -> None:
        """Leave the room and close every connection, track, socket and task."""
        if self._status == "left":
            return
        self._status = "left"
        if self._session is not None:
            await self._session.close()
        await self._close_all()

    async def _close_all(self) -> None:
        await self._tasks.cancel_all()
        await self._mesh.close()
        for fanout in self._fanouts.values():
            fanout.end()

    # -- who is here ------------------------------------------------------------------

    @property
    def peers(self) -> dict[str, RemotePeer]:
        """The other participants by id (a snapshot)."""
        return self._mesh.peers

    def on_peer_joined(self, callback: PeerCallback) -> Callable[[], None]:
        """Call ``callback(peer)`` when someone joins; returns a function to stop."""
        return _register(self._mesh.joined, callback)

    def on_peer_left(self, callback: PeerCallback) -> Callable[[], None]:
        """Call ``callback(peer)`` when someone leaves; returns a function to stop."""
        return _register(self._mesh.left, callback)

    # -- receiving --------------------------------------------------------------------

    async def frames(
        self, peer: str | None = None, *, kind: VideoKind = "camera"
    ) -> AsyncIterator[PeerFrame]:
        """Video frames from every peer (or one), until we leave (or that peer does).

        ``kind="screen"`` gives screen shares instead of cameras. A slow consumer
        skips frames rather than falling behind. An iterator over a peer that is not in
        the room ends at once.
        """
        subscription = self._subscribe(self._video_fanout(kind), peer)
        try:
            async for item in subscription:
                yield item
        finally:
            subscription.close()

    async def audio(self, peer: str | None = None) -> AsyncIterator[PeerAudio]:
        """Audio frames from every peer (or one), until we leave (or that peer does)."""
        subscription = self._subscribe(self._fanouts["audio"], peer)
        try:
            async for item in subscription:
                yield item
        finally:
            subscription.close()

    async def next_frame(
        self, peer: str | None = None, *, kind: VideoKind = "camera", timeout: float = 10.0
    ) -> PeerFrame:
        """The next video frame, raising ``TimeoutError`` if none comes in ``timeout`` s."""
        subscription = self._subscribe(self._video_fanout(kind), peer)
        try:
            return await asyncio.wait_for(subscription.__anext__(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no video frame within {timeout:g} s") from None
        except StopAsyncIteration:
            raise ConnectionError("no video frame: the peer or this KernelPeer left") from None
        finally:
            subscription.close()

    def on_frame(
        self, callback: Callable[[str, Any], object], *, kind: VideoKind = "camera"
    ) -> Callable[[], None]:
        """Call ``callback(peer_id, image)`` for every video frame; returns a remover."""
        return self._video_fanout(kind).add_callback(lambda item: callback(*item))

    def on_audio(self, callback: Callable[[str, Any, int], object]) -> Callable[[], None]:
        """Call ``callback(peer_id, samples, sample_rate)`` per audio frame; returns a remover."""
        return self._fanouts["audio"].add_callback(lambda item: callback(*item))

    def _subscribe(self, fanout: Fanout[T], peer: str | None) -> Subscription[T]:
        subscription = fanout.subscribe(peer)
        if peer is not None and peer not in self._mesh.peers:
            subscription.end()  # nobody by that id here (any more): nothing will come
        return subscription

    def _video_fanout(self, kind: str) -> Fanout[PeerFrame]:
        if kind not in ("camera", "screen"):
            raise ValueError(f"kind must be 'camera' or 'screen'; got {kind!r}")
        return self._fanouts[kind]

    def _wants(self, peer_id: str) -> tuple[int, int]:
        """Ask a peer for its whole picture while our iterators or callbacks read it, and
        for nothing while none does (its encoder then does no work for us)."""
        camera, screen = (self._fanouts[kind].wanted(peer_id) for kind in ("camera", "screen"))
        return (MAX_VIEW_HEIGHT if camera else 0, MAX_VIEW_HEIGHT if screen else 0)

    def _on_media(self, link: PeerLink, kind: str, frame: Any) -> None:
        fanout = self._fanouts[kind]
        if not fanout.wanted(link.peer_id):
            return
        if kind == "audio":
            samples = frame.to_ndarray()
            channels = len(frame.layout.channels)
            samples = samples.T if frame.format.is_planar else samples.reshape(-1, channels)
            fanout.publish(link.peer_id, PeerAudio(link.peer_id, samples, frame.sample_rate))
        else:
            image = frame.to_ndarray(format="rgb24")
            fanout.publish(link.peer_id, PeerFrame(link.peer_id, image))

    # -- sending ----------------------------------------------------------------------

    def publish_frames(
        self, source: FrameSource, *, fps: float | None = 30.0
    ) -> asyncio.Task[None]:
        """Send images from ``source`` (iterable, async iterable or callable) as our video.

        Replaces what was being published. The returned task ends when the source does.
        """
        return self._publish(pump_frames(self.video, source, fps))

    def publish_figure(
        self, figure: Any, *, fps: float = 10.0, update: Callable[[int], object] | None = None
    ) -> asyncio.Task[None]:
        """Send a live matplotlib figure, redrawn ``fps`` times a second.

        ``update(i)``, if given, changes the figure before frame ``i`` is drawn.
        """
        return self._publish(pump_figure(self.video, figure, fps, update))

    async def stop_publishing(self) -> None:
        """Stop our video; peers see the camera as off."""
        if self._publishing is not None:
            self._publishing.cancel()
            await asyncio.gather(self._publishing, return_exceptions=True)
        self.video.stop()

    def _publish(self, pump: Any) -> asyncio.Task[None]:
        if self._publishing is not None:
            self._publishing.cancel()
        self._publishing = self._tasks.spawn(pump)
        return self._publishing

    def _camera_changed(self, on: bool) -> None:
        self._state["camera"] = on
        if self._status == "joined":
            self._send(state_message(self._state))

    # -- chat -------------------------------------------------------------------------

    def send_chat(self, text: str) -> None:
        """Post ``text`` to the room's chat, marked as sent by code (a script posting its
        results into the call). The server may refuse it (too long, too fast): that is
        logged, like other signaling errors."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("chat text must be text that is not blank")
        if self._status != "joined":
            raise RuntimeError(f"this KernelPeer is {self.status}, not in the room")
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
            if frame.get("type") == ServerFrame.CHAT:
                self._chat_received(frame)
                continue
            self._mesh.dispatch(frame)
        if self._status != "left":
            self._status, self._error = "error", self._session.error
            await self._close_all()

    def _send(self, frame: dict[str, Any]) -> None:
        if self._session is not None and self._status != "left":
            self._session.send(frame)

    def _peer_gone(self, peer_id: str) -> None:
        for fanout in self._fanouts.values():
            fanout.end_peer(peer_id)

    def __repr__(self) -> str:
        return f"<KernelPeer {self.name!r} {self.status} in {self.room!r} id={self.id!r}>"


def _register(callbacks: list[Any], callback: Any) -> Callable[[], None]:
    callbacks.append(callback)
    return lambda: callbacks.remove(callback) if callback in callbacks else None
