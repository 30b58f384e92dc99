"""``nbconference serve``: the same signaling without Jupyter, for pages that have no
Jupyter server of ours (VS Code, Colab). Widgets reach it through ``signaling_url``.

Authentication is a token (``?token=`` or ``Authorization: token ...``), never a cookie,
so a page of any origin may connect once it holds the token; ``allow_origin`` narrows
that further where the pages' origins are known.

With a certificate and key it serves ``wss://`` itself: a page served over HTTPS may only
open secure WebSockets.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import secrets
import ssl
from dataclasses import dataclass
from typing import Any

import tornado.web

from ..protocol import PROTOCOL_VERSION, SIGNAL_PATH
from .config import SignalingSettings
from .connection import SignalingConnection
from .rooms import RoomRegistry

log = logging.getLogger("nbconference")


class StandaloneSignalingHandler(SignalingConnection):
    token: str
    allow_origin: re.Pattern[str] | None

    def initialize(  # type: ignore[override]
        self, registry: RoomRegistry, token: str, allow_origin: re.Pattern[str] | None
    ) -> None:
        super().initialize(registry)
        self.token = token
        self.allow_origin = allow_origin

    def check_origin(self, origin: str) -> bool:
        # Token auth carries no ambient credential, so any origin holding it may connect.
        return self.allow_origin is None or self.allow_origin.fullmatch(origin) is not None

    def _presented_token(self) -> str:
        header = self.request.headers.get("Authorization", "")
        if header.lower().startswith("token "):
            return header[6:].strip()
        return self.get_query_argument("token", "")

    async def get(self, *args: Any, **kwargs: Any) -> None:
        if not hmac.compare_digest(self._presented_token().encode(), self.token.encode()):
            raise tornado.web.HTTPError(403, "missing or wrong token")
        await super().get(*args, **kwargs)


class StatusHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write({"nbconference": "signaling", "protocol": PROTOCOL_VERSION})


@dataclass
class StandaloneServer:
    """A running standalone signaling server; ``url`` is what widgets put in ``signaling_url``."""

    registry: RoomRegistry
    server: Any
    host: str
    port: int
    token: str
    secure: bool = False

    @property
    def url(self) -> str:
        scheme = "wss" if self.secure else "ws"
        return f"{scheme}://{self.host}:{self.port}/{SIGNAL_PATH}"

    async def stop(self) -> None:
        self.server.stop()
        await self.registry.stop()
        await self.server.close_all_connections()


async def start_server(
    settings: SignalingSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    allow_origin: str | None = None,
    tls: ssl.SSLContext | None = None,
) -> StandaloneServer:
    """Start the standalone signaling server on the running event loop (``wss://`` with
    ``tls``, see :func:`tls_context`)."""
    settings = settings or SignalingSettings()
    registry = settings.make_registry()
    await registry.start()
    token = token or secrets.token_urlsafe(24)
    origin_pattern = re.compile(allow_origin) if allow_origin else None
    app = tornado.web.Application(
        [
            (
                f"/{SIGNAL_PATH}",
                StandaloneSignalingHandler,
                {"registry": registry, "token": token, "allow_origin": origin_pattern},
            ),
            (r"/", StatusHandler),
        ],
        websocket_ping_interval=10,
        websocket_ping_timeout=10,
    )
    server = app.listen(port, address=host, xheaders=False, ssl_options=tls)
    if port == 0:
        port = next(iter(server._sockets.values())).getsockname()[1]
    return StandaloneServer(registry, server, host, port, token, tls is not None)


def tls_context(certfile: str, keyfile: str | None = None) -> ssl.SSLContext:
    """A server TLS context from PEM files; OSError or ssl.SSLError says what is wrong."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


async def serve_forever(**kwargs: Any) -> None:
    running = await start_server(**kwargs)
    print(f"nbconference signaling on {running.url}", flush=True)
    print(f"token: {running.token}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await running.stop()
