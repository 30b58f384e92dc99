"""nbconference: a video conference that lives in a Jupyter notebook cell.

``ConferenceWidget`` is the widget; the signaling it needs runs as a Jupyter server
extension (enabled on install) or standalone with ``nbconference serve``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["ConferenceWidget", "KernelPeer", "NotHost", "Recorder", "__version__"]


def __getattr__(name: str) -> Any:
    # Imported lazily so the server extension does not load widget code and vice versa.
    if name == "ConferenceWidget":
        from .widget import ConferenceWidget

        return ConferenceWidget
    if name == "KernelPeer":
        from .peer import KernelPeer

        return KernelPeer
    if name == "Recorder":
        from .peer.recorder import Recorder

        return Recorder
    if name == "NotHost":
        from .client.hosting import NotHost

        return NotHost
    raise AttributeError(name)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import NBConference

    return [{"module": "nbconference", "app": NBConference}]
