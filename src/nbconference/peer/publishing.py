"""The kernel peer's outgoing video: numpy arrays and matplotlib figures as a WebRTC track.

One :class:`VideoPublisher` holds the latest frame; every peer connection gets its own
:class:`PublishedVideoTrack` reading from it, because an aiortc track delivers each frame
to one reader only. A frame is converted to YUV once, however many peers receive it;
the encoders only read it (a key frame request marks it as one, which at worst gives the
other peers an extra key frame).

Each track honours what its receiver shows (aiortc has no ``setParameters``): a receiver
that shows none of our video gets no frames at all, and one that shows it smaller gets it
scaled down to the step the protocol names (:func:`~nbconference.protocol.scale_for`),
each size made once per frame for every link that asks for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, Callable, Iterable
from fractions import Fraction
from typing import Any

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from ..protocol import scale_for

VIDEO_CLOCK = 90_000
TIME_BASE = Fraction(1, VIDEO_CLOCK)
# A still image is sent again this often, so a peer that joins later, or asks for a key
# frame, still gets a picture when nothing new is pushed.
REPEAT_SECONDS = 1.0

FrameSource = AsyncIterable[Any] | Iterable[Any] | Callable[[], Any]


def as_rgb(image: Any) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Normalise an image to a contiguous ``(height, width, 3)`` uint8 RGB array.

    Accepts RGB or RGBA (alpha dropped), grayscale ``(h, w)``, uint8 or floats in [0, 1].
    Odd sizes are cropped by one row/column, because the video encoder needs even sizes.
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(
            f"a video frame must be (height, width, 3) RGB, (h, w, 4) RGBA or (h, w) gray; "
            f"got shape {array.shape}"
        )
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"a video frame must be uint8 or float in [0, 1]; got {array.dtype}")
        array = (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    height, width = array.shape[0] & ~1, array.shape[1] & ~1
    if height < 2 or width < 2:
        raise ValueError(f"a video frame must be at least 2x2 pixels; got {array.shape[:2]}")
    return np.ascontiguousarray(array[:height, :width, :3])


def figure_to_rgb(figure: Any) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Draw a matplotlib figure and return its pixels as RGB."""
    canvas = figure.canvas
    if not hasattr(canvas, "buffer_rgba"):
        # A figure of a non-raster backend: give it an Agg canvas so it can be rendered.
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return as_rgb(np.asarray(canvas.buffer_rgba()))


class VideoPublisher:
    """The one video a kernel peer sends: ``push`` an image and every peer receives it.

    Pushing faster than the encoder keeps up drops the older frames (latest wins).
    ``on_active`` is told when publishing starts (first push) and stops (:meth:`stop`).
    """

    def __init__(self, on_active: Callable[[bool], None] | None = None) -> None:
        self._on_active = on_active
        self._image: np.ndarray[Any, np.dtype[np.uint8]] | None = None
        self._frame: av.VideoFrame | None = None
        self._seq = 0
        # Scaled copies of the frame last handed out, by height (see scaled()).
        self._scaled_from: av.VideoFrame | None = None
        self._scaled: dict[int, av.VideoFrame] = {}
        self._changed: asyncio.Future[None] | None = None
        self._start = time.monotonic()
        self.frames_pushed = 0
        self.frames_sent = 0  # frames handed to encoders, summed over peer connections

    @property
    def active(self) -> bool:
        """True while there is an image to send (between a push and ``stop``)."""
        return self._frame is not None

    def push(self, image: Any) -> None:
        """Publish one image (see :func:`as_rgb` for what is accepted)."""
        rgb = as_rgb(image)
        was_active = self.active
        self._image, self._frame = rgb, self._make_frame(rgb)
        self._seq += 1
        self.frames_pushed += 1
        self._wake()
        if not was_active and self._on_active is not None:
            self._on_active(True)

    def stop(self) -> None:
        """Stop sending: peers keep the last picture and learn camera-off from state."""
        if self.active:
            self._image = self._frame = None
            if self._on_active is not None:
                self._on_active(False)

    def track(self) -> PublishedVideoTrack:
        """A new track for one peer connection."""
        return PublishedVideoTrack(self)

    def _make_frame(self, rgb: np.ndarray[Any, np.dtype[np.uint8]]) -> av.VideoFrame:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        frame.pts = int((time.monotonic() - self._start) * VIDEO_CLOCK)
        frame.time_base = TIME_BASE
        return frame

    def current(self) -> tuple[int, av.VideoFrame] | None:
        """The latest image as a fresh frame (stamped now), or None when not publishing."""
        if self._image is None:
            return None
        return self._seq, self._make_frame(self._image)

    def scaled(self, frame: av.VideoFrame, shown: int | None) -> av.VideoFrame:
        """``frame`` for a receiver that shows it ``shown`` pixels high (None: as it is):
        scaled down by the protocol's step, made once per frame and size."""
        if not shown or shown >= frame.height:
            return frame
        step = scale_for(frame.height, shown)
        height = max(2, round(frame.height / step) & ~1)
        width = max(2, round(frame.width / step) & ~1)
        if height >= frame.height:
            return frame
        if self._scaled_from is not frame:
            self._scaled_from, self._scaled = frame, {}
        copy = self._scaled.get(height)
        if copy is None:
            copy = self._scaled[height] = frame.reformat(width=width, height=height)
        return copy

    def _wake(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)
        self._changed = None

    async def next_frame(self, seen: int) -> tuple[int, av.VideoFrame]:
        """Wait for a frame newer than ``seen``; repeat the current one after a while."""
        while True:
            if self._frame is not None and self._seq != seen:
                return self._seq, self._frame
            if self._changed is None:
                self._changed = asyncio.get_running_loop().create_future()
            # Not wait_for: on Python 3.11 it returns instead of raising when the task is
            # cancelled as the future completes, and aiortc stops a sender by cancelling
            # the task that reads this track, then waits for it to end.
            changed, _ = await asyncio.wait((self._changed,), timeout=REPEAT_SECONDS)
            if changed:
                continue
            if self._image is not None and self._seq == seen:
                # A fresh frame object: the one in flight may still be read by an encoder.
                return seen, self._make_frame(self._image)


