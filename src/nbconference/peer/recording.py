"""Writing a call to disk as it happens: one file per participant and kind (audio, camera,
screen), one mixed audio track of the whole call, and a manifest of who did what when.

Files are Matroska written packet by packet, with a cluster at least every second, so a
recorder that dies (even by SIGKILL) leaves files readable up to their last second.
Timestamps are the wall clock since the recording began: every file of one recording
lines up with the others and with the manifest.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

SAMPLE_RATE = 48_000
MIX_PERIOD = 0.02  # one Opus frame
MIX_SAMPLES = int(SAMPLE_RATE * MIX_PERIOD)
# Matroska: flush each packet, and start a cluster at least every second.
MUXER_OPTIONS = {"cluster_time_limit": "1000", "flush_packets": "1"}
VIDEO_TIME_BASE = Fraction(1, 1000)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:40] or "peer"


class MediaFile:
    """One track written as it arrives: H.264 video or Opus audio, in Matroska."""

    def __init__(self, path: Path, kind: str, started: float) -> None:
        if kind not in ("audio", "video"):
            raise ValueError(f"kind must be 'audio' or 'video', not {kind!r}")
        self.path, self.kind, self.started = path, kind, started
        self.frames = 0
        self._container: Any = None
        self._stream: Any = None
        self._size: tuple[int, int] | None = None
        self._resampler: Any = None
        self._next_sample: int | None = None
        self._last_pts = -1

    def write(self, frame: Any, at: float) -> None:
        """Encode ``frame`` (an ``av`` frame) received at ``at`` (monotonic seconds)."""
        if self.kind == "video":
            self._write_video(frame, at)
        else:
            self._write_audio(frame, at)
        self.frames += 1

    def _open(self) -> Any:
        self._container = av.open(str(self.path), "w", format="matroska", options=MUXER_OPTIONS)
        return self._container

    def _write_video(self, frame: Any, at: float) -> None:
        if self._container is None:
            container = self._open()
            width, height = frame.width & ~1, frame.height & ~1
            self._size = (width, height)
            stream = container.add_stream("libx264", rate=30)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.time_base = VIDEO_TIME_BASE
            stream.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "26"}
            self._stream = stream
        assert self._size is not None
        width, height = self._size
        # A sender may change resolution mid-call (it follows what receivers show).
        picture = frame.reformat(width=width, height=height, format="yuv420p")
        pts = max(self._last_pts + 1, round((at - self.started) * 1000))
        self._last_pts = pts
        picture.pts, picture.time_base = pts, VIDEO_TIME_BASE
        self._mux(picture)

    def _write_audio(self, frame: Any, at: float) -> None:
        if self._container is None:
            stream = self._open().add_stream("libopus", rate=SAMPLE_RATE)
            stream.layout = "stereo"
            self._stream = stream
            self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=SAMPLE_RATE)
        start = round((at - self.started) * SAMPLE_RATE)
        for chunk in self._resampler.resample(frame):
            # Contiguous samples from the first arrival on; a gap (the peer fell silent
            # or dropped packets) starts again at the wall clock.
            if self._next_sample is None or start > self._next_sample + SAMPLE_RATE // 5:
                self._next_sample = max(start, self._next_sample or 0)
            chunk.pts, chunk.time_base = self._next_sample, Fraction(1, SAMPLE_RATE)
            self._next_sample += chunk.samples
            self._mux(chunk)

    def _mux(self, frame: Any) -> None:
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        if self._container is None:
            return
        container, self._container = self._container, None
        try:
            for packet in self._stream.encode(None):
                container.mux(packet)
        finally:
            container.close()


class AudioMixer:
    """The whole call's voices in one track: every ``MIX_PERIOD`` the next frame of each
    participant (silence for one who sent none) is summed and written."""

    def __init__(self, file: MediaFile) -> None:
        self.file = file
        self._queues: dict[str, list[np.ndarray[Any, np.dtype[np.int16]]]] = {}
        self._pending: dict[str, np.ndarray[Any, np.dtype[np.int16]]] = {}
        self._resampler = av.AudioResampler(format="s16", layout="stereo", rate=SAMPLE_RATE)
        self.ticks = 0

    def push(self, peer_id: str, frame: Any) -> None:
        """A participant's audio frame, as received."""
        for chunk in self._resampler.resample(frame):
            samples = np.asarray(chunk.to_ndarray(), np.int16).reshape(-1, 2)
            held = self._pending.get(peer_id)
            samples = samples if held is None else np.concatenate([held, samples])
            queue = self._queues.setdefault(peer_id, [])
            while len(samples) >= MIX_SAMPLES:
                queue.append(samples[:MIX_SAMPLES])
                samples = samples[MIX_SAMPLES:]
            self._pending[peer_id] = samples
            del queue[:-25]  # at most half a second behind: a stalled mixer drops, not grows

    def remove(self, peer_id: str) -> None:
        self._queues.pop(peer_id, None)
        self._pending.pop(peer_id, None)

    def tick(self, at: float) -> None:
        """Write one mixed period, as of ``at`` (monotonic seconds)."""
        mixed = np.zeros((MIX_SAMPLES, 2), np.int32)
        for queue in self._queues.values():
            if queue:
                mixed += queue.pop(0)
        samples = np.clip(mixed, -32768, 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        self.file.write(frame, at)
        self.ticks += 1


def write_manifest(path: Path, head: dict[str, Any], events: list[str]) -> None:
    """Write ``head`` with ``events`` (each already JSON, one a line) as its ``events``
    list to ``path``, atomically: a reader sees the old manifest or the new one."""
    text = json.dumps(head, indent=1)
    listed = "[\n  " + ",\n  ".join(events) + "\n ]" if events else "[]"
    body = f'{text[:-2]},\n "events": {listed}\n}}' if head else f'{{"events": {listed}}}'
    partial = path.with_suffix(".partial")
    partial.write_text(body + "\n", encoding="utf-8")
    partial.replace(path)


@dataclass
class Manifest:
    """Who was recorded, when each joined and left, when cameras and screen shares went on
    and off (seconds since the start), the file of each track, and why the recording
    stopped (``stopped_reason``, a word, and ``stopped_message``, a sentence)."""

    started_at: float = field(default_factory=time.time)
    participants: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    mixed_audio: str = ""
    stopped_reason: str = ""
    stopped_message: str = ""

    def participant(self, peer_id: str, name: str, offset: float) -> dict[str, Any]:
        record = self.participants.get(peer_id)
        if record is None:
            record = {"id": peer_id, "name": name, "joined": offset, "left": None, "files": {}}
            self.participants[peer_id] = record
            self.event(offset, peer_id, "joined")
        return record

    def event(self, offset: float, peer_id: str, what: str) -> dict[str, Any]:
        """Note an event; the returned record is not changed afterwards."""
        event = {"offset": round(offset, 3), "peer_id": peer_id, "event": what}
        self.events.append(event)
        return event

    def file_name(self, peer_id: str, kind: str) -> str:
        name = self.participants.get(peer_id, {}).get("name", "")
        return f"{_safe(name)}-{peer_id[:8]}-{kind}.mkv"

    def head(self) -> dict[str, Any]:
        """Everything but the events, copied: a snapshot another thread may write."""
        return {
            "started_at": self.started_at,
            "mixed_audio": self.mixed_audio,
            "stopped_reason": self.stopped_reason,
            "stopped_message": self.stopped_message,
            "participants": [
                {**record, "files": dict(record["files"])} for record in self.participants.values()
            ],
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.head(), "events": self.events}

    def save(self, path: Path) -> None:
        write_manifest(path, self.head(), [json.dumps(event) for event in self.events])

    def frame(self) -> Any:
        """The events as a pandas DataFrame: offset, who, what, and the file of the track
        concerned (needs pandas)."""
        import pandas as pd

        rows = []
        for event in self.events:
            who = self.participants.get(event["peer_id"], {})
            kind = {"camera on": "camera", "screen on": "screen", "microphone on": "audio"}.get(
                event["event"], ""
            )
            rows.append(
                {
                    **event,
                    "name": who.get("name", ""),
                    "file": who.get("files", {}).get(kind, ""),
                }
            )
        return pd.DataFrame(rows, columns=["offset", "peer_id", "name", "event", "file"])
