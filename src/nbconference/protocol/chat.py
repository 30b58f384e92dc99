"""Chat and raised hands.

A chat message goes to the whole room through the server, which gives it an id and
stamps who sent it; the room keeps a bounded history for late joiners. A raised hand is
the "hand" of a peer's state: the server stamps when it went up, so every server of the
room orders the queue alike, and anyone in the room may lower anyone's hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .encoding import SURROGATE, encode
from .errors import ErrorCode, ProtocolError
from .names import ClientFrame, ServerFrame
from .text import clean_chat_text


@dataclass(frozen=True)
class ChatLimits:
    """What the server enforces on chat, apart from the general message limits."""

    max_chat_bytes: int = 4096
    chat_messages_per_second: float = 1.0
    chat_burst: int = 10
    chat_history_messages: int = 100
    chat_history_bytes: int = 128 * 1024


DEFAULT_CHAT_LIMITS: Final = ChatLimits()


@dataclass(frozen=True)
class Chat:
    """A client's ``chat`` frame, its text cleaned (see :func:`clean_chat_text`)."""

    text: str
    from_code: bool = False


@dataclass(frozen=True)
class LowerHand:
    """A client's ``lower-hand`` frame."""

    peer: str


def parse_chat(obj: dict[str, Any]) -> Chat:
    """The ``chat`` frame ``obj`` (decoded), or :class:`ProtocolError` ``chat-invalid``."""
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ProtocolError(ErrorCode.CHAT_INVALID, "'text' must be text that is not blank")
    if SURROGATE.search(text) is not None:
        # Only a JSON escape can make one: it has no UTF-8 form to show or relay.
        raise ProtocolError(ErrorCode.CHAT_INVALID, "'text' is not valid UTF-8 (a lone surrogate)")
    cleaned = clean_chat_text(text)
    if not cleaned:
        raise ProtocolError(
            ErrorCode.CHAT_INVALID,
            "'text' has nothing visible once control, bidi and zero-width characters are removed",
        )
    # ``from_code`` is the sender's claim: the server cannot know what a page posts.
    return Chat(cleaned, obj.get("from_code") is True)


def chat_message(text: str, from_code: bool = False) -> dict[str, Any]:
    """A chat message for the whole room; ``from_code``: posted by a notebook's code."""
    message: dict[str, Any] = {"type": ClientFrame.CHAT, "text": text}
    if from_code:
        message["from_code"] = True
    return message


def lower_hand_message(peer: str) -> dict[str, Any]:
    """Lower the raised hand of ``peer`` (our own id lowers ours)."""
    return {"type": ClientFrame.LOWER_HAND, "peer": peer}


def chat_frame(
    message_id: str, time_ms: int, sender: Mapping[str, Any], text: str, from_code: bool
) -> str:
    """The ``chat`` frame every member of the room receives, stamped with the sender's
    public record (:func:`peer_record`): its id, name, identity and colour."""
    frame: dict[str, Any] = {
        "type": ServerFrame.CHAT,
        "id": message_id,
        "time": time_ms,
        "from": sender["id"],
        "name": sender.get("name", ""),
        "user": sender.get("user"),
        "color": sender.get("color"),
        "text": text,
    }
    if from_code:
        frame["from_code"] = True
    return encode(frame)
