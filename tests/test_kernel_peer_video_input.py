"""A KernelPeer publishes a video file (or a capture device) read by PyAV: the file here is
written by PyAV itself, and a second, real aiortc peer receives it through a real server.
A V4L2 camera goes through the same reader (``format="v4l2"``); this machine has none."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

pytest.importorskip("aiortc")

from nbconference.peer import KernelPeer
from nbconference.peer.video_input import VideoInput
from nbconference.server.standalone import StandaloneServer
from support.polling import eventually

# Two seconds of red, then two of blue, at 10 frames a second.
RED, BLUE = (220, 40, 40), (40, 60, 220)
FPS = 10
# VP8 (and the file's own MPEG-4) shift flat colours by a few levels.
TOLERANCE = 30


def write_video(path: Path, colours: list[tuple[int, int, int]], seconds: int = 2) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for colour in colours:
            image = np.empty((120, 160, 3), np.uint8)
            image[...] = colour
            for _ in range(seconds * FPS):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def colour_of(image: np.ndarray[Any, np.dtype[np.uint8]]) -> tuple[int, int, int] | None:
    """RED or BLUE if the picture's centre is that colour, else None."""
    centre = image[image.shape[0] // 2, image.shape[1] // 2].astype(int)
    for colour in (RED, BLUE):
        if np.abs(centre - colour).max() < TOLERANCE:
            return colour
    return None


async def test_a_video_file_reaches_another_peer_at_its_own_pace_and_ends(
    standalone: StandaloneServer, peers: list[KernelPeer], tmp_path: Path
) -> None:
    video = write_video(tmp_path / "talk.avi", [RED, BLUE])
    sender = await KernelPeer.join("lab", name="file", url=standalone.url, token=standalone.token)
    viewer = await KernelPeer.join("lab", name="viewer", url=standalone.url, token=standalone.token)
    peers.extend([sender, viewer])
    seen: list[tuple[int, int, int] | None] = []
    viewer.on_frame(lambda _, image: seen.append(colour_of(image)))

    started = asyncio.get_running_loop().time()
    task = await sender.publish_media(str(video))
    await asyncio.wait_for(task, 15)
    took = asyncio.get_running_loop().time() - started
    # 40 frames at 10 a second: about 4 s, not as fast as the decoder can go.
    assert 3.0 < took < 8.0, took
    assert RED in seen and BLUE in seen, seen
    assert seen.index(BLUE) > seen.index(RED), "the file's order"
    # The file is done: the camera is off for the others.
    await eventually(
        lambda: viewer.links[sender.id].state.get("camera") is False, 5, "camera off at the end"
    )


async def test_a_looped_file_goes_on_and_stops_when_asked(
    standalone: StandaloneServer, peers: list[KernelPeer], tmp_path: Path
) -> None:
    video = write_video(tmp_path / "short.avi", [BLUE], seconds=1)
    sender = await KernelPeer.join("lab", name="loop", url=standalone.url, token=standalone.token)
    peers.append(sender)
    task = await sender.publish_media(str(video), loop=True)
    # Well past the end of the one-second file (FPS frames), and still going.
    await eventually(lambda: sender.video.frames_pushed > 2.5 * FPS, 10, "the file again")
    assert not task.done()
    await sender.stop_publishing()
    assert task.done()


@pytest.mark.parametrize(
    ("source", "options", "message"),
    [
        ("/nonexistent/talk.mp4", {}, "cannot open '/nonexistent/talk.mp4'"),
        ("/dev/video97", {"format": "v4l2"}, r"cannot open '/dev/video97' \(v4l2\)"),
    ],
)
async def test_a_source_that_cannot_be_opened_is_a_clear_error(
    source: str, options: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await VideoInput.open(source, **options)


async def test_a_file_without_video_is_refused_and_the_published_video_goes_on(
    standalone: StandaloneServer, peers: list[KernelPeer], tmp_path: Path
) -> None:
    sound = tmp_path / "voice.wav"
    with av.open(str(sound), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    sender = await KernelPeer.join("lab", name="s", url=standalone.url, token=standalone.token)
    peers.append(sender)
    still = np.zeros((120, 160, 3), np.uint8)
    running = sender.publish_frames(lambda: still, fps=10)
    with pytest.raises(ValueError, match="has no video stream"):
        await sender.publish_media(str(sound))
    assert not running.done() and sender.video.active
