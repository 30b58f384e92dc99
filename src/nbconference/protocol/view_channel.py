"""Between peers, not through the server: each receiver tells each sender how large it
shows the sender's camera and screen, on an RTCDataChannel of their peer connection
(docs/protocol.md, "What a receiver shows")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from .encoding import decode, encode

VIEW_CHANNEL: Final = "nbc-view"  # the channel's label; the first offer's side opens it
VIEW_REQUEST: Final = "view"  # the ``type`` of its one message
MAX_VIEW_HEIGHT: Final = 4320  # heights are read up to this: "the whole picture"
MAX_VIEW_MESSAGE: Final = 256  # characters; longer messages are not requests
# A sender scales by the largest of these that keeps the picture at least as high as the
# receiver shows it, so it sends at most one step above the asked height.
SCALE_STEPS: Final = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


@dataclass(frozen=True)
class ViewRequest:
    """Heights in device pixels at which a receiver shows a sender; 0: not at all."""

    camera: int
    screen: int


def view_request(camera: int, screen: int) -> str:
    """The message a receiver sends on the view channel."""

    def clamp(height: int) -> int:
        return max(0, min(MAX_VIEW_HEIGHT, int(height)))

    return encode({"type": VIEW_REQUEST, "camera": clamp(camera), "screen": clamp(screen)})


def parse_view_request(data: object) -> ViewRequest | None:
    """A message from the view channel, or None when it is not one we can read."""
    if not isinstance(data, str) or len(data) > MAX_VIEW_MESSAGE:
        return None
    try:
        value = decode(data)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("type") != VIEW_REQUEST:
        return None
    heights: list[int] = []
    for key in ("camera", "screen"):
        height = value.get(key)
        if not isinstance(height, int | float) or isinstance(height, bool):
            return None
        if not math.isfinite(height):
            return None
        heights.append(max(0, min(MAX_VIEW_HEIGHT, round(height))))
    return ViewRequest(*heights)


def scale_for(source_height: int, shown: int) -> float:
    """The step to scale a picture ``source_height`` high by, for a receiver that shows it
    ``shown`` high (> 0): the largest of :data:`SCALE_STEPS` that keeps it that high."""
    chosen = 1.0
    for step in SCALE_STEPS:
        if source_height / step >= shown:
            chosen = step
    return chosen
