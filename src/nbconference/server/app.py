"""The Jupyter server extension: signaling at ``{base_url}`` + :data:`SIGNAL_PATH`."""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.application import ExtensionApp
from tornado import web

from ..protocol import SIGNAL_PATH
from .config import SignalingSettings
from .connection import SignalingConnection
from .rooms import RoomRegistry


class SignalingHandler(WebSocketMixin, SignalingConnection, JupyterHandler):  # type: ignore[misc]
    """Authenticated by Jupyter (token or login cookie), same-origin by Jupyter's check."""

    auth_resource = "nbconference"

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        allowed = self.authorizer.is_authorized(
            self, self.current_user, "execute", self.auth_resource
        )
        if not await ensure_async(allowed):
            raise web.HTTPError(403)
        await super().get(*args, **kwargs)


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
