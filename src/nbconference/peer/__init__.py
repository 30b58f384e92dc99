"""The kernel as a conference peer: :class:`KernelPeer` and what it hands to Python.

One aiortc connection per remote peer (``link``), the room as the peer sees it
(``mesh``), received media for iterators and callbacks (``receiving``) and the video it
sends (``publishing``); :class:`Recorder` records a room (``recorder``, ``recording``).
Needs the ``kernel-peer`` extra (aiortc, numpy).
"""

from ..client.socket import SignalingError
from .kernel_peer import KernelPeer, PeerAudio, PeerFrame
from .mesh import RemotePeer
from .recorder import Recorder

__all__ = ["KernelPeer", "PeerAudio", "PeerFrame", "Recorder", "RemotePeer", "SignalingError"]
