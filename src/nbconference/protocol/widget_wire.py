"""The widget's own wire: the comm messages between a ``ConferenceWidget`` (widget.py) and
each browser that shows it (js/bridge.js), the record a browser reports of itself
(js/snapshot.js ``viewerRecordOf``, read by viewers.py), and where the kernel tells the
browsers to join (client/plan.py, widget.py).

``js/protocol/widget-wire.js`` holds the same names; the contract test compares the
two, and checks the records the JS code really makes against the field lists here.
"""

from __future__ import annotations

from typing import Final


class ToKernel:
    """The ``type`` of each message a browser sends its kernel (TO_KERNEL in js)."""

    HELLO: Final = "hello"
    VIEWER: Final = "viewer"
    STATS: Final = "stats"
    GONE: Final = "viewer-gone"
    VIEWER_LEFT: Final = "viewer-left"
    CHAT: Final = "chat"
    DIAGNOSIS: Final = "diagnosis"  # a fresh diagnosis of this browser (``report``)


class FromKernel:
    """The ``command`` of each message the kernel sends the browsers (FROM_KERNEL in js)."""

    LEAVE: Final = "leave"
    JOIN: Final = "join"
    CAMERA: Final = "camera"
    MICROPHONE: Final = "microphone"
    SIGNALING: Final = "signaling"
    RECEIVE_VIDEO: Final = "receive-video"
    DIAGNOSE: Final = "diagnose"  # run a diagnosis, answer with a ``diagnosis`` message
    # A camera by label or id (``device``), under the same consent as CAMERA.
    CAMERA_DEVICE: Final = "camera-device"
    # For the one viewer named in ``via``.
    CHAT: Final = "chat"
    LOWER_HAND: Final = "lower-hand"


class SignalingMode:
    """The ``mode`` of a ``signaling`` command: where the browsers join."""

    PENDING: Final = "pending"  # the kernel is still finding out: the page's server for now
    SERVER: Final = "server"  # the page's Jupyter server has the endpoint
    LOCAL: Final = "local"  # this user's local server (``url`` with ``token``)
    UNKNOWN: Final = "unknown"  # the kernel cannot tell: the page tries its own server
    GIVEN: Final = "given"  # the widget's ``signaling_url``
    HUB: Final = "hub"  # the Hub's nbconference service, at the path prefix ``url``


SIGNALING_MODES: Final = (
    SignalingMode.PENDING,
    SignalingMode.SERVER,
    SignalingMode.LOCAL,
    SignalingMode.UNKNOWN,
    SignalingMode.GIVEN,
    SignalingMode.HUB,
)

# A person as a browser reports one: itself, or a peer it is linked to.
PERSON_FIELDS: Final = (
    "id",
    "name",
    "username",
    "initials",
    "color",
    "avatar_url",
    "verified",
    "groups",
    "camera",
    "microphone",
    "screen",
    "hand",
    "host",  # the server made them a host of the room (docs/protocol.md, "Hosts")
)
# What a browser says of itself in a ``viewer`` message (``record``), field for field.
VIEWER_REPORT_FIELDS: Final = (
    *PERSON_FIELDS,
    "wanted_camera",
    "wanted_microphone",
    "receive_video",
    "status",
    "error",
    "media_error",
    "peers",
    "recorders",
    "timeline",
    "media",  # the plane of its call: "mesh", "sfu", or "" before it joins
    "devices",
    "lobby",  # a host's page: {locked, waiting} as the server shows it; None for others
    "breakout",  # {groups, group, ends_at} while a breakout of its room runs; None otherwise
)
# The steps of a join, in their expected order: a viewer report's ``timeline`` gives the
# epoch ms of each step reached (js/timeline.js). The camera is not on the path: a page
# joins receive-only and sends once its devices are up, so "media" may come anywhere
# after "rendered".
JOIN_PHASES: Final = ("cell", "rendered", "target", "media", "welcome", "offer", "ice", "frame")
# One entry of its ``peers``: a peer it is linked to (js/mesh.js ``peerTraits``).
ROSTER_ENTRY_FIELDS: Final = (*PERSON_FIELDS, "connection", "problem", "widget")
# One entry of its ``recorders``.
RECORDER_ENTRY_FIELDS: Final = ("id", "name")
# What a browser's ``diagnosis`` message says (``report``, js/diagnosis.js), field for
# field: when it finished (epoch s), secure context, permissions, devices, the signaling
# round trip, each TURN server's allocation, each link's route and quality, and a
# sentence of advice for each thing that fails.
DIAGNOSIS_FIELDS: Final = (
    "finished_at",
    "secure_context",
    "permissions",
    "devices",
    "signaling",
    "turn",
    "links",
    "advice",
)
