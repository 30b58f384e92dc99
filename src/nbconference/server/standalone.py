"""``nbconference serve``: the same signaling without Jupyter, for pages that have no
Jupyter server of ours (VS Code, Colab). Widgets reach it through ``signaling_url``.

Authentication is a token (``?token=`` or ``Authorization: token ...``), never a cookie,
so a page of any origin may connect once it holds the token; ``allow_origin`` narrows
that further where the pages' origins are known.

With a certificate and key it serves ``wss://`` itself: a page served over HTTPS may only
open secure WebSockets.

As a user's local stand-in for a Jupyter server without the extension (see
``nbconference.client.local``), it writes a runtime file saying where it listens and exits
by itself once idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import secrets
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tornado.web

from ..protocol import PROTOCOL_VERSION, SIGNAL_PATH
from .config import SignalingSettings
from .connection import SignalingConnection
from .rooms import RoomRegistry

log = logging.getLogger("nbconference")


@dataclass
class Activity:
    """Open sockets, and since when there have been none (for exiting once idle)."""

    sockets: int = 0
    idle_since: float = field(default_factory=time.monotonic)

    def opened(self) -> None:
        self.sockets += 1

    def closed(self) -> None:
        self.sockets -= 1
        if self.sockets == 0:
            self.idle_since = time.monotonic()

    def idle_for(self) -> float:
        return 0.0 if self.sockets else time.monotonic() - self.idle_since


def presented_token(handler: tornado.web.RequestHandler) -> str:
    """The token a request shows: ``Authorization: token ...`` or ``?token=``."""
    header = handler.request.headers.get("Authorization", "")
    if header.lower().startswith("token "):
        return header[6:].strip()
    return handler.get_query_argument("token", "")


def token_matches(handler: tornado.web.RequestHandler, token: str) -> bool:
    return hmac.compare_digest(presented_token(handler).encode(), token.encode())


class StandaloneSignalingHandler(SignalingConnection):
    token: str
    allow_origin: re.Pattern[str] | None
    activity: Activity

    def initialize(  # type: ignore[override]
        self,
        registry: RoomRegistry,
        token: str,
        allow_origin: re.Pattern[str] | None,
        activity: Activity,
    ) -> None:
        super().initialize(registry)
        self.token = token
        self.allow_origin = allow_origin
        self.activity = activity
        self._counted = False

    def check_origin(self, origin: str) -> bool:
        # Token auth carries no ambient credential, so any origin holding it may connect.
        return self.allow_origin is None or self.allow_origin.fullmatch(origin) is not None

    async def get(self, *args: Any, **kwargs: Any) -> None:
        if not token_matches(self, self.token):
            raise tornado.web.HTTPError(403, "missing or wrong token")
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> Any:
        self._counted = True
        self.activity.opened()
        return super().open(*args, **kwargs)

    def on_close(self) -> None:
        if self._counted:
            self._counted = False
            self.activity.closed()
        super().on_close()


class StatusHandler(tornado.web.RequestHandler):
    """``GET /``: what this is. A request with the server's token also learns its pid,
    which is how a client checks that a runtime file names this very server."""

    def initialize(self, token: str) -> None:
        self.token = token

    def get(self) -> None:
        status: dict[str, Any] = {"nbconference": "signaling", "protocol": PROTOCOL_VERSION}
        if token_matches(self, self.token):
            status["pid"] = os.getpid()
        self.write(status)


@dataclass
class StandaloneServer:
    """A running standalone signaling server; ``url`` is what widgets put in ``signaling_url``."""

    registry: RoomRegistry
    server: Any
    host: str
    port: int
    token: str
    secure: bool = False
    activity: Activity = field(default_factory=Activity)

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
    runtime_file: Path | None = None,
) -> StandaloneServer:
    """Start the standalone signaling server on the running event loop (``wss://`` with
    ``tls``, see :func:`tls_context`); once it listens, ``runtime_file`` says where."""
    settings = settings or SignalingSettings()
    registry = settings.make_registry()
    await registry.start()
    token = token or secrets.token_urlsafe(24)
    origin_pattern = re.compile(allow_origin) if allow_origin else None
    activity = Activity()
    app = tornado.web.Application(
        [
            (
                f"/{SIGNAL_PATH}",
                StandaloneSignalingHandler,
                {
                    "registry": registry,
                    "token": token,
                    "allow_origin": origin_pattern,
                    "activity": activity,
                },
            ),
            (r"/", StatusHandler, {"token": token}),
        ],
        websocket_ping_interval=10,
        websocket_ping_timeout=10,
    )
    server = app.listen(port, address=host, xheaders=False, ssl_options=tls)
    if port == 0:
        port = next(iter(server._sockets.values())).getsockname()[1]
    running = StandaloneServer(registry, server, host, port, token, tls is not None, activity)
    if runtime_file is not None:
        write_runtime_file(runtime_file, running)
    return running


def write_runtime_file(path: Path, running: StandaloneServer) -> None:
    """Say where ``running`` listens and its token, readable by this user only, in one
    atomic step (a reader never sees half a file)."""
    info = {"pid": os.getpid(), "port": running.port, "url": running.url, "token": running.token}
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(info, file)
    os.replace(partial, path)


def remove_runtime_file(path: Path) -> None:
    """Remove ``path`` if it still names this process (a newer server may have replaced it)."""
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def tls_context(certfile: str, keyfile: str | None = None) -> ssl.SSLContext:
    """A server TLS context from PEM files; OSError or ssl.SSLError says what is wrong."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


async def serve_forever(idle_exit: float = 0.0, **kwargs: Any) -> None:
    """Serve until cancelled, or, with ``idle_exit``, until no socket has been open for
    that many seconds."""
    running = await start_server(**kwargs)
    print(f"nbconference signaling on {running.url}", flush=True)
    if kwargs.get("runtime_file") is None:
        print(f"token: {running.token}", flush=True)
    try:
        if idle_exit > 0:
            while running.activity.idle_for() < idle_exit:
                await asyncio.sleep(min(1.0, idle_exit / 4))
            log.info("nbconference: no sockets for %g s: exiting", idle_exit)
        else:
            await asyncio.Event().wait()
    finally:
        if kwargs.get("runtime_file") is not None:
            remove_runtime_file(kwargs["runtime_file"])
        await running.stop()
