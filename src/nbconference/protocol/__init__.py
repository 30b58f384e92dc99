"""Signaling protocol v1: the one contract between browsers, Python peers and the server.

Every name of the wire format lives in this package, one job to a module:

- :mod:`.names`: version, endpoint path, frame types, kinds, state keys, patterns, close
  codes, the reconnect policy and the :class:`Limits`;
- :mod:`.errors`: the :class:`ErrorCode` enum and :class:`ProtocolError`;
- :mod:`.encoding`: the compact JSON encoder, the strict decoder and the depth check;
- :mod:`.text`: names and chat text as everyone sees them;
- :mod:`.client_frames`: what a client sends, the parser and the builders;
- :mod:`.server_frames`: what the server sends, and a peer's public record;
- :mod:`.chat`: chat and raised hands;
- :mod:`.hosts`: hosts and their requests; :mod:`.lobby`: the lobby of a locked room;
  :mod:`.breakout`: breakout rooms;
- :mod:`.view_channel`: what a receiver shows, between peers;
- :mod:`.widget_wire`: the widget's comm messages, viewer reports and signaling modes.

Frames are JSON text; the parser validates client frames but never looks inside SDP.
``js/protocol/`` has the same modules for the front end (``js/protocol.js`` re-exports
them; a test compares the two languages), and ``docs/protocol.md`` explains them. The
package needs only the standard library.

Client to server::

    {"type": "join", "room": "lab", "name": "Ada", "state": {...}, "resume": "<token>"?,
     "widget": "<tag>"?, "color": "<css colour>"?, "kind": "recorder"?}
    {"type": "signal", "to": "<peer id>", "data": {"description": {...}} | {"candidate": {...}}}
    {"type": "state", "state": {"camera": bool, "microphone": bool, "screen": bool}}
    {"type": "leave"}
    {"type": "chat", "text": "...", "from_code": true?}
    {"type": "lower-hand", "peer": "<peer id>"}
    {"type": "ping", "id": "<1-32 of A-Z a-z 0-9 _ ->"}
    {"type": "mute", "peer": "<peer id>", "microphone": bool, "camera": bool, ...}
    {"type": "remove", "peer": "<peer id>", "ban_minutes": 10, ...}
    {"type": "end-call", ...}
    {"type": "make-host", "peer": "<peer id>", ...}
    {"type": "lock", ...} / {"type": "unlock", ...}
    {"type": "admit", "peer": "<peer id>", ...} / {"type": "deny", "peer": "<peer id>", ...}
    {"type": "breakout", "groups": {"<name>": ["<peer id>", ...]} | "n_groups": 4,
     "minutes": 10, ...} / {"type": "end-breakout", ...} / {"type": "visit", "group": ""}

(a host's requests, each with an optional ``room`` and ``request`` id: :mod:`.hosts`,
the lobby's: :mod:`.lobby`, and breakout rooms': :mod:`.breakout`)

Server to client: ``welcome``, ``peer-joined``, ``peer-left``, ``peer-state``, ``signal``
(stamped with ``from``), ``chat``, ``ice-servers`` (fresh TURN credentials), ``pong``
(the answer to a ``ping``, at once, with its ``id``), ``hosts`` (the room's hosts
changed), ``muted`` (a host muted someone), ``done`` (a host's request took effect),
``waiting`` (to a newcomer of a locked room, who waits in the lobby), ``lobby`` (to the
room's hosts: who waits), ``moved`` (the server moved us to a breakout group or back),
``breakouts`` (the groups of a breakout and the time left) and ``error`` (with one of
:class:`ErrorCode`, ``peer`` when the error concerns one and ``request`` when it refuses
a host's request that carried an id).

A peer's public record (in ``welcome`` and ``peer-joined``) is stamped by the server::

    {"id": "<peer id>", "name": "Ada Lovelace", "state": {...},
     "user": {"username", "display_name", "initials", "avatar_url", "color"} | null,
     "color": "<css colour>" | null, "widget": "<tag>"?, "kind": "recorder"?,
     "host": true?}

``user`` is the authenticated Jupyter user (null where the server knows none, as with
``nbconference serve``: ``name`` is then only the client's label). A client cannot set it.
``widget`` tags the participants that view one and the same widget model. ``kind``
is present for participants that are not people (a ``recorder``) and cannot be changed.
``host`` is present (true) for the room's hosts; a ``hosts`` frame says when that changes.
"""

from __future__ import annotations

