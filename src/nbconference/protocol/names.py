"""The names of the wire: version, endpoint, frame types, kinds of participant, state
keys, patterns, close codes, the reconnect policy and the limits a server enforces.

``js/protocol/names.js`` holds the same names for the front end; the contract test
compares the two.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Final

PROTOCOL_VERSION: Final = 1
# Relative to a Jupyter server's base URL, and the path of `nbconference serve`.
SIGNAL_PATH: Final = "nbconference/signal"
# The Hub service's sign-in page, under its prefix (a page loads it before the socket), and
# the message it posts to the page once the service's cookie is set.
HUB_LOGIN_PATH: Final = "login"
HUB_LOGIN_MESSAGE: Final = "nbconference-hub-login"

ROOM_PATTERN = re.compile(r"[A-Za-z0-9._~-]{1,64}")
# A room of one user's, such as a notebook's default room on a JupyterHub, is named
# "<owner tag>~<name>" (see owner_tag); the Hub service admits only its owner and those the
# Hub lets open the owner's server.
OWNER_MARK: Final = "~"
OWNER_TAG_CHARS: Final = 24
MAX_NAME_CHARS: Final = 64
# The name of a participant whose label is empty once normalised (see normalize_name),
# as the widget and the page call a nameless person.
DEFAULT_NAME: Final = "guest"
# What a join may say of itself beyond its label: which widget it views (an opaque tag),
# and the colour its person has in a shared notebook when the server's identity has none.
WIDGET_TAG_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
COLOR_PATTERN = re.compile(r"#[0-9A-Fa-f]{3,8}|var\(--jp-collaborator-color[1-9]\)")
# SDP and ICE payloads nest two or three levels. The limit is explicit so that it does not
# depend on the interpreter's recursion limit, which IPython, for one, raises to 3000.
MAX_DEPTH: Final = 32
# "hand": a client says true or false; the server turns true into the time (ms) the hand
# went up, which orders the room's queue of raised hands (see "chat and raised hands").
STATE_KEYS: Final = ("camera", "microphone", "screen", "hand")

# -- kinds of participant (recording) -------------------------------------------------
# A join may declare what kind of participant it is. The server carries a declared kind
# in the peer record for as long as the peer is in the room: no later frame can change
# or strip it (state frames carry STATE_KEYS only; a resume keeps the first record).
# A participant that declares nothing is a person ("participant"), and its record
# carries no ``kind``. A ``recorder`` sends no media and writes what it receives to
# disk: every page shows a "Recording" banner while one is in the room.
PARTICIPANT_KIND: Final = "participant"
RECORDER_KIND: Final = "recorder"
PEER_KINDS: Final = (PARTICIPANT_KIND, RECORDER_KIND)

# Which ICE candidates a client may use (RTCConfiguration.iceTransportPolicy), as the
# server says in ``welcome``: "relay" uses the TURN server alone, so that no participant
# learns another's addresses.
ICE_TRANSPORT_ALL: Final = "all"
ICE_TRANSPORT_RELAY: Final = "relay"
ICE_TRANSPORT_POLICIES: Final = (ICE_TRANSPORT_ALL, ICE_TRANSPORT_RELAY)
# -- media planes (docs/protocol.md, "SFU") --------------------------------------------
# Which plane carries a room's media: a full mesh between the peers, or the server's SFU.
# The server decides (welcome.media, then a ``media`` frame when the room moves).
MEDIA_MESH: Final = "mesh"
MEDIA_SFU: Final = "sfu"
MEDIA_PLANES: Final = (MEDIA_MESH, MEDIA_SFU)


class ClientFrame:
    """The ``type`` of each frame a client sends."""

    JOIN: Final = "join"
    SIGNAL: Final = "signal"
    STATE: Final = "state"
    LEAVE: Final = "leave"
    CHAT: Final = "chat"
    LOWER_HAND: Final = "lower-hand"
    PING: Final = "ping"
    # A host's requests (hosts.py).
    MUTE: Final = "mute"
    REMOVE: Final = "remove"
    END_CALL: Final = "end-call"
    MAKE_HOST: Final = "make-host"
    # The lobby of a locked room (lobby.py): a host's requests too.
    LOCK: Final = "lock"
    UNLOCK: Final = "unlock"
    ADMIT: Final = "admit"
    DENY: Final = "deny"
    # Breakout rooms (breakout.py): a host's requests too.
    BREAKOUT: Final = "breakout"
    END_BREAKOUT: Final = "end-breakout"
    VISIT: Final = "visit"


class ServerFrame:
    """The ``type`` of each frame the server sends."""

    WELCOME: Final = "welcome"
    PEER_JOINED: Final = "peer-joined"
    PEER_LEFT: Final = "peer-left"
    PEER_STATE: Final = "peer-state"
    SIGNAL: Final = "signal"
    CHAT: Final = "chat"
    ERROR: Final = "error"
    ICE_SERVERS: Final = "ice-servers"
    MEDIA: Final = "media"
    PONG: Final = "pong"
    # The room's hosts, a host's mute, and the answer to a host's request (hosts.py).
    HOSTS: Final = "hosts"
    MUTED: Final = "muted"
    DONE: Final = "done"
    # The lobby (lobby.py): to a newcomer of a locked room, and to the room's hosts.
    WAITING: Final = "waiting"
    LOBBY: Final = "lobby"
    # Breakout rooms (breakout.py): to a peer the server moves, and to every room of one.
    MOVED: Final = "moved"
    BREAKOUTS: Final = "breakouts"


# ``ping`` measures the signaling round trip (a page's diagnosis): the server answers
# each at once with a ``pong`` of the same ``id``, joined or not. A socket may ping
# PINGS_PER_SECOND times a second with bursts of PING_BURST; more earn ``rate-limited``.
PING_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
PINGS_PER_SECOND: Final = 2.0
PING_BURST: Final = 5


# WebSocket close codes. 1000/1001 are RFC 6455's "normal" and "going away" (a closed
# tab); 4000-4999 are for applications.
CLOSE_LEFT: Final = 1000
CLOSE_GOING_AWAY: Final = 1001
CLOSE_POLICY: Final = 1008  # repeated abuse, or a client that stopped reading
# Sent by the server only: a frame over four times max_message_bytes (RFC 6455 "message
# too big"); clients treat it like any other drop.
CLOSE_TOO_BIG: Final = 1009
CLOSE_REPLACED: Final = 4000  # the peer resumed on a newer socket
CLOSE_DROPPED: Final = 4001  # a client's deliberate "network failure": the server keeps its peer
CLOSE_REMOVED: Final = 4002  # a host removed the peer (the reason says who, and for how long)
CLOSE_ENDED: Final = 4003  # a host ended the call for everyone
CLOSE_DENIED: Final = 4004  # a host did not let the peer in from the lobby
# The client left on purpose: its peer leaves at once, with no grace window.
CLEAN_CLOSE_CODES: Final = frozenset({CLOSE_LEFT, CLOSE_GOING_AWAY})
# After these a client does not reconnect: it would be refused or replace itself again.
FINAL_CLOSE_CODES: Final = frozenset(
    {CLOSE_POLICY, CLOSE_REPLACED, CLOSE_REMOVED, CLOSE_ENDED, CLOSE_DENIED}
)

# The one reconnect policy (docs/protocol.md): wait RECONNECT_FIRST_DELAY after a drop,
# double after each failed attempt up to RECONNECT_MAX_DELAY, start over after a welcome.
RECONNECT_FIRST_DELAY: Final = 0.5  # seconds
RECONNECT_MAX_DELAY: Final = 8.0  # seconds


@dataclass(frozen=True)
class Limits:
    """What the server enforces; the first five are announced in ``welcome``."""

    max_peers_per_room: int = 8
    max_message_bytes: int = 64 * 1024
    messages_per_second: float = 500.0
    message_burst: int = 1000
    reconnect_grace_seconds: float = 15.0
    max_pending_messages: int = 256
    max_violations: int = 50
    max_sockets_per_user: int = 32
    max_sockets_per_address: int = 256
    max_queued_bytes: int = 1024 * 1024
    send_timeout_seconds: float = 10.0
    joins_per_minute: float = 6.0
    join_burst: int = 3

    def public(self) -> dict[str, Any]:
        """The limits a client paces itself by, as ``welcome`` carries them."""
        return {
            "max_peers_per_room": self.max_peers_per_room,
            "max_message_bytes": self.max_message_bytes,
            "messages_per_second": self.messages_per_second,
            "message_burst": self.message_burst,
            "reconnect_grace_seconds": self.reconnect_grace_seconds,
        }


DEFAULT_LIMITS: Final = Limits()


def valid_room(room: object) -> bool:
    """True for room names of 1-64 characters from ``[A-Za-z0-9._~-]``."""
    return isinstance(room, str) and ROOM_PATTERN.fullmatch(room) is not None


def owner_tag(username: str) -> str:
    """The part of a room name that names its owner: ``username`` in room-name
    characters, one name to one tag (``_`` and any other character escape as ``_`` and two
    hex digits, or ``_u`` and six), and for a long name its start and a hash."""
    tag = "".join(_tag_char(char) for char in username)
    if len(tag) <= OWNER_TAG_CHARS:
        return tag
    digest = hashlib.sha256(username.encode()).hexdigest()
    return f"{tag[: OWNER_TAG_CHARS - 9]}_{digest[:8]}"


def _tag_char(char: str) -> str:
    if char.isascii() and (char.isalnum() or char in ".-"):
        return char
    code = ord(char)
    return f"_{code:02x}" if code < 0x100 else f"_u{code:06x}"


def room_owner_tag(room: str) -> str | None:
    """The owner tag of a user's room (``"<tag>~<name>"``), or None for other rooms."""
    tag, mark, _ = room.partition(OWNER_MARK)
    return tag if mark and tag else None
