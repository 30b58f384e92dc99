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
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal, NamedTuple, TypeVar

import numpy as np

from ..client.hosting import HostControls
from ..protocol import MAX_VIEW_HEIGHT, ServerFrame, state_message
from .link import MediaSource
from .participant import Participant
from .publishing import FrameSource, VideoPublisher, pump_figure, pump_frames
from .receiving import Fanout, Subscription
from .video_input import VideoInput

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


class KernelPeer(Participant, HostControls):
    """A conference participant living in this Python process; see the module docstring.

    Joining, ``url``, ``token``, ``timeout``, the room (:attr:`peers`, :attr:`links`, the
    ``on_peer_*`` callbacks, :attr:`hosts`) and chat are those of every
    :class:`~nbconference.peer.participant.Participant`. Use
    ``await KernelPeer.join(...)`` or ``async with``.

    A host's powers (``await kp.mute(peer_id)``, :meth:`remove`, :meth:`end_call`,
    :meth:`make_host`) go over its own socket; anyone but a host of the room gets
    :class:`~nbconference.NotHost`. A host muting this peer's camera stops its video.

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
        self.video = VideoPublisher(on_active=self._camera_changed)
        super().__init__(
            room, name=name, url=url, token=token, timeout=timeout, outgoing_video=self.video.track
        )
        update = self._update_wants
        self._fanouts: dict[str, Fanout[Any]] = {
            "camera": Fanout(4, on_change=update),
            "screen": Fanout(4, on_change=update),
            "audio": Fanout(50, on_change=update),
        }
        self._publishing: asyncio.Task[None] | None = None

    # -- joining and leaving ----------------------------------------------------------

    async def _before_joining(self) -> None:
        previous = _LIVE.get((self._url or "", self.room, self.name))
        if previous is not None:
            await previous.leave()

    def _in_room(self) -> None:
        _LIVE[(self._url or "", self.room, self.name)] = self

    async def _close(self) -> None:
        await super()._close()
        for fanout in self._fanouts.values():
            fanout.end()

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

    def _hears(self, peer_id: str) -> bool:
        return self._fanouts["audio"].wanted(peer_id)

    def _on_media(self, link: MediaSource, kind: str, frame: Any) -> None:
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

    async def publish_media(
        self,
        source: str,
        *,
        format: str | None = None,
        options: dict[str, str] | None = None,
        loop: bool = False,
    ) -> asyncio.Task[None]:
        """Send a video file or a capture device as our video, read by PyAV (FFmpeg).

        ``await peer.publish_media("lecture.mp4", loop=True)`` sends a file at its own
        frame rate, from the start again at its end; ``await
        peer.publish_media("/dev/video0", format="v4l2")`` a V4L2 camera as it captures
        (``options`` go to FFmpeg's demuxer, e.g. ``{"video_size": "640x480"}``).

        The source is opened first: one that cannot be opened, or has no video, raises
        ValueError and what was being published goes on. Otherwise it replaces that; the
        returned task ends with the file (never, with ``loop``).
        """
        media = await VideoInput.open(source, format=format, options=options, loop=loop)
        return self._publish(_pump_media(self.video, media))

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

    def _room_frame(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == ServerFrame.MUTED and frame.get("id") == self.id:
            log.warning("nbconference: %s muted %s", frame.get("name") or "a host", self.name)
            if frame.get("camera") is True:
                # Its pump would turn the camera on again: only our code may, later.
                self._tasks.spawn(self.stop_publishing())

    def _peer_gone(self, peer_id: str) -> None:
        for fanout in self._fanouts.values():
            fanout.end_peer(peer_id)

    def __repr__(self) -> str:
        return f"<KernelPeer {self.name!r} {self.status} in {self.room!r} id={self.id!r}>"


async def _pump_media(video: VideoPublisher, media: VideoInput) -> None:
    """Publish ``media``'s pictures at its pace; it is closed when this ends."""
    async with contextlib.aclosing(media.frames()) as frames:
        await pump_frames(video, frames, media.fps)