from .breakout import (
    BREAKOUT_CLIENT_TYPES,
    BREAKOUT_MARK,
    DEFAULT_BREAKOUT_MINUTES,
    GROUP_PATTERN,
    HELP_ENTRY_FIELDS,
    MAX_BREAKOUT_MINUTES,
    MAX_GROUPS,
    MIN_BREAKOUT_MINUTES,
    Breakout,
    BreakoutRequest,
    EndBreakout,
    Visit,
    breakout_message,
    breakout_room,
    breakouts_frame,
    end_breakout_message,
    help_entry,
    is_breakout_room,
    moved_frame,
    valid_group,
    valid_minutes,
    visit_message,
)
from .chat import (
    DEFAULT_CHAT_LIMITS,
    Chat,
    ChatLimits,
    LowerHand,
    chat_frame,
    chat_message,
    lower_hand_message,
)
from .client_frames import (
    ClientMessage,
    Join,
    Leave,
    Ping,
    Signal,
    State,
    join_message,
    leave_message,
    parse_client_message,
    ping_message,
    signal_message,
    state_message,
)
from .encoding import encode, utf8_size
from .errors import (
    ABUSE_CODES,
    ERROR_CODES,
    FATAL_JOIN_ERRORS,
    ErrorCode,
    ProtocolError,
    error_code,
)
from .hosts import (
    DEFAULT_BAN_MINUTES,
    HOST_CLIENT_TYPES,
    MAX_BAN_MINUTES,
    MUTE_DEVICES,
    EndCall,
    HostRequest,
    MakeHost,
    Mute,
    Remove,
    close_reason,
    done_frame,
    end_call_message,
    hosts_frame,
    make_host_message,
    mute_message,
    muted_frame,
    remove_message,
)
from .lobby import (
    LOBBY_CLIENT_TYPES,
    LOBBY_ENTRY_FIELDS,
    WAITING_MESSAGE,
    Admit,
    Deny,
    LobbyRequest,
    Lock,
    Unlock,
    admit_message,
    deny_message,
    lobby_entry,
    lobby_frame,
    lock_message,
    unlock_message,
    waiting_frame,
)
from .names import (
    CLEAN_CLOSE_CODES,
    CLOSE_DENIED,
    CLOSE_DROPPED,
    CLOSE_ENDED,
    CLOSE_GOING_AWAY,
    CLOSE_LEFT,
    CLOSE_POLICY,
    CLOSE_REMOVED,
    CLOSE_REPLACED,
    CLOSE_TOO_BIG,
    COLOR_PATTERN,
    DEFAULT_LIMITS,
    DEFAULT_NAME,
    FINAL_CLOSE_CODES,
    HUB_LOGIN_MESSAGE,
    HUB_LOGIN_PATH,
    ICE_TRANSPORT_ALL,
    ICE_TRANSPORT_POLICIES,
    ICE_TRANSPORT_RELAY,
    MAX_DEPTH,
    MAX_NAME_CHARS,
    MEDIA_MESH,
    MEDIA_PLANES,
    MEDIA_SFU,
    OWNER_MARK,
    PARTICIPANT_KIND,
    PEER_KINDS,
    PING_BURST,
    PING_ID_PATTERN,
    PINGS_PER_SECOND,
    PROTOCOL_VERSION,
    RECONNECT_FIRST_DELAY,
    RECONNECT_MAX_DELAY,
    RECORDER_KIND,
    ROOM_PATTERN,
    SIGNAL_PATH,
    STATE_KEYS,
    WIDGET_TAG_PATTERN,
    ClientFrame,
    Limits,
    ServerFrame,
    owner_tag,
    room_owner_tag,
    valid_room,
)
from .server_frames import (
    error_frame,
    ice_servers_frame,
    identity_stamp,
    media_frame,
    peer_joined_frame,
    peer_left_frame,
    peer_record,
    peer_state_frame,
    pong_frame,
    signal_frame,
    welcome_frame,
)
from .text import clean_chat_text, name_key, normalize_name
from .view_channel import (
    MAX_VIEW_HEIGHT,
    MAX_VIEW_MESSAGE,
    SCALE_STEPS,
    VIEW_CHANNEL,
    VIEW_REQUEST,
    ViewRequest,
    parse_view_request,
    scale_for,
    view_request,
)
from .widget_wire import (
    DIAGNOSIS_FIELDS,
    JOIN_PHASES,
    PERSON_FIELDS,
    RECORDER_ENTRY_FIELDS,
    ROSTER_ENTRY_FIELDS,
    SIGNALING_MODES,
    VIEWER_REPORT_FIELDS,
    FromKernel,
    SignalingMode,
    ToKernel,
)

