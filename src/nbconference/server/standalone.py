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
import errno
import hmac
import json
import logging
import os
import re
import secrets
import select
import socket
import ssl
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tornado.httputil
import tornado.web
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream
from tornado.websocket import WebSocketClosedError

from ..client.local import proof
from ..protocol import PROTOCOL_VERSION, SIGNAL_PATH
from .config import SignalingSettings
from .connection import SignalingConnection
from .keepalive import KeepAlive
from .rooms import RoomRegistry

log = logging.getLogger("nbconference")

MIN_TOKEN_CHARS = 16
# A socket whose client vanished without a goodbye is closed 10-20 s later.
PING_INTERVAL_SECONDS = 10.0
_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&#]*", re.IGNORECASE)
# No request of ours has a body: anything past this closes the connection.
MAX_BODY_BYTES = 4096
# Out of file descriptors with nothing to close: how long accepting pauses.
ACCEPT_PAUSE_SECONDS = 0.5
# How often, at most, the log says that connections were cut or accepts paused.
REPORT_INTERVAL_SECONDS = 10.0
# accept() errors that mean "no file descriptor or memory for one more socket now".
_OUT_OF_FILES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
# A status request's nonce: long enough to be fresh, short enough to cost nothing.
_NONCE = re.compile(r"[0-9A-Za-z_-]{16,128}")


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
    token: str
    allow_origin: re.Pattern[str] | None
    pinger: KeepAlive
    _answered = True

    def initialize(  # type: ignore[override]
        self,
        registry: RoomRegistry,
        token: str,
        allow_origin: re.Pattern[str] | None,
        pinger: KeepAlive,
    ) -> None:
        super().initialize(registry)
        self.token = token
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
            self.close(reason="ping timed out")
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
        if not token_matches(presented_token(self), self.token):
            raise tornado.web.HTTPError(403, "missing or wrong token")
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


