"""``nbconference serve`` as a JupyterHub service: one trusted signaling process for a
whole Hub, which knows every participant as the Hub does.

JupyterHub starts it (or it is started beside the Hub) with ``JUPYTERHUB_SERVICE_NAME``,
``JUPYTERHUB_API_TOKEN`` and the rest of a service's environment; the Hub's proxy sends it
every request under ``/services/NAME/``. There it serves:

- ``{prefix}nbconference/signal``: the signaling socket. A browser shows the service's
  OAuth cookie (same origin as the Hub, so its pages reach it), a kernel or a KernelPeer
  its server's Hub API token (``Authorization: token ...``), which names the server's
  owner. Each socket is stamped with the Hub's user: name and groups.
- ``{prefix}login``: the end of the OAuth flow for a page. A WebSocket cannot follow the
  flow's redirects, so the page loads this in a hidden frame first; it answers the page
  with a ``postMessage`` once the cookie is set.
- ``{prefix}oauth_callback``: JupyterHub's OAuth callback.

The user is resolved without blocking the loop (``HubAuth.get_user(sync=False)``; the
stock ``get_current_user`` waits on the Hub synchronously).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..protocol import identity_stamp, owner_tag

# The variables JupyterHub gives every service it knows (a managed service's, or an
# external one's when its config passes them on).
HUB_VARIABLES = ("JUPYTERHUB_SERVICE_NAME", "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL")
CALLBACK_PATH = "oauth_callback"
COOKIE_SECRET_BYTES = 32


class HubMisconfigured(ValueError):
    """The environment says this is a Hub service, but something it needs is missing."""


@dataclass(frozen=True)
class HubService:
    """This process as a JupyterHub service: its name, the public path prefix the Hub's
    proxy routes to it, and where it listens (from ``JUPYTERHUB_SERVICE_URL``)."""

    name: str
    prefix: str
    host: str
    port: int
    api_url: str
    api_token: str = field(repr=False)
    cookie_secret: bytes = field(repr=False, default=b"")

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], cookie_secret_file: Path | None = None
    ) -> HubService | None:
        """The service the environment describes, or None outside a Hub. The cookie
        secret is read from ``cookie_secret_file``, made there (mode 0600) when absent:
        a stable secret keeps everyone's sign-in through a restart."""
        if not all(environ.get(name) for name in HUB_VARIABLES):
            return None
        name = environ["JUPYTERHUB_SERVICE_NAME"]
        prefix = environ.get("JUPYTERHUB_SERVICE_PREFIX") or f"/services/{name}/"
        url = environ.get("JUPYTERHUB_SERVICE_URL", "")
        if not url:
            raise HubMisconfigured(
                f"JupyterHub service {name!r} has no JUPYTERHUB_SERVICE_URL: give the "
                'service a "url" in jupyterhub_config.py (for example http://127.0.0.1:8765)'
            )
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise HubMisconfigured(f"JUPYTERHUB_SERVICE_URL must be http://HOST:PORT, not {url}")
        secret = read_or_make_secret(cookie_secret_file) if cookie_secret_file else None
        return cls(
            name=name,
            prefix=prefix if prefix.endswith("/") else prefix + "/",
            host=parts.hostname,
            port=parts.port or 80,
            api_url=environ["JUPYTERHUB_API_URL"],
            api_token=environ["JUPYTERHUB_API_TOKEN"],
            cookie_secret=secret or secrets.token_bytes(COOKIE_SECRET_BYTES),
        )


def read_or_make_secret(path: Path) -> bytes:
    """The secret in ``path`` (hex), written there first (mode 0600) when the file is
    absent. OSError or ValueError say what is wrong with an existing one."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        secret = secrets.token_bytes(COOKIE_SECRET_BYTES)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secret.hex() + "\n")
        return secret
    secret = bytes.fromhex(text)
    if len(secret) < 16:
        raise ValueError(f"{path} holds fewer than 16 bytes of secret")
    return secret


def hub_stamp(model: Mapping[str, Any]) -> dict[str, Any] | None:
    """The identity stamp of a Hub user model, or None for anything that is not a user
    (a service's token)."""
    if model.get("kind", "user") != "user" or not isinstance(model.get("name"), str):
        return None
    groups = model.get("groups")
    user = SimpleNamespace(username=model["name"], name=model["name"])
    return identity_stamp(user, groups if isinstance(groups, list) else ())


# How long the servers shared with a user are taken as the Hub said (a new share works
# within this long; a withdrawn one stops admitting new joins as soon).
SHARES_CACHE_SECONDS = 30.0


class HubOwnedRooms:
    """Rooms of one user's (``"<owner tag>~..."``, a notebook's default room): their
    owner enters, and so do those the Hub shares one of the owner's servers with
    (JupyterHub's sharing, to the user or to one of their groups). Asked of the Hub with
    the service's token (its role needs ``read:users:shares``)."""

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def may_enter(self, tag: str, identity: Mapping[str, Any]) -> bool:
        username = str(identity.get("username") or "")
        if owner_tag(username) == tag:
            return True
        # A share found is taken for a while; one not found is asked again each time, so
        # that a share made after a refusal works at once.
        taken, tags = self._cache.get(username, (0.0, frozenset()))
        if time.monotonic() - taken < SHARES_CACHE_SECONDS and tag in tags:
            return True
        return tag in await self.shared_with(username)

    async def shared_with(self, username: str) -> frozenset[str]:
        """The owner tags of the servers the Hub shares with ``username`` now (none when
        the Hub cannot be asked: a room of another's is then refused, never opened)."""
        now = time.monotonic()
        request = HTTPRequest(
            f"{self.api_url}/users/{quote(username, safe='')}/shared",
            headers={"Authorization": f"token {self.token}"},
            request_timeout=10.0,
        )
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
            model = json.loads(response.body) if response.code == 200 else []
        except (OSError, HTTPClientError, ValueError):
            return frozenset()
        items = model.get("items", []) if isinstance(model, dict) else model
        # Each share: {"server": {"user": {"name": OWNER}, "name": SERVER, ...}, ...}
        tags = frozenset(
            owner_tag(owner)
            for item in items
            if isinstance(owner := _path(item, "server", "user", "name"), str)
        )
        if response.code == 200:
            self._cache[username] = (now, tags)
        return tags


def _path(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...`` through dicts, or None where one is missing."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value
