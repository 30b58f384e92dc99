"""The server's own client of Janus' JSON API, over its 127.0.0.1 WebSocket transport.

Requests are matched to answers by transaction id; events Janus pushes for a plugin handle
(``event``, ``webrtcup``, ``media``, ``hangup``, ...) go to that handle's queue. The client
adds the ``api_secret`` itself and keeps each session alive. It builds every request from
its own arguments: a browser's request is never forwarded as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from .config import PLUGIN_NAME, SUBPROTOCOL

log = logging.getLogger("nbconference.janus")

# Janus drops a session after session_timeout (60 s) without a request; keep well under.
KEEPALIVE_SECONDS = 25.0
REQUEST_TIMEOUT = 10.0

Message = dict[str, Any]


class JanusError(Exception):
    """Janus (or its VideoRoom plugin) refused a request: its code and reason."""

    def __init__(self, code: int, reason: str, request: str = "") -> None:
        self.code = code
        self.reason = reason
        self.request = request
        where = f" to {request!r}" if request else ""
        super().__init__(f"Janus refused the request{where}: {code} {reason}")


def _raise_for(reply: Message, request: str) -> Message:
    if reply.get("janus") == "error":
        error = reply.get("error") or {}
        raise JanusError(int(error.get("code", 0)), str(error.get("reason", "")), request)
    data = (reply.get("plugindata") or {}).get("data") or {}
    if "error_code" in data or "error" in data:
        raise JanusError(int(data.get("error_code", 0)), str(data.get("error", "")), request)
    return reply


class JanusClient:
    """One WebSocket connection to Janus. Use :meth:`connect`, then :meth:`create`."""

    def __init__(self, connection: WebSocketClientConnection, api_secret: str) -> None:
        self._connection = connection
        self._api_secret = api_secret
        self._pending: dict[str, asyncio.Queue[Message | BaseException]] = {}
        self._handles: dict[int, JanusHandle] = {}
        self._sessions: dict[int, JanusSession] = {}
        self._closed: BaseException | None = None
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(
        cls, url: str, api_secret: str, timeout: float = REQUEST_TIMEOUT
    ) -> JanusClient:
        """Open the WebSocket (subprotocol ``janus-protocol``) to ``url``."""
        request = HTTPRequest(url, connect_timeout=timeout, request_timeout=timeout)
        connection = await websocket_connect(request, subprotocols=[SUBPROTOCOL])
        return cls(connection, api_secret)

    @property
    def closed(self) -> bool:
        """The connection failed or was closed: make a new client."""
        return self._closed is not None

    async def close(self) -> None:
        """Stop keepalives and close the connection (Janus then drops its sessions)."""
        for session in list(self._sessions.values()):
            session._stop_keepalive()
        self._connection.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        self._fail_pending(ConnectionError("the Janus client was closed"))

    async def info(self) -> Message:
        """Janus' ``info`` answer (needs no session; proves the API answers)."""
        return await self.request({"janus": "info"})

    async def create(self) -> JanusSession:
        """A new Janus session, kept alive every ~25 s until destroyed or closed."""
        reply = await self.request({"janus": "create"})
        session = JanusSession(self, int(reply["data"]["id"]))
        self._sessions[session.id] = session
        return session

    async def request(self, body: Message, until_event: bool = False) -> Message:
        """Send ``body`` with a fresh transaction and the api_secret; return the answer.

        ``until_event``: an ``ack`` is not the answer; wait for the plugin's event with the
        same transaction (Janus' asynchronous plugin requests)."""
        if self._closed is not None:
            raise ConnectionError(f"the Janus connection is closed: {self._closed}")
        transaction = secrets.token_hex(8)
        message = {**body, "transaction": transaction, "apisecret": self._api_secret}
        # A queue, not a future: an ack and the event after it may arrive back to back.
        replies: asyncio.Queue[Message | BaseException] = asyncio.Queue()
        self._pending[transaction] = replies
        what = str(body.get("janus"))
        try:
            await self._connection.write_message(json.dumps(message))
            while True:
                reply = await asyncio.wait_for(replies.get(), REQUEST_TIMEOUT)
                if isinstance(reply, BaseException):
                    raise reply
                if reply.get("janus") == "ack" and until_event:
                    continue
                return _raise_for(reply, what)
        finally:
            self._pending.pop(transaction, None)

    async def _read(self) -> None:
        try:
            while True:
                text = await self._connection.read_message()
                if text is None:
                    raise ConnectionError("Janus closed the WebSocket")
                self._dispatch(json.loads(text))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._fail_pending(error)

    def _fail_pending(self, error: BaseException) -> None:
        self._closed = error
        for replies in self._pending.values():
            replies.put_nowait(error)
        for handle in self._handles.values():
            handle.events.put_nowait({"janus": "closed", "reason": str(error)})

    def _dispatch(self, message: Message) -> None:
        replies = self._pending.get(str(message.get("transaction", "")))
        if replies is not None:
            replies.put_nowait(message)
            return
        handle = self._handles.get(int(message.get("sender", 0) or 0))
        if handle is not None:
            handle.events.put_nowait(message)
        elif message.get("janus") == "timeout":
            log.warning("Janus: session %s timed out", message.get("session_id"))
        else:
            log.debug("Janus: unrouted %s", message)


