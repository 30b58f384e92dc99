"""What bounds a recording: the frames waiting to be written are bounded in bytes
whatever size senders send, and ``max_seconds``, ``max_bytes`` and ``min_free_bytes``
stop a real recording cleanly (files closed and readable, the manifest written, the room
left) and say why. Real KernelPeer senders over the real standalone server."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("aiortc")
av = pytest.importorskip("av")
psutil = pytest.importorskip("psutil")

from nbconference import Recorder  # noqa: E402
from nbconference.peer import KernelPeer  # noqa: E402
from nbconference.peer import recorder as recorder_module  # noqa: E402
from nbconference.peer.disk_writer import DiskWriter, frame_bytes  # noqa: E402
from nbconference.peer.recording import MediaFile  # noqa: E402
from nbconference.server.standalone import StandaloneServer  # noqa: E402
from support.polling import eventually  # noqa: E402
from support.recording_peers import decoded, sender  # noqa: E402

MiB = 2**20


def full_hd() -> Any:
    """A decoded 1920x1080 frame, as aiortc's decoder hands one over (yuv420p, ~3 MB)."""
    planes = np.random.default_rng().integers(0, 255, (1080 * 3 // 2, 1920), np.uint8)
    return av.VideoFrame.from_ndarray(planes, format="yuv420p")


def test_the_disk_writer_holds_frames_up_to_its_bound_in_bytes(tmp_path: Path) -> None:
    writer = DiskWriter()  # the recorder's bounds
    file = MediaFile(tmp_path / "screen.mkv", "video", 0.0)
    busy, gate = threading.Event(), threading.Event()
    process = psutil.Process()
    try:
        assert writer.submit(lambda: (busy.set(), gate.wait()))  # behind, as a busy machine
        assert busy.wait(10)
        before = process.memory_info().rss
        accepted = 0
        for n in range(100):  # 300 MB of frames, made and handed over one by one
            frame = full_hd()
            size = frame_bytes(frame)
            assert size >= 1920 * 1080 * 3 // 2
            accepted += writer.submit(partial(file.write, frame, n / 30), droppable=True, size=size)
            del frame
            assert writer.pending_bytes <= writer.max_bytes, (n, writer.pending_bytes)
        grown = process.memory_info().rss - before
        assert accepted == writer.max_bytes // size and writer.dropped == 100 - accepted
        assert writer.peak_bytes <= writer.max_bytes
        # What the process holds follows the bound, not what was sent.
        assert grown < writer.max_bytes + 40 * MiB, f"{grown / MiB:.0f} MiB for the queue"
    finally:
        gate.set()
        writer.submit(file.close)
        assert writer.close(60)
    assert writer.pending_bytes == 0
    frames, _, size_written = decoded(tmp_path / "screen.mkv")
    assert frames == accepted and size_written == (1920, 1080)


async def stopped(rec: Recorder, why: str) -> None:
    await eventually(lambda: rec.status == "stopped", 30, f"{why} to stop the recording")


def check_closed_cleanly(rec: Recorder, ada: KernelPeer, reason: str) -> dict[str, Any]:
    """The files are closed and readable, the manifest says why, and it left the room."""
    assert rec.stopped_reason == reason, (rec.stopped_reason, rec.stopped_message)
    manifest: dict[str, Any] = json.loads(rec.manifest_path.read_text())
    assert manifest == rec.manifest_json()
    assert manifest["stopped_reason"] == reason
    assert manifest["stopped_message"] == rec.stopped_message and rec.stopped_message
    (record,) = manifest["participants"]
    assert record["id"] == ada.id and record["left"] is not None
    camera = rec.path / record["files"]["camera"]
    with av.open(str(camera)) as container:
        assert container.duration is not None  # closed: Matroska knows its length
    frames, last, size = decoded(camera)
    assert frames > 5 and size == (320, 240) and last <= record["left"] + 0.2
    _, mixed_last, _ = decoded(rec.path / manifest["mixed_audio"])
    assert abs(mixed_last - record["left"]) < 0.5
    return manifest


async def test_max_seconds_stops_the_recording(
    standalone: StandaloneServer, peers: list[KernelPeer], tmp_path: Path
) -> None:
    ada = await sender(standalone, peers, "Ada", 60)
    rec = await Recorder.start(
        "lab", tmp_path, url=standalone.url, token=standalone.token, max_seconds=3
    )
    try:
        await stopped(rec, "max_seconds")
    finally:
        await rec.stop()
    manifest = check_closed_cleanly(rec, ada, "max_seconds")
    assert "max_seconds=3" in rec.stopped_message
    (record,) = manifest["participants"]
    assert 3.0 <= record["left"] < 3.5, record
    await eventually(lambda: rec.id not in ada.links, 10, "the recorder to leave the room")


async def test_max_bytes_stops_the_recording(
    standalone: StandaloneServer, peers: list[KernelPeer], tmp_path: Path
) -> None:
    rng = np.random.default_rng(7)
    noise = [rng.integers(0, 255, (240, 320, 3), np.uint8) for _ in range(15)]
    count = iter(range(10**6))
    ada = await sender(standalone, peers, "Ada", 0, lambda: noise[next(count) % 15])
    limit = 400_000
    rec = await Recorder.start(
        "lab", tmp_path, url=standalone.url, token=standalone.token, max_bytes=limit
    )
    try:
        await stopped(rec, "max_bytes")
    finally:
        await rec.stop()
    manifest = check_closed_cleanly(rec, ada, "max_bytes")
    assert f"max_bytes={limit}" in rec.stopped_message
    written = sum(f.stat().st_size for f in rec.path.iterdir())
    (record,) = manifest["participants"]
    # Past the limit, and stopped within about a second of it (checked twice a second).
    rate = written / record["left"]
    assert limit <= written <= limit + 1.5 * rate, (written, rate, record)
    await eventually(lambda: rec.id not in ada.links, 10, "the recorder to leave the room")


async def test_too_little_free_disk_refuses_a_recording_or_stops_it(
    standalone: StandaloneServer, peers: list[KernelPeer], tmp_path: Path
) -> None:
    ada = await sender(standalone, peers, "Ada", 60)
    more_than_free = shutil.disk_usage(tmp_path).free + 2**40
    with pytest.raises(OSError, match="min_free_bytes"):
        await Recorder.start(
            "lab", tmp_path, url=standalone.url, token=standalone.token,
            min_free_bytes=more_than_free,
        )  # fmt: skip
    assert list(tmp_path.iterdir()) == [] and ada.links == {}, "it neither wrote nor joined"

    rec = await Recorder.start("lab", tmp_path, url=standalone.url, token=standalone.token)
    try:
        await eventually(
            lambda: [t for t in rec.tracks() if t["frames"] > 15], 20, "a second of Ada"
        )
        assert rec.status == "recording"
        rec.min_free_bytes = shutil.disk_usage(tmp_path).free + 2**40  # the disk "fills"
        await stopped(rec, "low free disk space")
    finally:
        await rec.stop()
    check_closed_cleanly(rec, ada, "low_disk")
    assert "min_free_bytes" in rec.stopped_message
    await eventually(lambda: rec.id not in ada.links, 10, "the recorder to leave the room")


def test_a_file_renamed_while_the_folder_is_measured_is_no_disk_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """manifest.json is written as manifest.partial and then renamed, on the journal's
    thread: a measure of the folder that listed the partial file and then found it gone
    stopped the recording as a ``disk_error`` (once in CI, in the flood test of
    test_recorder_events.py, whose recorder then left the room). A folder gone is one."""
    (tmp_path / "camera.mkv").write_bytes(b"x" * 1000)
    (tmp_path / "manifest.partial").write_text("{}")
    scandir = os.scandir

    @contextlib.contextmanager
    def renamed_once_listed(folder: Path) -> Iterator[Iterator[os.DirEntry[str]]]:
        with scandir(folder) as entries:
            listed = list(entries)
        (tmp_path / "manifest.partial").replace(tmp_path / "manifest.json")
        yield iter(listed)

    monkeypatch.setattr(os, "scandir", renamed_once_listed)
    written, free = recorder_module._usage(tmp_path)
    assert written == 1000 and free > 0
    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(FileNotFoundError):
        recorder_module._usage(tmp_path / "gone")


def test_limits_must_make_sense(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_seconds"):
        Recorder("lab", tmp_path, max_seconds=0)
    with pytest.raises(ValueError, match="max_bytes"):
        Recorder("lab", tmp_path, max_bytes=-1)
    with pytest.raises(ValueError, match="min_free_bytes"):
        Recorder("lab", tmp_path, min_free_bytes=-1)
