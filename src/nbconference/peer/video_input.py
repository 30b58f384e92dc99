"""Pictures from a video file or a capture device (a V4L2 camera, say), read by PyAV (FFmpeg's
demuxers and decoders): what :meth:`KernelPeer.publish_media` sends.

The source is opened before anything is published, so a missing file or device, or one
without video, is an error the caller sees at once. Reading and decoding block, so they
run on a worker thread, one frame at a time, and never stall the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import av

# A file whose stream does not say its frame rate is paced at this many frames a second.
DEFAULT_FILE_FPS = 30.0


class VideoInput:
    """An open source of video: ``frames()`` yields its pictures as RGB arrays.

    ``fps`` is the pace to send a file at (its stream's average rate); None for a device,
    which yields frames as it captures them.
    """

    def __init__(self, container: Any, name: str, loop: bool, live: bool) -> None:
        self._container = container
        self._stream = container.streams.video[0]
        self.name = name
        self._loop = loop
        rate = self._stream.average_rate
        self.fps: float | None = None if live else float(rate) if rate else DEFAULT_FILE_FPS

    @classmethod
    async def open(
        cls,
        source: str,
        *,
        format: str | None = None,
        options: dict[str, str] | None = None,
        loop: bool = False,
    ) -> VideoInput:
        """Open ``source`` (a path, a URL FFmpeg reads, or a device such as
        ``/dev/video0`` with ``format="v4l2"``); ``options`` go to FFmpeg's demuxer
        (``{"video_size": "640x480", "framerate": "30"}`` for a camera)."""
        what = f"{source!r}" + (f" ({format})" if format else "")
        try:
            container = await asyncio.to_thread(av.open, source, format=format, options=options)
        except (OSError, av.FFmpegError, ValueError) as error:
            raise ValueError(f"cannot open {what}: {error}") from None
        if not container.streams.video:
            container.close()
            raise ValueError(f"{what} has no video stream")
        # A device (a demuxer format named, and nothing to seek in) is never looped.
        live = format is not None and not loop
        return cls(container, what, loop, live)

    async def frames(self) -> AsyncGenerator[Any, None]:
        """The pictures, in order; with ``loop``, from the start again at the end. The
        source is closed when this ends or is closed (``contextlib.aclosing``), once no
        read is under way on the worker thread."""
        reading: asyncio.Future[Any] | None = None
        try:
            while True:
                decoded = self._container.decode(self._stream)
                while True:
                    reading = asyncio.ensure_future(asyncio.to_thread(next, decoded, None))
                    frame = await asyncio.shield(reading)
                    if frame is None:
                        break
                    yield frame.to_ndarray(format="rgb24")
                if not self._loop:
                    return
                reading = asyncio.ensure_future(asyncio.to_thread(self._container.seek, 0))
                await asyncio.shield(reading)
        finally:
            # Closing under a read that is still running would free what it reads.
            if reading is not None and not reading.done():
                reading.add_done_callback(lambda _: self._container.close())
            else:
                self._container.close()