class JanusSession:
    """A Janus session: attaches plugin handles; sends keepalives while it lives."""

    def __init__(self, client: JanusClient, session_id: int) -> None:
        self.client = client
        self.id = session_id
        self._keepalive = asyncio.ensure_future(self._keep_alive())

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            try:
                await self.client.request({"janus": "keepalive", "session_id": self.id})
            except (JanusError, ConnectionError, asyncio.TimeoutError) as error:
                log.warning("Janus: keepalive of session %s failed: %s", self.id, error)
                return

    def _stop_keepalive(self) -> None:
        self._keepalive.cancel()

    async def attach(self, plugin: str = PLUGIN_NAME) -> JanusHandle:
        """A handle on ``plugin`` (the VideoRoom by default)."""
        reply = await self.client.request(
            {"janus": "attach", "session_id": self.id, "plugin": plugin}
        )
        handle = JanusHandle(self, int(reply["data"]["id"]))
        self.client._handles[handle.id] = handle
        return handle

    async def destroy(self) -> None:
        """End the session (and every handle in it)."""
        self._stop_keepalive()
        self.client._sessions.pop(self.id, None)
        for handle_id in [h.id for h in self.client._handles.values() if h.session is self]:
            self.client._handles.pop(handle_id, None)
        await self.client.request({"janus": "destroy", "session_id": self.id})


class JanusHandle:
    """A plugin handle: requests to the plugin, and the events Janus pushes for it."""

    def __init__(self, session: JanusSession, handle_id: int) -> None:
        self.session = session
        self.id = handle_id
        self.events: asyncio.Queue[Message] = asyncio.Queue()

    def _body(self, janus: str, **fields: Any) -> Message:
        return {"janus": janus, "session_id": self.session.id, "handle_id": self.id, **fields}

    async def message(
        self, body: Message, jsep: Message | None = None, wait_event: bool = False
    ) -> tuple[Message, Message | None]:
        """Send ``body`` (and ``jsep``) to the plugin; return its data and its jsep.

        Synchronous VideoRoom requests (create, list, destroy, ...) answer at once;
        ``wait_event`` waits for the event of asynchronous ones (join, configure, ...)."""
        fields: Message = {"body": body}
        if jsep is not None:
            fields["jsep"] = jsep
        reply = await self.session.client.request(
            self._body("message", **fields), until_event=wait_event or jsep is not None
        )
        data = (reply.get("plugindata") or {}).get("data") or {}
        return data, reply.get("jsep")

    async def trickle(self, candidate: Message | None) -> None:
        """One ICE candidate (``None``: gathering is complete)."""
        payload = candidate if candidate is not None else {"completed": True}
        await self.session.client.request(self._body("trickle", candidate=payload))

    async def next_event(self, timeout: float = REQUEST_TIMEOUT) -> Message:
        """The next message Janus pushed for this handle."""
        return await asyncio.wait_for(self.events.get(), timeout)

    async def detach(self) -> None:
        """Detach from the plugin (it hangs up this handle's PeerConnection)."""
        self.session.client._handles.pop(self.id, None)
        await self.session.client.request(self._body("detach"))
