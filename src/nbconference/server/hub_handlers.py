"""The request handlers of the Hub service (see :mod:`.hub`), on JupyterHub's
``HubOAuth``. Imported only when ``nbconference serve`` runs as a Hub service: jupyterhub
is needed there alone."""

from __future__ import annotations

import html
import json
from typing import Any

import tornado.web
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from tornado.websocket import WebSocketHandler

from ..protocol import HUB_LOGIN_MESSAGE
from .access import NO_GRANTS, Grants
from .hub import HubUser
from .keepalive import KeepAlive
from .rooms import RoomRegistry
from .standalone import StandaloneSignalingHandler


def make_hub_auth() -> HubOAuth:
    """A ``HubOAuth`` configured from the service's environment. A user (groups too) is
    asked of the Hub again after a minute, so a change of groups reaches new joins soon."""
    return HubOAuth(cache_max_age=60)


async def hub_user(handler: HubOAuthenticated) -> HubUser | None:
    """The Hub user ``handler``'s request authenticates as (the service's cookie, or a Hub
    API token), when the Hub lets that user use this service (its
    ``access:services!service=NAME`` scope); else None."""
    auth = handler.hub_auth
    model = await auth.get_user(handler, sync=False)
    if not model or not auth.check_scopes(auth.access_scopes, model):
        return None
    return HubUser.from_model(model)


class HubSignalingHandler(HubOAuthenticated, StandaloneSignalingHandler):
    """The signaling socket, authenticated by the Hub. Same origin only for browsers:
    their cookie is ambient, so another site's page must not ride on it."""

    _user: HubUser | None = None

    def initialize(  # type: ignore[override]
        self, hub_auth: HubOAuth, registry: RoomRegistry, pinger: KeepAlive
    ) -> None:
        self.hub_auth = hub_auth
        super().initialize(registry, token="", allow_origin=None, pinger=pinger)

    def check_origin(self, origin: str) -> bool:
        return WebSocketHandler.check_origin(self, origin)

    async def get(self, *args: Any, **kwargs: Any) -> None:
        self._user = await hub_user(self)
        if self._user is None:
            raise tornado.web.HTTPError(
                403, "not signed in to the Hub's nbconference service, or not allowed to use it"
            )
        await self.enter(*args, **kwargs)

    def identity(self) -> dict[str, Any] | None:
        return self._user.stamp if self._user else None

    def grants(self) -> Grants:
        return self._user.grants if self._user else NO_GRANTS

    def socket_key(self) -> tuple[str, int, str]:
        # Every socket comes through the Hub's proxy, from one address: count users.
        user = f"user {self._user.stamp['username']}" if self._user else "user (none)"
        return user, self.registry.limits.max_sockets_per_user, "max_sockets_per_user"


class HubLoginHandler(HubOAuthenticated, tornado.web.RequestHandler):
    """``{prefix}login``: sends a browser through the Hub's OAuth flow (to the Hub and
    back), then tells the page that opened it in a hidden frame that the service's cookie
    is set."""

    def initialize(self, hub_auth: HubOAuth) -> None:
        self.hub_auth = hub_auth

    async def get(self) -> None:
        user = await hub_user(self)
        if user is None:
            if await self.hub_auth.get_user(self, sync=False):
                raise tornado.web.HTTPError(403, "the Hub does not let you use nbconference")
            self.redirect(self.get_login_url())
            return
        username = user.stamp["username"]
        message = json.dumps({"type": HUB_LOGIN_MESSAGE, "user": username})
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.write(
            "<!doctype html><title>nbconference</title>"
            f"<p>Signed in to nbconference as {html.escape(username)}.</p>"
            "<script>if (window.parent !== window) "
            f"window.parent.postMessage({message}, location.origin);</script>"
        )


class HubCallbackHandler(HubOAuthCallbackHandler):
    """``{prefix}oauth_callback``: where the Hub sends the browser back with its code."""

    def initialize(self, hub_auth: HubOAuth) -> None:
        self.hub_auth = hub_auth