__all__ = [
    "ABUSE_CODES",
    "BREAKOUT_CLIENT_TYPES",
    "BREAKOUT_MARK",
    "CLEAN_CLOSE_CODES",
    "CLOSE_DENIED",
    "CLOSE_DROPPED",
    "CLOSE_ENDED",
    "CLOSE_GOING_AWAY",
    "CLOSE_LEFT",
    "CLOSE_POLICY",
    "CLOSE_REMOVED",
    "CLOSE_REPLACED",
    "CLOSE_TOO_BIG",
    "COLOR_PATTERN",
    "DEFAULT_BAN_MINUTES",
    "DEFAULT_BREAKOUT_MINUTES",
    "DEFAULT_CHAT_LIMITS",
    "DEFAULT_LIMITS",
    "DEFAULT_NAME",
    "DIAGNOSIS_FIELDS",
    "ERROR_CODES",
    "FATAL_JOIN_ERRORS",
    "FINAL_CLOSE_CODES",
    "GROUP_PATTERN",
    "HELP_ENTRY_FIELDS",
    "HOST_CLIENT_TYPES",
    "HUB_LOGIN_MESSAGE",
    "HUB_LOGIN_PATH",
    "ICE_TRANSPORT_ALL",
    "ICE_TRANSPORT_POLICIES",
    "ICE_TRANSPORT_RELAY",
    "JOIN_PHASES",
    "LOBBY_CLIENT_TYPES",
    "LOBBY_ENTRY_FIELDS",
    "MAX_BAN_MINUTES",
    "MAX_BREAKOUT_MINUTES",
    "MAX_DEPTH",
    "MAX_GROUPS",
    "MAX_NAME_CHARS",
    "MAX_VIEW_HEIGHT",
    "MAX_VIEW_MESSAGE",
    "MEDIA_MESH",
    "MEDIA_PLANES",
    "MEDIA_SFU",
    "MIN_BREAKOUT_MINUTES",
    "MUTE_DEVICES",
    "OWNER_MARK",
    "PARTICIPANT_KIND",
    "PEER_KINDS",
    "PERSON_FIELDS",
    "PINGS_PER_SECOND",
    "PING_BURST",
    "PING_ID_PATTERN",
    "PROTOCOL_VERSION",
    "RECONNECT_FIRST_DELAY",
    "RECONNECT_MAX_DELAY",
    "RECORDER_ENTRY_FIELDS",
    "RECORDER_KIND",
    "ROOM_PATTERN",
    "ROSTER_ENTRY_FIELDS",
    "SCALE_STEPS",
    "SIGNALING_MODES",
    "SIGNAL_PATH",
    "STATE_KEYS",
    "VIEWER_REPORT_FIELDS",
    "VIEW_CHANNEL",
    "VIEW_REQUEST",
    "WAITING_MESSAGE",
    "WIDGET_TAG_PATTERN",
    "Admit",
    "Breakout",
    "BreakoutRequest",
    "Chat",
    "ChatLimits",
    "ClientFrame",
    "ClientMessage",
    "Deny",
    "EndBreakout",
    "EndCall",
    "ErrorCode",
    "FromKernel",
    "HostRequest",
    "Join",
    "Leave",
    "Limits",
    "LobbyRequest",
    "Lock",
    "LowerHand",
    "MakeHost",
    "Mute",
    "Ping",
    "ProtocolError",
    "Remove",
    "ServerFrame",
    "Signal",
    "SignalingMode",
    "State",
    "ToKernel",
    "Unlock",
    "ViewRequest",
    "Visit",
    "admit_message",
    "breakout_message",
    "breakout_room",
    "breakouts_frame",
    "chat_frame",
    "chat_message",
    "clean_chat_text",
    "close_reason",
    "deny_message",
    "done_frame",
    "encode",
    "end_breakout_message",
    "end_call_message",
    "error_code",
    "error_frame",
    "help_entry",
    "hosts_frame",
    "ice_servers_frame",
    "identity_stamp",
    "is_breakout_room",
    "join_message",
    "leave_message",
    "lobby_entry",
    "lobby_frame",
    "lock_message",
    "lower_hand_message",
    "make_host_message",
    "media_frame",
    "moved_frame",
    "mute_message",
    "muted_frame",
    "name_key",
    "normalize_name",
    "owner_tag",
    "parse_client_message",
    "parse_view_request",
    "peer_joined_frame",
    "peer_left_frame",
    "peer_record",
    "peer_state_frame",
    "ping_message",
    "pong_frame",
    "remove_message",
    "room_owner_tag",
    "scale_for",
    "signal_frame",
    "signal_message",
    "state_message",
    "unlock_message",
    "utf8_size",
    "valid_group",
    "valid_minutes",
    "valid_room",
    "view_request",
    "visit_message",
    "waiting_frame",
    "welcome_frame",
]