class PublishedVideoTrack(MediaStreamTrack):
    """One peer connection's view of a :class:`VideoPublisher`, at the size its receiver
    shows (:meth:`show`)."""

    kind = "video"

    def __init__(self, publisher: VideoPublisher) -> None:
        super().__init__()
        self._publisher = publisher
        self._seen = 0
        self._shown: int | None = None
        self._unpaused = asyncio.Event()
        self._unpaused.set()
        self.frames_sent = 0  # on this link

    @property
    def shown(self) -> int | None:
        """How high the receiver shows us (0: not at all); None before it said."""
        return self._shown

    def show(self, height: int | None) -> None:
        """The receiver shows our video ``height`` pixels high: 0 stops the frames for it
        (the encoder then sends nothing), anything else scales them to fit."""
        self._shown = height
        if height == 0:
            self._unpaused.clear()
        else:
            self._unpaused.set()

    async def recv(self) -> av.VideoFrame:
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            if not self._unpaused.is_set():
                await self._unpaused.wait()
                # Back in sight: the current picture at once, not the next push.
                resumed = self._publisher.current()
                if resumed is None:
                    continue
                self._seen, frame = resumed
            else:
                self._seen, frame = await self._publisher.next_frame(self._seen)
                if not self._unpaused.is_set():
                    continue  # hidden while we waited: this frame goes nowhere
            self._publisher.frames_sent += 1
            self.frames_sent += 1
            return self._publisher.scaled(frame, self._shown)


async def pump_frames(publisher: VideoPublisher, source: FrameSource, fps: float | None) -> None:
    """Push images from ``source`` at most ``fps`` times a second until it ends.

    ``source`` is an async iterable, an iterable, or a callable returning one image per
    call. An async iterable sets its own pace when ``fps`` is None.
    """
    if fps is not None and fps <= 0:
        raise ValueError(f"fps must be positive; got {fps}")
    pace = _Pacer(fps)
    try:
        if isinstance(source, AsyncIterable):
            async for image in source:
                publisher.push(image)
                await pace.wait()
        elif isinstance(source, Iterable):
            for image in source:
                publisher.push(image)
                await pace.wait(default_fps=30.0)
        elif callable(source):
            while True:
                publisher.push(source())
                await pace.wait(default_fps=30.0)
        else:
            raise TypeError("source must be an iterable, an async iterable or a callable")
    finally:
        publisher.stop()


async def pump_figure(
    publisher: VideoPublisher,
    figure: Any,
    fps: float,
    update: Callable[[int], object] | None,
) -> None:
    """Render ``figure`` ``fps`` times a second; ``update(i)`` changes it before frame i."""
    index = 0

    def render() -> np.ndarray[Any, np.dtype[np.uint8]]:
        nonlocal index
        if update is not None:
            update(index)
        index += 1
        # Drawn on the event loop thread: matplotlib is not thread safe and the user's
        # cells change the same figure from this thread.
        return figure_to_rgb(figure)

    await pump_frames(publisher, render, fps)


class _Pacer:
    def __init__(self, fps: float | None) -> None:
        self._fps = fps
        self._next = time.monotonic()

    async def wait(self, default_fps: float | None = None) -> None:
        fps = self._fps or default_fps
        if fps is None:
            await asyncio.sleep(0)
            return
        self._next = max(self._next + 1.0 / fps, time.monotonic() - 1.0 / fps)
        await asyncio.sleep(max(0.0, self._next - time.monotonic()))
