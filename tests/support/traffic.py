"""Large signals and what became of them: frames of 64 KiB of non-ASCII text, reading
everything a client receives, and sorting the signals by sender."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from typing import Any

from .client import Client

# A signal frame of 64 KiB on the wire, nearly all of it "é" (two bytes each in UTF-8).
LIMIT = 64 * 1024
E_ACUTE = "é" * ((LIMIT - 120) // 2)


def big_signal(to: str, sender: int, seq: int) -> str:
    frame = json.dumps(
        {"type": "signal", "to": to, "data": {"candidate": {"s": sender, "n": seq, "e": E_ACUTE}}},
        ensure_ascii=False,
    )
    assert LIMIT - 200 < len(frame.encode()) <= LIMIT
    return frame


async def drain(client: Client, quiet: float = 1.0, pause: float = 0.0) -> list[dict[str, Any]]:
    """Everything ``client`` receives until ``quiet`` seconds pass without a frame,
    reading one frame every ``pause`` seconds. Fails if the server closes it."""
    frames = []
    with contextlib.suppress(asyncio.TimeoutError):
        while True:
            frames.append(await client.recv(quiet))
            if pause:
                await asyncio.sleep(pause)
    return frames


def signals_by_sender(frames: list[dict[str, Any]]) -> dict[int, list[int]]:
    got: dict[int, list[int]] = defaultdict(list)
    for frame in frames:
        assert frame["type"] == "signal", frame
        candidate = frame["data"]["candidate"]
        assert candidate["e"] == E_ACUTE
        got[candidate["s"]].append(candidate["n"])
    return dict(got)
