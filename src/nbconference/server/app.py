"""The Jupyter server extension: signaling at ``{base_url}`` + :data:`SIGNAL_PATH`."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.application import ExtensionApp
from tornado import web

from ..identity import owner_username
from ..protocol import SIGNAL_PATH, identity_stamp
from .backends.redis_settings import ReplicasDisagree
from .config import SignalingSettings
from .connection import SignalingConnection
from .janus.own import start_janus
from .janus.supervisor import JanusProcess
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
        if await self._identified():
            self._stamp = identity_stamp(self.current_user)
        self.admit()
        await super().get(*args, **kwargs)

    async def _identified(self) -> bool:
        """False for a socket that shows the server's token without a valid login cookie
        (a script, a KernelPeer, or anything sending a cookie of that name Jupyter cannot
        read): Jupyter makes up a new anonymous user for each such request, which names
        nobody. A login cookie names its user only once Jupyter has checked its signature
        and read the user from it."""
        provider = self.identity_provider
        if not provider.is_token_authenticated(self):
            return True  # the login cookie, or the deployment's own identity provider
        cookie_user = await ensure_async(provider.get_user_cookie(self))
        return cookie_user is not None

    def identity(self) -> dict[str, Any] | None:
        return self._stamp

    def socket_key(self) -> tuple[str, int, str]:
        # Behind JupyterHub's proxy every socket comes from one address: count users.
        # Sockets that show the token without a valid login cookie (scripts, KernelPeers)
        # name nobody: they are the server owner's, and share one count.
        user = f"user {self._stamp['username']}" if self._stamp else "user (token only)"
        return user, self.registry.limits.max_sockets_per_user, "max_sockets_per_user"


class SharedSecretRefused(RuntimeError):
    """A Jupyter server that other users' rooms do not trust was asked to hold a secret
    those rooms depend on: a Janus' (with Redis), or the TURN server's."""


SHARED_SFU_REFUSED = (
    "nbconference: refusing backend = 'redis' with sfu = 'janus' inside a Jupyter server. "
    "On JupyterHub each user's server is a process its user controls, and with Redis its "
    "rooms are shared with other users' servers: it must not hold the secrets of the Janus "
    "those rooms go through. Run the trusted signaling as a service instead: "
    "`nbconference serve --redis URL --sfu janus` (standalone, or as a JupyterHub service), "
    'and point the widgets at it; see docs/deployment.md ("Janus"). A single Jupyter '
    "server on its own may use sfu = 'janus' with the memory backend."
)

SHARED_TURN_REFUSED = (
    "nbconference: refusing turn_secret inside {where}. That server is a process its user "
    "controls: whoever runs code in it can read the secret and make TURN credentials for "
    "anyone, for as long as they like. Run the trusted signaling as a service that holds "
    "it instead: `nbconference serve --turn-urls URL --turn-secret @FILE` (standalone, or "
    'as a JupyterHub service), and point the widgets at it; see docs/deployment.md ("TURN"). '
    "A single Jupyter server of one's own (no JupyterHub, no Redis) may hold turn_secret."
)


def refuse_shared_secrets(
    settings: SignalingSettings, environ: Mapping[str, str] = os.environ
) -> None:
    """Raise :class:`SharedSecretRefused` where this Jupyter server must not hold a secret:
    Janus' with the Redis backend, the TURN secret in a JupyterHub user's server (its
    spawner sets ``JUPYTERHUB_USER``) or with Redis. ``nbconference serve``, the trusted
    process, may combine them."""
    if settings.backend == "redis" and settings.sfu:
        raise SharedSecretRefused(SHARED_SFU_REFUSED)
    if settings.turn_secret:
        if environ.get("JUPYTERHUB_USER"):
            raise SharedSecretRefused(
                SHARED_TURN_REFUSED.format(where="a JupyterHub user's server")
            )
        if settings.backend == "redis":
            where = "a Jupyter server with backend = 'redis'"
            raise SharedSecretRefused(SHARED_TURN_REFUSED.format(where=where))


REDIS_UNDER_HUB = (
    "nbconference: this Jupyter server is a JupyterHub user's server with backend = 'redis'. "
    "Its rooms are shared through Redis with the other users' servers, and each of those "
    "servers, a process its user controls, holds the Redis password: any user can list the "
    "rooms, forge who is in one (a verified name included) and read or post to its chat. "
    "That is fine only where every user of the Hub trusts every other. Otherwise run "
    "nbconference serve as the Hub's service, which alone holds Redis, and leave users' "
    'servers on the memory backend: see docs/deployment.md ("JupyterHub").'
)
_warned_about_redis = False


def warn_redis_under_hub(
    settings: SignalingSettings, log: logging.Logger, environ: Mapping[str, str] = os.environ
) -> bool:
    """Warn, once per process, when this server shares rooms through Redis from inside
    a JupyterHub user's server (its spawner sets ``JUPYTERHUB_USER``). True if it warned."""
    global _warned_about_redis
    if _warned_about_redis or settings.backend != "redis" or not environ.get("JUPYTERHUB_USER"):
        return False
    _warned_about_redis = True
    log.warning("%s", REDIS_UNDER_HUB)
    return True


