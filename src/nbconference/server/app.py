"""The Jupyter server extension: signaling at ``{base_url}`` + :data:`SIGNAL_PATH`."""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.application import ExtensionApp
from tornado import web

from ..protocol import SIGNAL_PATH, identity_stamp
from .config import SignalingSettings
from .connection import SignalingConnection
from .rooms import RoomRegistry


class SignalingHandler(WebSocketMixin, SignalingConnection, JupyterHandler):  # type: ignore[misc]
    """Authenticated by Jupyter (token or login cookie), same-origin by Jupyter's check.

    Every peer is stamped with the Jupyter user its socket authenticated as, the identity
    a collaborator's cursor shows in a shared notebook.
    """

    auth_resource = "nbconference"
    _stamp: dict[str, Any] | None = None

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        allowed = self.authorizer.is_authorized(
            self, self.current_user, "execute", self.auth_resource
        )
        if not await ensure_async(allowed):
            raise web.HTTPError(403)
        if self._identified():
            self._stamp = identity_stamp(self.current_user)
        self.admit()
        await super().get(*args, **kwargs)

    def _identified(self) -> bool:
        """False for a socket that shows only the server's token and no login cookie
        (a script, a KernelPeer): Jupyter makes up a new anonymous user for each such
        request, which names nobody."""
        if not self.identity_provider.is_token_authenticated(self):
            return True
        cookie = self.identity_provider.get_cookie_name(self)
        return self.get_cookie(cookie) is not None

    def identity(self) -> dict[str, Any] | None:
        return self._stamp

    def socket_key(self) -> tuple[str, int, str]:
        # Behind JupyterHub's proxy every socket comes from one address: count users.
        # Sockets that show only the token (scripts, KernelPeers) name nobody, so they
        # share one count.
        user = f"user {self._stamp['username']}" if self._stamp else "user (token only)"
        return user, self.registry.limits.max_sockets_per_user, "max_sockets_per_user"


class NBConference(ExtensionApp, SignalingSettings):  # type: ignore[misc]
    """Signaling for nbconference widgets, inside the Jupyter server."""

    name = "nbconference"
    load_other_extensions = True
    registry: RoomRegistry | None = None

    def initialize_handlers(self) -> None:
        self.registry = self.make_registry()
        self.handlers.append((SIGNAL_PATH, SignalingHandler, {"registry": self.registry}))

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        assert self.registry is not None
        await self.registry.start()

    async def stop_extension(self) -> None:
        if self.registry is not None:
            await self.registry.stop()
