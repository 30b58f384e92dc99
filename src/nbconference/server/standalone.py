"""``nbconference serve``: the same signaling without Jupyter, for pages that have no
Jupyter server of ours (VS Code, Colab). Widgets reach it through ``signaling_url``.

Authentication is a token (``?token=`` or ``Authorization: token ...``), never a cookie,
so a page of any origin may connect once it holds the token; ``allow_origin`` narrows
that further where the pages' origins are known. The token is at least
:data:`MIN_TOKEN_CHARS` long, and the access log shows ``token=[secret]`` in its place.

With a certificate and key it serves ``wss://`` itself: a page served over HTTPS may only
open secure WebSockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import re
import secrets
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tornado.web
from tornado.websocket import WebSocketClosedError

from ..client.local import proof
from ..protocol import CLOSE_DROPPED, HUB_LOGIN_PATH, PROTOCOL_VERSION, SIGNAL_PATH
from .collector import Collector
from .config import SignalingSettings
from .connection import SignalingConnection
from .guarded_http import GuardedHTTPServer
from .hub import CALLBACK_PATH, HubMisconfigured, HubOwnedRooms, HubService
from .janus.own import start_janus
from .janus.supervisor import JanusProcess
from .keepalive import KeepAlive
from .rooms import RoomRegistry
from .runtime_file import remove_runtime_file, write_runtime_file

log = logging.getLogger("nbconference")

MIN_TOKEN_CHARS = 16
# A socket whose client vanished without a goodbye is closed 10-20 s later.
PING_INTERVAL_SECONDS = 10.0
_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&#]*", re.IGNORECASE)
# No request of ours has a body: anything past this closes the connection.
MAX_BODY_BYTES = 4096
# A status request's nonce: long enough to be fresh, short enough to cost nothing.
_NONCE = re.compile(r"[0-9A-Za-z_-]{16,128}")


ROOM_ACCESS_NEEDS_IDENTITIES = (
    "room_access needs identities, and this server has none: its token says only that a "
    "client may join, not who it is, so no rule could name anyone. Set room_access where "
    "each connection is a signed-in user: the Jupyter extension (c.NBConference.room_access), "
    "or nbconference serve as a JupyterHub service (docs/deployment.md)"
)


def check_host_token(host_token: str | None, token: str, hub: HubService | None) -> None:
    """ValueError unless ``host_token`` (None: none) may be this server's host token: as
    long as a token, and not the token itself; never for a Hub service, whose sockets
    are people and whose hosts come from room_access."""
    if host_token is None:
        return
    if hub is not None:
        raise ValueError(
            "a host token is not for a JupyterHub service: the Hub says who each socket "
            "is, and room_access names the hosts (docs/deployment.md)"
        )
    if len(host_token) < MIN_TOKEN_CHARS:
        raise ValueError(
            f"the host token must be at least {MIN_TOKEN_CHARS} characters long "
            f"(it has {len(host_token)})"
        )
    if token_matches(host_token, token):
        raise ValueError("the host token must differ from the token, or everyone is a host")


def refuse_room_access(settings: SignalingSettings) -> None:
    """ValueError if ``settings`` has ``room_access`` rules: a server of tokens (not a
    Hub service) knows nobody."""
    if settings.room_access:
        raise ValueError(ROOM_ACCESS_NEEDS_IDENTITIES)


def scrub_token(uri: str) -> str:
    """``uri`` with the value of any ``token`` query argument replaced by ``[secret]``."""
    return _TOKEN_IN_QUERY.sub(r"\1[secret]", uri)


def presented_token(handler: tornado.web.RequestHandler, query: bool = True) -> str:
    """The token a request shows: ``Authorization: token ...``, else (if ``query``) the
    ``token`` query argument."""
    header = handler.request.headers.get("Authorization", "")
    if header.lower().startswith("token "):
        return header[6:].strip()
    return handler.get_query_argument("token", "") if query else ""


def token_matches(presented: str, token: str) -> bool:
    return hmac.compare_digest(presented.encode(), token.encode())


class ScrubbedLog:
    """Access and error log lines that never show a token (as jupyter_server's do not)."""

    request: Any

    def _request_summary(self) -> str:
        request = self.request
        return f"{request.method} {scrub_token(request.uri)} ({request.remote_ip})"


class StandaloneSignalingHandler(ScrubbedLog, SignalingConnection):
    """A socket that shows the token; one that shows the host token instead (when the
    server has one) hosts every room it joins or names (docs/protocol.md, "Hosts")."""

    token: str
    host_token_value: str
    allow_origin: re.Pattern[str] | None
    pinger: KeepAlive
    _answered = True
    _host = False

    def initialize(  # type: ignore[override]
        self,
        registry: RoomRegistry,
        token: str,
        allow_origin: re.Pattern[str] | None,
        pinger: KeepAlive,
        host_token: str = "",
    ) -> None:
        super().initialize(registry)
        self.token = token
        self.host_token_value = host_token
        self.allow_origin = allow_origin
        self.pinger = pinger

    def open(self, *args: Any, **kwargs: Any) -> Any:
        self.pinger.sockets.add(self)
        # The handshake's headers are not needed again, and an idle socket would keep
        # them for its whole life (a browser's are a kilobyte or two).
        self.request.headers.clear()
        return super().open(*args, **kwargs)

    def on_pong(self, data: bytes) -> None:
        self._answered = True

    def keepalive(self) -> None:
        if not self._answered:
            # A drop, not a goodbye (which 1000 would say): the peer keeps its place for
            # the grace window and may resume.
            self.close(CLOSE_DROPPED, "ping timed out")
            return
        self._answered = False
        with contextlib.suppress(WebSocketClosedError):
            self.ping()

    def on_close(self) -> None:
        self.pinger.sockets.discard(self)
        super().on_close()

    def check_origin(self, origin: str) -> bool:
        # Token auth carries no ambient credential, so any origin holding it may connect.
        return self.allow_origin is None or self.allow_origin.fullmatch(origin) is not None

    async def get(self, *args: Any, **kwargs: Any) -> None:
        presented = presented_token(self)
        if self.host_token_value and token_matches(presented, self.host_token_value):
            self._host = True
        elif not token_matches(presented, self.token):
            raise tornado.web.HTTPError(403, "missing or wrong token")
        await self.enter(*args, **kwargs)

    def host_token(self) -> bool:
        return self._host

    async def enter(self, *args: Any, **kwargs: Any) -> None:
        """Open the socket of a request already authenticated."""
        guard = self.settings.get("connection_guard")
        if guard is not None:
            guard.admit(self.request)
        self.admit()
        await super().get(*args, **kwargs)


class StatusHandler(ScrubbedLog, tornado.web.RequestHandler):
    """``GET /``: what this server is, for anyone. To ``GET /?nonce=NONCE`` it adds its pid
    and the nonce's HMAC under its token (:func:`nbconference.client.local.proof`): so a
    client reading a runtime file can check that the server there is the one the file
    describes, without sending the token to whoever listens on that port now. A request
    with the token in ``Authorization: token ...`` learns the pid too."""

    def initialize(self, token: str) -> None:
        self.token = token

    def get(self) -> None:
        status: dict[str, Any] = {"nbconference": "signaling", "protocol": PROTOCOL_VERSION}
        nonce = self.get_query_argument("nonce", "")
        if _NONCE.fullmatch(nonce):
            status["pid"] = os.getpid()
            status["proof"] = proof(self.token, nonce)
        elif token_matches(presented_token(self, query=False), self.token):
            status["pid"] = os.getpid()
        self.write(status)


class NotFoundHandler(ScrubbedLog, tornado.web.ErrorHandler):
    """Any other path: 404, logged without its token."""


@dataclass
class StandaloneServer:
    """A running standalone signaling server; ``url`` is what widgets put in ``signaling_url``."""

    registry: RoomRegistry
    server: Any
    host: str
    port: int
    token: str
    secure: bool = False
    pinger: KeepAlive | None = None
    janus: JanusProcess | None = None
    hub: HubService | None = None
    collector: Collector | None = None

    @property
    def url(self) -> str:
        scheme = "wss" if self.secure else "ws"
        path = self.hub.prefix if self.hub else "/"
        return f"{scheme}://{self.host}:{self.port}{path}{SIGNAL_PATH}"

    async def stop(self) -> None:
        if self.pinger is not None:
            self.pinger.stop()
        if self.collector is not None:
            self.collector.stop()
        self.server.stop()
        await self.registry.stop()
        await self.server.close_all_connections()
        if self.registry.sfu is not None:
            await self.registry.sfu.close()
        if self.janus is not None:
            await self.janus.stop()


async def start_server(
    settings: SignalingSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    allow_origin: str | None = None,
    tls: ssl.SSLContext | None = None,
    ping_interval: float = PING_INTERVAL_SECONDS,
    hub: HubService | None = None,
    host_token: str | None = None,
) -> StandaloneServer:
    """Start the standalone signaling server on the running event loop (``wss://`` with
    ``tls``, see :func:`tls_context`). Every ``ping_interval`` seconds each socket is
    pinged, and closed if it did not answer the previous ping.

    ``host_token``, a second token, makes the sockets that show it hosts of every room
    (this server knows nobody, so nobody else can be told to be a host).

    With ``hub``, it is that JupyterHub service (see :mod:`.hub`): it listens where the
    Hub says, under the service's prefix, and the Hub authenticates every socket (no
    token of its own)."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ValueError(
            f"the token must be at least {MIN_TOKEN_CHARS} characters long "
            f"(it has {len(token)}); 'python -c \"import secrets; "
            f"print(secrets.token_urlsafe(24))\"' makes a good one"
        )
    settings = settings or SignalingSettings()
    if hub is None:
        refuse_room_access(settings)
    token = token or secrets.token_urlsafe(24)
    check_host_token(host_token, token, hub)
    origin_pattern = re.compile(allow_origin) if allow_origin else None
    owned = HubOwnedRooms(hub.api_url, hub.api_token) if hub is not None else None
    registry = settings.make_registry(owned=owned)
    # Its replicas share one Redis that only they hold: they act on each other's host
    # events (a Jupyter server sharing Redis with users' servers does not: hosts_across.py).
    registry.trusts_other_servers = True
    await registry.start()
    pinger = KeepAlive(ping_interval)
    handler_args = {
        "registry": registry,
        "token": token,
        "allow_origin": origin_pattern,
        "pinger": pinger,
        "host_token": host_token or "",
    }
    if hub is None:
        routes: list[Any] = [
            (f"/{SIGNAL_PATH}", StandaloneSignalingHandler, handler_args),
            (r"/", StatusHandler, {"token": token}),
        ]
        app_settings: dict[str, Any] = {}
    else:
        routes, app_settings = _hub_routes(hub, handler_args, token)
        host, port = hub.host, hub.port
    app = tornado.web.Application(
        routes,
        default_handler_class=NotFoundHandler,
        default_handler_args={"status_code": 404},
        **app_settings,
    )
    server = GuardedHTTPServer(
        app,
        xheaders=False,
        ssl_options=tls,
        idle_connection_timeout=settings.header_timeout_seconds,
        body_timeout=settings.header_timeout_seconds,
        max_header_size=settings.max_header_bytes,
        max_body_size=MAX_BODY_BYTES,
    )
    server.max_pending_per_address = settings.max_pending_per_address
    app.settings["connection_guard"] = server
    server.listen(port, address=host)
    if port == 0:
        port = next(iter(server._sockets.values())).getsockname()[1]
    try:
        janus = await start_janus(registry, settings)
    except BaseException:
        server.stop()
        await registry.stop()
        raise
    pinger.start()
    # Settled sockets' objects out of the collector's way (collector.py).
    collector = Collector(pinger.sockets)
    collector.start()
    secure = tls is not None
    return StandaloneServer(
        registry, server, host, port, token, secure, pinger, janus, hub, collector
    )


def _hub_routes(
    hub: HubService, handler_args: dict[str, Any], token: str
) -> tuple[list[Any], dict[str, Any]]:
    """The Hub service's routes, under its prefix, and the application settings they
    need (the cookie secret of the OAuth state and of the service's cookie)."""
    try:
        from .hub_handlers import (
            HubCallbackHandler,
            HubLoginHandler,
            HubSignalingHandler,
            make_hub_auth,
        )
    except ImportError as missing:
        raise HubMisconfigured(
            "nbconference serve is a JupyterHub service here (JUPYTERHUB_SERVICE_NAME is "
            f"set), and that needs the jupyterhub package ({missing}): "
            "pip install 'nbconference[hub]'"
        ) from None
    auth = {"hub_auth": make_hub_auth()}
    socket_args = {key: handler_args[key] for key in ("registry", "pinger")}
    prefix = hub.prefix
    routes = [
        (f"{prefix}{SIGNAL_PATH}", HubSignalingHandler, {**socket_args, **auth}),
        (f"{prefix}{HUB_LOGIN_PATH}", HubLoginHandler, auth),
        (f"{prefix}{CALLBACK_PATH}", HubCallbackHandler, auth),
        (prefix, StatusHandler, {"token": token}),
    ]
    return routes, {"cookie_secret": hub.cookie_secret}


def tls_context(certfile: str, keyfile: str | None = None) -> ssl.SSLContext:
    """A server TLS context from PEM files; OSError or ssl.SSLError says what is wrong."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


async def serve_forever(
    runtime_file: Path | None = None,
    idle_exit: float = 0.0,
    token_shown: bool = True,
    **kwargs: Any,
) -> None:
    """Run the server until cancelled, or until it has had no socket open for
    ``idle_exit`` seconds (0: never). ``runtime_file`` is written once it listens and
    removed when it stops, if it still describes this process."""
    running = await start_server(**kwargs)
    if running.hub is not None:
        print(
            f"nbconference signaling for JupyterHub at {running.hub.prefix}{SIGNAL_PATH} "
            f"(service {running.hub.name!r}, listening on {running.host}:{running.port})",
            flush=True,
        )
    else:
        print(f"nbconference signaling on {running.url}", flush=True)
        if token_shown:
            print(f"token: {running.token}", flush=True)
    try:
        if runtime_file is not None:
            write_runtime_file(runtime_file, running.port, running.url, running.token)
        await _until_idle(running.registry, idle_exit)
    finally:
        if runtime_file is not None:
            remove_runtime_file(runtime_file)
        await running.stop()


async def _until_idle(registry: RoomRegistry, idle_exit: float) -> None:
    if idle_exit <= 0:
        await asyncio.Event().wait()
    sockets = registry.sockets
    while True:
        idle = time.monotonic() - sockets.idle_since if sockets.total == 0 else 0.0
        if idle >= idle_exit:
            log.info("nbconference: exiting after %.1f s idle (--idle-exit)", idle)
            return
        await asyncio.sleep(min(1.0, idle_exit - idle))
