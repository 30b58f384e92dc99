"""Senders for the recorder's tests (KernelPeers publishing a picture into a room on the
test's loop) and a reader of what a recording holds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nbconference.peer import KernelPeer
from nbconference.server.standalone import StandaloneServer


async def sender(
    standalone: StandaloneServer,
    peers: list[KernelPeer],
    name: str,
    shade: int,
    picture: Callable[[], Any] | None = None,
) -> KernelPeer:
    """``name`` joins room "lab" and publishes a 320x240 picture of ``shade`` (or what
    ``picture`` returns) at 15 fps; it goes in ``peers``, for the test to make leave."""
    peer = await KernelPeer.join("lab", name=name, url=standalone.url, token=standalone.token)
    image = np.full((240, 320, 3), shade, np.uint8)
    peer.publish_frames(picture or (lambda: image), fps=15)
    peers.append(peer)
    return peer


def decoded(path: Path) -> tuple[int, float, tuple[int, int]]:
    """Frames in the file's one stream, the time of the last one, and the picture size."""
    import av

    with av.open(str(path)) as container:
        frames = list(container.decode(container.streams[0]))
    last = max(float(f.pts * f.time_base) for f in frames)
    first = frames[0]
    size = (first.width, first.height) if hasattr(first, "width") else (0, 0)
    return len(frames), last, size
