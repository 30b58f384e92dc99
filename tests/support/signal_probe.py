"""Ask a signaling server who is in a room, by joining it for a moment as a probe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import websocket


def room_members(
    url: str, token: str, room: str, timeout: float = 10.0, cafile: Path | None = None
) -> list[dict[str, Any]]:
    """The peers the server lists in ``room`` (from its ``welcome``), the probe aside;
    ``cafile`` is the certificate to trust for ``wss://``.

    The probe leaves at once with a clean close, so the room sees it come and go.
    """
    tls = {"ca_certs": str(cafile)} if cafile else None
    socket = websocket.create_connection(f"{url}?token={token}", timeout=timeout, sslopt=tls)
    try:
        socket.send(json.dumps({"type": "join", "room": room, "name": "probe"}))
        while True:
            frame = json.loads(socket.recv())
            if frame.get("type") == "welcome":
                break
            if frame.get("type") == "error":
                raise AssertionError(f"probe refused: {frame}")
        socket.send(json.dumps({"type": "leave"}))
        peers: list[dict[str, Any]] = frame["peers"]
        return peers
    finally:
        socket.close(status=1000)
