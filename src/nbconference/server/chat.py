"""Chat and raised hands on the server: checking a message, a room's bounded history,
and the time stamp that orders the queue of raised hands.

The registry (rooms.py) calls these; the backends keep the history (memory.py in a
:class:`ChatHistory`, redis.py in a Redis list trimmed by the same two bounds).
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from ..protocol import ChatLimits, ErrorCode, ProtocolError, chat_frame, utf8_size
from .limits import RateLimiter


class ChatGate:
    """Checks each chat message against the chat limits and stamps it into a frame.

    The chat rate is per peer and separate from the general message rate, which
    signaling bursts need to be high: a person (or a loop in a notebook) posting faster
    than ``chat_messages_per_second`` gets ``chat-rate-limited``.
    """

    def __init__(self, limits: ChatLimits) -> None:
        self.limits = limits
        self._rates: dict[str, RateLimiter] = {}

    def stamp(self, sender: Mapping[str, Any], text: str, from_code: bool) -> str:
        """The ``chat`` frame for ``text`` from ``sender`` (its public record), or
        :class:`ProtocolError` saying why it is refused."""
        limits = self.limits
        size = utf8_size(text)
        if size > limits.max_chat_bytes:
            raise ProtocolError(
                ErrorCode.CHAT_TOO_LONG,
                f"chat message of {size} bytes exceeds {limits.max_chat_bytes}",
            )
        peer_id = str(sender["id"])
        rate = self._rates.get(peer_id)
        if rate is None:
            burst = limits.chat_burst
            rate = self._rates[peer_id] = RateLimiter(limits.chat_messages_per_second, burst)
        if not rate.allow():
            raise ProtocolError(
                ErrorCode.CHAT_RATE_LIMITED,
                f"more than {limits.chat_messages_per_second:g} chat messages per second "
                f"(bursts of {limits.chat_burst}); this one was not sent",
            )
        message_id = secrets.token_urlsafe(12)
        return chat_frame(message_id, int(time.time() * 1000), sender, text, from_code)

    def forget(self, peer_id: str) -> None:
        self._rates.pop(peer_id, None)


class ChatHistory:
    """The last chat frames of a room, at most ``max_messages`` and ``max_bytes``."""

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._frames: deque[str] = deque()
        self.bytes = 0

    def add(self, frame: str) -> None:
        self._frames.append(frame)
        self.bytes += utf8_size(frame)
        while self._frames and (
            len(self._frames) > self.max_messages or self.bytes > self.max_bytes
        ):
            self.bytes -= utf8_size(self._frames.popleft())

    def frames(self) -> list[str]:
        return list(self._frames)

    def __len__(self) -> int:
        return len(self._frames)


def hand_stamp(room_states: Iterable[Mapping[str, Any]]) -> int:
    """When a hand goes up: now in milliseconds, but always after every hand already up
    in the room, so the queue keeps the order this server saw even if clocks differ."""
    latest = 0
    for other in room_states:
        hand = other.get("hand")
        if isinstance(hand, int) and not isinstance(hand, bool):
            latest = max(latest, hand)
    return max(int(time.time() * 1000), latest + 1)


def hand_raised(state: Mapping[str, Any]) -> bool:
    hand = state.get("hand")
    return isinstance(hand, int) and not isinstance(hand, bool) and hand > 0
