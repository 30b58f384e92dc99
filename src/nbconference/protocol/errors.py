"""The error codes an ``error`` frame carries, and the exception that carries one.

On the wire a code is its bare string ("room-full"). :class:`ErrorCode` is a ``str``
enum, so a code compares equal to (and hashes like) its string, JSON encodes as it, and
a misspelt name fails at import rather than on the wire. ``js/protocol/errors.js`` has
the same codes; the contract test and the table in docs/protocol.md keep them equal.
"""

from __future__ import annotations

import enum
from typing import Final


class ErrorCode(str, enum.Enum):
    """The ``code`` of an ``error`` frame."""

    BAD_MESSAGE = "bad-message"
    TOO_LARGE = "too-large"
    ROOM_FULL = "room-full"
    NOT_ALLOWED = "not-allowed"
    UNKNOWN_PEER = "unknown-peer"
    PEER_UNAVAILABLE = "peer-unavailable"
    NOT_JOINED = "not-joined"
    ALREADY_JOINED = "already-joined"
    RATE_LIMITED = "rate-limited"
    BACKEND_UNAVAILABLE = "backend-unavailable"
    # chat (a message refused; the socket stays open)
    CHAT_INVALID = "chat-invalid"
    CHAT_TOO_LONG = "chat-too-long"
    CHAT_RATE_LIMITED = "chat-rate-limited"
    # the SFU (media through the server's Janus)
    SFU_UNAVAILABLE = "sfu-unavailable"
    SFU_REFUSED = "sfu-refused"
    # hosts (a request only a host may make; a join of an identity a host removed)
    NOT_HOST = "not-host"
    BANNED = "banned"
    # the lobby (a frame only an admitted peer may send, from one still waiting)
    IN_LOBBY = "in-lobby"

    def __str__(self) -> str:
        # The bare code, as on the wire (Python 3.10 has no StrEnum).
        return self.value


# The codes as plain strings, for membership tests on what a peer sent.
ERROR_CODES: Final = frozenset(code.value for code in ErrorCode)
# Errors that are the client's fault. The others (a peer that just left, a full room, a
# peer reconnecting) happen to well-behaved clients in races and must not get them closed.
ABUSE_CODES: Final = frozenset(
    {
        ErrorCode.BAD_MESSAGE,
        ErrorCode.TOO_LARGE,
        ErrorCode.NOT_JOINED,
        ErrorCode.ALREADY_JOINED,
        ErrorCode.RATE_LIMITED,
    }
)
# A join refused with one of these would be refused again: the client stops. Other join
# errors (backend-unavailable) are retried like a dropped socket.
FATAL_JOIN_ERRORS: Final = frozenset(
    {
        ErrorCode.ROOM_FULL,
        ErrorCode.NOT_ALLOWED,
        ErrorCode.BANNED,
        ErrorCode.BAD_MESSAGE,
        ErrorCode.TOO_LARGE,
    }
)


def error_code(code: ErrorCode | str) -> ErrorCode:
    """``code`` as an :class:`ErrorCode`; ValueError for a code the protocol lacks (a raise,
    not an assert, so that it holds under ``python -O`` too)."""
    try:
        return ErrorCode(code)
    except ValueError:
        raise ValueError(f"{code!r} is not an nbconference error code") from None


class ProtocolError(Exception):
    """A frame the server refuses; ``code`` is an :class:`ErrorCode`.

    ``peer`` names the peer the error concerns (the target of a refused signal), so that
    clients never have to read it out of the message; ``request`` the id of the host
    request it refuses, when that carried one.
    """

    def __init__(
        self,
        code: ErrorCode | str,
        message: str,
        peer: str | None = None,
        request: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = error_code(code)
        self.message = message
        self.peer = peer
        self.request = request