# The Jupyter server's log handlers that our logger writes through (see below).
_THROUGH_JUPYTER: list[logging.Handler] = []


def _writers(log: object) -> list[logging.Handler]:
    """The handlers that write ``log``'s records, unless they are the root logger's (which
    our records reach by themselves): Jupyter's own logger has a handler and does not
    propagate."""
    current = log if isinstance(log, logging.Logger) else None
    while current is not None and current is not logging.getLogger():
        if current.handlers:
            return list(current.handlers)
        if not current.propagate:
            return []
        current = current.parent
    return []


class NBConference(ExtensionApp, SignalingSettings):  # type: ignore[misc]
    """Signaling for nbconference widgets, inside the Jupyter server."""

    name = "nbconference"
    load_other_extensions = True
    registry: RoomRegistry | None = None
    janus: JanusProcess | None = None
    refused: str = ""  # why the extension did not start, when it did not

    def initialize_handlers(self) -> None:
        self._log_through_jupyter()
        try:
            refuse_shared_secrets(self)
        except SharedSecretRefused as refused:
            # Jupyter logs a failed extension as a warning: say it as the error it is.
            self.refused = str(refused)
            self.log.error("%s", refused)
            raise
        warn_redis_under_hub(self, self.log)
        # A socket with the server's token and no login cookie names nobody (see
        # SignalingHandler._identified), yet only the server's owner holds that token:
        # for room_access it is the owner. The identity provider cannot say who that is
        # (it makes up an anonymous user for each such request); the process can: the
        # Hub user its spawner named (JUPYTERHUB_USER), else the account it runs as.
        self.registry = self.make_registry(owner=owner_username())
        self.handlers.append((SIGNAL_PATH, SignalingHandler, {"registry": self.registry}))

    def _log_through_jupyter(self) -> None:
        """Our loggers ("nbconference", "nbconference.janus") write through the Jupyter
        server's log handlers, with its time, level and name, rather than as bare lines on
        stderr (they had none). They still propagate, so the root logger sees them too."""
        ours = logging.getLogger("nbconference")
        for handler in _THROUGH_JUPYTER:
            ours.removeHandler(handler)  # an earlier server's, in this process
        _THROUGH_JUPYTER[:] = _writers(getattr(self.serverapp, "log", None))
        for handler in _THROUGH_JUPYTER:
            ours.addHandler(handler)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        if self.registry is None:
            return  # refused when it was loaded (logged then)
        try:
            await self.registry.start()
        except ReplicasDisagree as refused:
            # Joins are refused with this message (backend-unavailable) from now on.
            self.refused = str(refused)
            self.log.error("%s", refused)
            return
        self.janus = await start_janus(self.registry, self)

    async def stop_extension(self) -> None:
        if self.registry is not None:
            await self.registry.stop()
            if self.registry.sfu is not None:
                await self.registry.sfu.close()
        if self.janus is not None:
            await self.janus.stop()
