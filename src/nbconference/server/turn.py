"""TURN credentials that expire: each peer gets its own, minted from a secret the TURN
server shares with us, and fresh ones before they run out.

This is the TURN REST API that coturn implements (``use-auth-secret``): the username is
``<unix expiry>:<peer id>`` and the password is ``base64(HMAC-SHA1(secret, username))``.
The TURN server checks both without asking us, so the secret never leaves the servers,
and a credential copied out of a page is worthless once it expires.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..protocol import ice_servers_frame
from .peer import Peer

# A renewal goes out when this share of a credential's lifetime has passed: the rest is
# slack for a socket that is slow to read it, or a page that is slow to apply it.
RENEW_AT = 0.8

TURN_URL = re.compile(
    r"(?P<scheme>turns?):(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?"
    r"(?:\?transport=(?P<transport>udp|tcp))?"
)


def check_turn_url(url: Any) -> str:
    """``url`` if it is a ``turn:`` or ``turns:`` URL a browser accepts, else ValueError
    saying what is wrong (a browser refuses the whole configuration over one bad URL)."""
    if not isinstance(url, str):
        raise ValueError(f"{url!r} is not a string")
    match = TURN_URL.fullmatch(url)
    if match is None:
        raise ValueError(
            f"{url!r} is not a TURN URL like turn:turn.example.org:3478?transport=udp "
            "or turns:turn.example.org:443?transport=tcp"
        )
    port = match["port"]
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(f"{url!r}: port {port} is out of range")
    if match["scheme"] == "turns" and match["transport"] == "udp":
        raise ValueError(f"{url!r}: turns: runs over TLS, so its transport is tcp")
    return url


def turn_password(secret: str, username: str) -> str:
    """The password coturn expects for ``username`` under ``static-auth-secret``."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class TurnSettings:
    """Where the TURN servers are, the secret they share with us, and how long a
    credential lives."""

    urls: tuple[str, ...]
    secret: str = field(repr=False)
    ttl_seconds: int = 3600

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError("no TURN URLs")
        for url in self.urls:
            check_turn_url(url)
        if not self.secret:
            raise ValueError("TURN URLs need the TURN server's shared secret")
        if self.ttl_seconds < 1:
            raise ValueError("a credential must live at least 1 second")

    def ice_server(self, peer_id: str, now: float | None = None) -> dict[str, Any]:
        """An RTCIceServer for ``peer_id``, valid ``ttl_seconds`` from ``now``."""
        expiry = int(time.time() if now is None else now) + self.ttl_seconds
        username = f"{expiry}:{peer_id}"
        return {
            "urls": list(self.urls),
            "username": username,
            "credential": turn_password(self.secret, username),
        }


class IceServers:
    """The ICE servers each peer is given: the deployment's own (``static``) and, with
    TURN settings, TURN credentials of its own that are renewed while it stays.

    ``send(peer, frame)`` hands a renewal to the peer's socket.
    """

    def __init__(
        self,
        static: list[dict[str, Any]],
        turn: TurnSettings | None,
        send: Callable[[Peer, bytes], None],
    ) -> None:
        self.static = static
        self.turn = turn
        self._send = send
        self._renewals: dict[str, asyncio.TimerHandle] = {}

    def for_peer(self, peer_id: str) -> list[dict[str, Any]]:
        """What ``peer_id`` gets now, in ``welcome`` or in a renewal."""
        if self.turn is None:
            return self.static
        return [*self.static, self.turn.ice_server(peer_id)]

    def keep_fresh(self, peer: Peer) -> None:
        """``peer`` was just given credentials: renew them before they expire."""
        if self.turn is None:
            return
        self.forget(peer.id)
        delay = self.turn.ttl_seconds * RENEW_AT
        loop = asyncio.get_running_loop()
        self._renewals[peer.id] = loop.call_later(delay, self._renew, peer)

    def _renew(self, peer: Peer) -> None:
        self._renewals.pop(peer.id, None)
        if peer.transport is None:
            # Away in its grace window: the welcome of its resume brings new ones.
            return
        self._send(peer, ice_servers_frame(self.for_peer(peer.id)).encode())
        self.keep_fresh(peer)

    def forget(self, peer_id: str) -> None:
        handle = self._renewals.pop(peer_id, None)
        if handle is not None:
            handle.cancel()

    def stop(self) -> None:
        for peer_id in list(self._renewals):
            self.forget(peer_id)


def turn_settings(urls: list[str], secret: str, ttl_seconds: int) -> TurnSettings | None:
    """The TURN settings of a deployment (None without ``urls``), checked together."""
    if not urls:
        if secret:
            raise ValueError("turn_secret is set but turn_urls is empty")
        return None
    if not secret:
        raise ValueError("turn_urls needs turn_secret (the TURN server's static-auth-secret)")
    return TurnSettings(tuple(urls), secret, ttl_seconds)


def has_turn(ice_servers: Sequence[Mapping[str, Any]], turn: TurnSettings | None) -> bool:
    """Whether a peer will have a TURN server to relay through."""
    if turn is not None:
        return True
    for server in ice_servers:
        urls = server.get("urls")
        for url in [urls] if isinstance(urls, str) else urls or []:
            if str(url).startswith("turn"):
                return True
    return False
