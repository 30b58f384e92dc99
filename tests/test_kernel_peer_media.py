"""The kernel peer's media plumbing on its own: image checks, publishing, fan-out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import numpy as np
import pytest

pytest.importorskip("aiortc")

from nbconference.peer import publishing
from nbconference.peer.publishing import (
    VideoPublisher,
    as_rgb,
    figure_to_rgb,
    pump_frames,
)
from nbconference.peer.receiving import Fanout


def test_as_rgb_normalises_common_image_layouts() -> None:
    rgba = np.zeros((4, 6, 4), np.uint8)
    rgba[..., 0] = 9
    assert as_rgb(rgba).shape == (4, 6, 3) and as_rgb(rgba)[0, 0, 0] == 9
    assert as_rgb(np.full((4, 6), 7, np.uint8))[2, 3].tolist() == [7, 7, 7]
    assert as_rgb(np.ones((4, 6, 3)))[0, 0].tolist() == [255, 255, 255]
    assert as_rgb(np.zeros((5, 7, 3), np.uint8)).shape == (4, 6, 3), "odd sizes are cropped"
    assert as_rgb(np.zeros((4, 6, 3), np.uint8)[:, ::-1]).flags.c_contiguous


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((4, 6, 2), np.uint8), "got shape"),
        (np.zeros(10, np.uint8), "got shape"),
        (np.zeros((4, 6, 3), np.int32), "uint8 or float"),
        (np.zeros((1, 6, 3), np.uint8), "at least 2x2"),
    ],
)
def test_as_rgb_names_what_is_wrong(image: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        as_rgb(image)


def test_figure_is_rendered_at_its_pixel_size() -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1), dpi=50, facecolor="red")
    image = figure_to_rgb(figure)
    assert image.shape == (50, 100, 3)
    assert image[25, 50].tolist() == [255, 0, 0]


async def test_publisher_reports_activity_and_serves_every_track() -> None:
    changes: list[bool] = []
    publisher = VideoPublisher(on_active=changes.append)
    one, two = publisher.track(), publisher.track()
    publisher.push(np.zeros((4, 6, 3), np.uint8))
    publisher.push(np.zeros((4, 6, 3), np.uint8))
    assert changes == [True], "told once when publishing starts"
    first, second = await one.recv(), await two.recv()
    assert first is second, "converted once, shared by every peer connection"
    assert (first.width, first.height, first.format.name) == (6, 4, "yuv420p")
    publisher.stop()
    assert changes == [True, False]
    one.stop()
    two.stop()


async def test_a_still_image_is_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publishing, "REPEAT_SECONDS", 0.05)
    publisher = VideoPublisher()
    track = publisher.track()
    publisher.push(np.zeros((4, 6, 3), np.uint8))
    first = await track.recv()
    again = await asyncio.wait_for(track.recv(), 1)
    assert again is not first and again.pts > first.pts
    track.stop()


async def test_a_track_waiting_for_a_frame_can_be_cancelled_as_one_arrives() -> None:
    """aiortc stops a sender by cancelling the task reading our track and waits for it to
    end. On Python 3.11 ``asyncio.wait_for`` returned the frame instead when the push and
    the cancel came in the same turn of the loop: the sender then never ended, and closing
    the connection waited its whole CLOSE_TIMEOUT (30 s, in a CI run)."""
    publisher = VideoPublisher()
    track = publisher.track()
    publisher.push(np.zeros((4, 6, 3), np.uint8))
    await track.recv()
    reading = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)  # now waiting for the next frame
    publisher.push(np.zeros((4, 6, 3), np.uint8))
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
    track.stop()


async def test_pump_paces_each_kind_of_source() -> None:
    image = np.zeros((4, 6, 3), np.uint8)

    async def frames() -> AsyncIterator[np.ndarray]:
        for _ in range(5):
            yield image

    for source in ([image] * 5, frames()):
        publisher = VideoPublisher()
        started = time.monotonic()
        await pump_frames(publisher, source, fps=50)
        assert publisher.frames_pushed == 5
        assert 0.06 < time.monotonic() - started < 1.0
        assert not publisher.active, "a finished source turns the camera off"

    publisher = VideoPublisher()

    def camera() -> np.ndarray:
        if publisher.frames_pushed == 3:
            raise OSError("camera unplugged")
        return image

    with pytest.raises(OSError, match="unplugged"):
        await pump_frames(publisher, camera, fps=100)
    assert publisher.frames_pushed == 3 and not publisher.active
    with pytest.raises(TypeError, match="iterable"):
        await pump_frames(publisher, 42, fps=10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fps"):
        await pump_frames(publisher, [image], fps=0)


async def test_fanout_keeps_the_freshest_and_ends_per_peer() -> None:
    fanout: Fanout[int] = Fanout(maxsize=2)
    everyone = fanout.subscribe()
    only_a = fanout.subscribe("a")
    assert fanout.wanted("b") and not Fanout(2).wanted("b")
    for item in range(5):
        fanout.publish("a", item)
    assert [await everyone.__anext__(), await everyone.__anext__()] == [3, 4]
    fanout.end_peer("a")
    assert [item async for item in only_a] == [3, 4], "then it ends"
    fanout.publish("b", 9)
    assert await everyone.__anext__() == 9, "the others go on"
    fanout.end()
    assert [item async for item in everyone] == []
    assert [item async for item in fanout.subscribe()] == [], "late subscribers end at once"