class GuardedHTTPServer(HTTPServer):
    """The HTTP server of ``nbconference serve``, which holds out against clients that
    connect and never finish their request (slowloris).

    Every connection costs a file descriptor and buffers from the moment it is accepted,
    before it has shown the token. So: the request head must arrive within the
    ``idle_connection_timeout`` given (tornado's header timeout) and fit in
    ``max_header_size``; one address may hold at most :attr:`max_pending_per_address`
    connections whose handshake is not done, past which its oldest is closed; and when
    the process runs out of file descriptors, the oldest unfinished connection anywhere
    is closed to make room, or, with none, accepting pauses briefly rather than failing
    (and logging) on every attempt. Such events are logged once per interval.

    Accepting replaces tornado's ``add_accept_handler``, through TCPServer's ``_sockets``,
    ``_handlers`` and ``_handle_connection`` (tornado 6).
    """

    max_pending_per_address = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # tornado's Configurable calls initialize(); this runs after it.
        super().__init__(*args, **kwargs)
        # Connections whose handshake is not done, oldest first: all, and per address.
        self._pending: dict[IOStream, str] = {}
        self._pending_of: dict[str, dict[IOStream, None]] = {}
        self._cut = 0
        self._out_of_files = 0
        self._next_report = 0.0
        self._report_due: object = None

    def handle_stream(self, stream: IOStream, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else str(address)
        waiting = self._pending_of.setdefault(host, {})
        if self.max_pending_per_address > 0 and len(waiting) >= self.max_pending_per_address:
            self._cut_oldest(next(iter(waiting)))
        waiting[stream] = None
        self._pending[stream] = host
        super().handle_stream(stream, address)

    def on_close(self, server_conn: object) -> None:
        self._forget(getattr(server_conn, "stream", None))
        super().on_close(server_conn)

    def admit(self, request: tornado.httputil.HTTPServerRequest) -> None:
        """``request`` showed the token: its connection is no longer a stranger's."""
        self._forget(getattr(request.connection, "stream", None))

    def _forget(self, stream: IOStream | None) -> None:
        host = self._pending.pop(stream, None) if stream is not None else None
        if host is None:
            return
        waiting = self._pending_of.get(host, {})
        waiting.pop(stream, None)  # type: ignore[arg-type]
        if not waiting:
            self._pending_of.pop(host, None)

    def _cut_oldest(self, stream: IOStream | None = None) -> bool:
        """Close ``stream``, or the oldest unfinished connection; False if there is none."""
        if stream is None:
            if not self._pending:
                return False
            stream = next(iter(self._pending))
        self._forget(stream)
        stream.close()
        self._cut += 1
        self._report()
        return True

    def _report(self) -> None:
        """Log what was cut or refused now, or at the end of the current interval if a
        report went out less than one ago: one line per kind per interval at most."""
        now = time.monotonic()
        if now < self._next_report:
            if self._report_due is None:
                self._report_due = IOLoop.current().call_later(
                    self._next_report - now, self._report
                )
            return
        self._report_due = None
        self._next_report = now + REPORT_INTERVAL_SECONDS
        if self._out_of_files:
            log.warning(
                "nbconference: out of file descriptors (%s) at %d accepts: closed the "
                "oldest unfinished connections, or paused accepting; raise the open files "
                "limit (ulimit -n)",
                os.strerror(errno.EMFILE),
                self._out_of_files,
            )
        if self._cut:
            log.warning(
                "nbconference: closed %d connections that had not finished their handshake "
                "(too many at once from one address, or out of file descriptors)",
                self._cut,
            )
        self._out_of_files = self._cut = 0

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        for sock in sockets:
            self._sockets[sock.fileno()] = sock
            self._handlers[sock.fileno()] = self._accept_on(sock)

    def _accept_on(self, sock: socket.socket) -> Callable[[], None]:
        """tornado's add_accept_handler, except that running out of file descriptors
        neither escapes as an error nor leaves the socket readable for the loop to call
        again at once. Returns what stops accepting."""
        loop = IOLoop.current()
        stopped = False
        resume: object = None

        def accept(fd: socket.socket, events: int) -> None:
            nonlocal resume
            # At most a backlog's worth at a time, so other work is not starved.
            for _ in range(128):
                if stopped:
                    return
                try:
                    connection, address = sock.accept()
                except BlockingIOError:
                    return
                except ConnectionAbortedError:
                    continue
                except OSError as error:
                    if error.errno not in _OUT_OF_FILES:
                        raise
                    # Linux takes the descriptor before it looks for a connection:
                    # this may only mean that the last accept took the last one.
                    if not _readable(sock):
                        return
                    self._out_of_files += 1
                    if self._cut_oldest():
                        continue  # a descriptor is free again
                    self._report()
                    loop.remove_handler(sock)
                    resume = loop.call_later(ACCEPT_PAUSE_SECONDS, listen)
                    return
                self._handle_connection(connection, address)

        def listen() -> None:
            nonlocal resume
            resume = None
            if not stopped:
                loop.add_handler(sock, accept, IOLoop.READ)

        def stop() -> None:
            nonlocal stopped
            stopped = True
            if resume is not None:
                loop.remove_timeout(resume)
            loop.remove_handler(sock)

        listen()
        return stop


def _readable(sock: socket.socket) -> bool:
    """Whether a connection waits on listening ``sock`` (poll needs no new descriptor)."""
    if not hasattr(select, "poll"):  # Windows
        return bool(select.select([sock], [], [], 0)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


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

    @property
    def url(self) -> str:
        scheme = "wss" if self.secure else "ws"
        return f"{scheme}://{self.host}:{self.port}/{SIGNAL_PATH}"

    async def stop(self) -> None:
        if self.pinger is not None:
            self.pinger.stop()
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
    ping_interval: float = PING_INTERVAL_SECONDS,
) -> StandaloneServer:
    """Start the standalone signaling server on the running event loop (``wss://`` with
    ``tls``, see :func:`tls_context`). Every ``ping_interval`` seconds each socket is
    pinged, and closed if it did not answer the previous ping."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ValueError(
            f"the token must be at least {MIN_TOKEN_CHARS} characters long "
            f"(it has {len(token)}); 'python -c \"import secrets; "
            f"print(secrets.token_urlsafe(24))\"' makes a good one"
        )
    settings = settings or SignalingSettings()
    token = token or secrets.token_urlsafe(24)
    origin_pattern = re.compile(allow_origin) if allow_origin else None
    registry = settings.make_registry()
    await registry.start()
    pinger = KeepAlive(ping_interval)
    handler_args = {
        "registry": registry,
        "token": token,
        "allow_origin": origin_pattern,
        "pinger": pinger,
    }
    app = tornado.web.Application(
        [
            (f"/{SIGNAL_PATH}", StandaloneSignalingHandler, handler_args),
            (r"/", StatusHandler, {"token": token}),
        ],
        default_handler_class=NotFoundHandler,
        default_handler_args={"status_code": 404},
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
    pinger.start()
    return StandaloneServer(registry, server, host, port, token, tls is not None, pinger)


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
    print(f"nbconference signaling on {running.url}", flush=True)
    if token_shown:
        print(f"token: {running.token}", flush=True)
    try:
        if runtime_file is not None:
            write_runtime_file(runtime_file, running)
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


def write_runtime_file(path: Path, running: StandaloneServer) -> None:
    """Write ``{"pid", "port", "url", "token"}`` to ``path``, readable by its owner only.

    Written to a temporary file beside it and renamed, so a reader never sees half of it.
    """
    info = {"pid": os.getpid(), "port": running.port, "url": running.url, "token": running.token}
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(info, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def remove_runtime_file(path: Path) -> None:
    """Remove ``path`` unless another process has written its own description there."""
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass
