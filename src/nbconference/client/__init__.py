"""The Python side of signaling: one socket, a session that survives drops, and finding
the Jupyter server that runs this kernel.

Needs no aiortc, so the widget can use it without the ``kernel-peer`` extra.
"""

from .discovery import (
    SignalingEndpoint,
    find_kernel_server,
    find_signaling,
    running_servers,
    signaling_url,
)
from .session import SignalingSession
from .socket import SignalingError, SignalingSocket

__all__ = [
    "SignalingEndpoint",
    "SignalingError",
    "SignalingSession",
    "SignalingSocket",
    "find_kernel_server",
    "find_signaling",
    "running_servers",
    "signaling_url",
]
