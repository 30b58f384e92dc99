"""The kernel as a conference peer: :class:`KernelPeer` and what it hands to Python.

What a kernel peer and a recorder share, joining and the room, is a
:class:`Participant` (``participant``; its ``peers`` are records as the widget's,
``roster``). One aiortc connection per remote peer (``link``), the room as our media
sees it (``mesh``), received media for iterators and callbacks (``receiving``) and the
video it sends (``publishing``); :class:`Recorder` records a room (``recorder``,
``recording``).
Needs the ``kernel-peer`` extra (aiortc, numpy).
"""

from ..client.socket import SignalingError
from .kernel_peer import KernelPeer, PeerAudio, PeerFrame
from .mesh import RemotePeer
from .participant import Participant
from .recorder import Recorder
from .roster import PeerRecord

__all__ = [
    "KernelPeer",
    "Participant",
    "PeerAudio",
    "PeerFrame",
    "PeerRecord",
    "Recorder",
    "RemotePeer",
    "SignalingError",
]
