"""The recorder's files (nbconference.peer.recording): tracks written as they arrive,
decodable with PyAV, lined up on the wall clock, readable after the recorder is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

av = pytest.importorskip("av")

from nbconference.peer.recording import (  # noqa: E402
    MIX_SAMPLES,
    SAMPLE_RATE,
    AudioMixer,
    Manifest,
    MediaFile,
)


def picture(width: int, height: int, shade: int) -> Any:
    image = np.full((height, width, 3), shade, np.uint8)
    return av.VideoFrame.from_ndarray(image, format="rgb24")


def tone(frequency: float, start: int, samples: int = 960) -> Any:
    t = (np.arange(start, start + samples) / SAMPLE_RATE).astype(np.float64)
    wave = (np.sin(2 * np.pi * frequency * t) * 8000).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(
        np.repeat(wave[:, None], 2, axis=1).reshape(1, -1), format="s16", layout="stereo"
    )
    frame.sample_rate = SAMPLE_RATE
    return frame


def decoded(path: Path) -> tuple[list[Any], float]:
    """Every frame of the file's one stream, and the time of the last one (seconds)."""
    with av.open(str(path)) as container:
        stream = container.streams[0]
        frames = list(container.decode(stream))
    last = max(float(f.pts * f.time_base) for f in frames)
    return frames, last


def test_video_is_written_on_the_wall_clock_whatever_the_senders_size(tmp_path: Path) -> None:
    started = time.monotonic()
    file = MediaFile(tmp_path / "camera.mkv", "video", started)
    for n in range(60):  # two seconds at 30 fps; the sender halves its size half-way
        size = (320, 240) if n < 30 else (160, 120)
        file.write(picture(*size, shade=40 + n), started + n / 30)
    file.close()
    frames, last = decoded(tmp_path / "camera.mkv")
    assert len(frames) == 60 and abs(last - 59 / 30) < 0.01
    assert {(f.width, f.height) for f in frames} == {(320, 240)}


def test_audio_and_the_mix(tmp_path: Path) -> None:
    started = time.monotonic()
    voice = MediaFile(tmp_path / "voice.mkv", "audio", started)
    mixed = AudioMixer(MediaFile(tmp_path / "mixed.mkv", "audio", started))
    for n in range(100):  # two seconds of 20 ms frames from two people
        at = started + n * 0.02
        low, high = tone(220, n * 960), tone(880, n * 960)
        voice.write(low, at)
        mixed.push("ada", low)
        mixed.push("bob", high)
        mixed.tick(at)
    voice.close()
    mixed.file.close()
    _, last = decoded(tmp_path / "voice.mkv")
    assert abs(last - 2.0) < 0.1
    # Opus decodes to planar floats: the first channel, half a second in.
    left = np.concatenate([f.to_ndarray()[0] for f in decoded(tmp_path / "mixed.mkv")[0]])
    window = left[SAMPLE_RATE // 2 : SAMPLE_RATE].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(window))
    bins = np.fft.rfftfreq(len(window), 1 / SAMPLE_RATE)
    peaks = {round(float(bins[i])) for i in np.argsort(spectrum)[-4:]}
    assert any(abs(p - 220) < 10 for p in peaks) and any(abs(p - 880) < 10 for p in peaks), peaks
    assert mixed.ticks == 100 and MIX_SAMPLES == 960


WRITER = """
import sys, time, numpy as np, av
from pathlib import Path
from nbconference.peer.recording import MediaFile
started = time.monotonic()
file = MediaFile(Path(sys.argv[1]), "video", started)
n = 0
while True:
    image = np.full((240, 320, 3), n % 255, np.uint8)
    file.write(av.VideoFrame.from_ndarray(image, format="rgb24"), time.monotonic())
    n += 1
    if n == 1:
        print("writing", flush=True)
    time.sleep(1 / 30)
"""


def test_a_killed_recorder_leaves_files_readable_to_the_last_second(tmp_path: Path) -> None:
    path = tmp_path / "killed.mkv"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        time.sleep(3.5)
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(10)
    frames, last = decoded(path)
    assert last >= 2.0, f"only {last:.2f} s readable after the kill"
    assert len(frames) >= 50


def test_the_manifest_says_who_when_and_where(tmp_path: Path) -> None:
    manifest = Manifest()
    ada = manifest.participant("ada-id-123", "Ada Lovelace", 0.5)
    ada["files"]["camera"] = manifest.file_name("ada-id-123", "camera")
    manifest.event(1.0, "ada-id-123", "camera on")
    manifest.event(4.25, "ada-id-123", "left")
    manifest.save(tmp_path / "manifest.json")
    saved = (tmp_path / "manifest.json").read_text()
    assert '"Ada-Lovelace-ada-id-1-camera.mkv"' in saved
    pd = pytest.importorskip("pandas")
    table = manifest.frame()
    assert isinstance(table, pd.DataFrame)
    assert table["event"].tolist() == ["joined", "camera on", "left"]
    assert table.loc[1, "file"] == "Ada-Lovelace-ada-id-1-camera.mkv"
