"""``nbconference serve`` as a JupyterHub service: one trusted signaling process for a
whole Hub, which knows every participant as the Hub does.

JupyterHub starts it (or it is started beside the Hub) with ``JUPYTERHUB_SERVICE_NAME``,
``JUPYTERHUB_API_TOKEN`` and the rest of a service's environment; the Hub's proxy sends it
every request under ``/services/NAME/``. There it serves:

- ``{prefix}nbconference/signal``: the signaling socket. A browser shows the service's
  OAuth cookie (same origin as the Hub, so its pages reach it), a kernel or a KernelPeer
  its server's Hub API token (``Authorization: token ...``), which names the server's
  owner. Each socket is stamped with the Hub's user: name and groups. The servers the
  Hub lets that user open (their token's ``access:servers`` scopes) go with the socket
  to the entry check of users' rooms (:class:`HubOwnedRooms`), never into the stamp.
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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlsplit

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..protocol import identity_stamp, owner_tag
from .access import NO_GRANTS, Grants

# The variables JupyterHub gives every service it knows (a managed service's, or an
# external one's when its config passes them on).
HUB_VARIABLES = ("JUPYTERHUB_SERVICE_NAME", "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL")
CALLBACK_PATH = "oauth_callback"
COOKIE_SECRET_BYTES = 32
# The scope that lets a Hub user open a server (filtered by user, server or group).
ACCESS_SERVERS = "access:servers"


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


@dataclass(frozen=True)
class HubUser:
    """A Hub user as a socket shows them: the identity stamp everyone sees, and the
    ``access:servers`` scopes of their token (which servers the Hub lets them open), which
    only the entry check reads."""

    stamp: dict[str, Any]
    grants: Grants = NO_GRANTS

    @classmethod
    def from_model(cls, model: Mapping[str, Any]) -> HubUser | None:
        """The user a Hub user model (``HubAuth.get_user``) describes, or None for
        anything that is not a user (a service's token)."""
        stamp = hub_stamp(model)
        return None if stamp is None else cls(stamp, hub_grants(model))


def hub_stamp(model: Mapping[str, Any]) -> dict[str, Any] | None:
    """The identity stamp of a Hub user model, or None for anything that is not a user
    (a service's token)."""
    if model.get("kind", "user") != "user" or not isinstance(model.get("name"), str):
        return None
    groups = model.get("groups")
    user = SimpleNamespace(username=model["name"], name=model["name"])
    return identity_stamp(user, groups if isinstance(groups, list) else ())


def hub_grants(model: Mapping[str, Any]) -> Grants:
    """The ``access:servers`` scopes of a Hub user model (the scopes of the token that
    showed it, as the Hub resolved them for its owner)."""
    scopes = model.get("scopes")
    if not isinstance(scopes, list):
        return NO_GRANTS
    return frozenset(
        scope
        for scope in scopes
        if isinstance(scope, str) and scope.partition("!")[0] == ACCESS_SERVERS
    )


def granted_owners(grants: Grants) -> tuple[bool, frozenset[str], frozenset[str]]:
    """What ``access:servers`` scopes grant: every server (an unfiltered scope), the owner
    tags of the users whose servers they name (``!user=NAME``, ``!server=NAME/SERVER``),
    and the groups whose members' servers they name (``!group=NAME``). A room names its
    owner, not one of their servers, so any of an owner's servers grants their rooms."""
    every = False
    tags: set[str] = set()
    groups: set[str] = set()
    for scope in grants:
        _, bang, entity = scope.partition("!")
        kind, _, name = entity.partition("=")
        if not bang:
            every = True
        elif kind == "user" and name:
            tags.add(owner_tag(name))
        elif kind == "server" and name.partition("/")[0]:
            tags.add(owner_tag(name.partition("/")[0]))
        elif kind == "group" and name:
            groups.add(name)
    return every, frozenset(tags), frozenset(groups)


# How long what the Hub said of shares and groups is taken as said (a new share works
# within this long; a withdrawn one stops admitting new joins as soon).
HUB_ANSWER_SECONDS = 30.0
# What reads the owners' names out of one answer of the Hub's.
OwnersOf = Callable[[Any], Iterable[str]]


class HubOwnedRooms:
    """Rooms of one user's (``"<owner tag>~..."``, a notebook's default room): their
    owner enters, and so does whoever the Hub lets open one of the owner's servers:

    - by a role: the ``access:servers`` scopes of the socket's token (the service's
      ``oauth_client_allowed_scopes`` lets a browser's token carry them; a KernelPeer's
      server token carries only its own server's). A ``!group=`` filter is resolved here,
      with the group's members as the Hub lists them (the service's role needs
      ``read:groups``);
    - by JupyterHub's sharing, to the user or to one of their groups, asked of the Hub
      with the service's token (its role needs ``read:users:shares``): a browser's OAuth
      token never carries a share, and an API token never one made to a group.
    """

    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def may_enter(self, tag: str, identity: Mapping[str, Any], grants: Grants) -> bool:
        username = str(identity.get("username") or "")
        if owner_tag(username) == tag:
            return True
        every, tags, groups = granted_owners(grants)
        if every or tag in tags:
            return True
        for group in sorted(groups):
            if await self._names(f"groups/{quote(group, safe='')}", tag, _group_members):
                return True
        return await self._names(f"users/{quote(username, safe='')}/shared", tag, _share_owners)

    async def _names(self, path: str, tag: str, owners: OwnersOf) -> bool:
        """Whether the owners the Hub lists at ``path`` include ``tag``'s. An answer that
        names them is taken for a while; one that does not is asked again each time, so
        that a share made (or a member added) after a refusal works at once."""
        taken, tags = self._cache.get(path, (0.0, frozenset()))
        if time.monotonic() - taken < HUB_ANSWER_SECONDS and tag in tags:
            return True
        return tag in await self._ask(path, owners)

    async def _ask(self, path: str, owners: OwnersOf) -> frozenset[str]:
        """The owner tags of the users the Hub lists at ``path`` now (none when the Hub
        cannot be asked: a room of another's is then refused, never opened)."""
        now = time.monotonic()
        request = HTTPRequest(
            f"{self.api_url}/{path}",
            headers={"Authorization": f"token {self.token}"},
            request_timeout=10.0,
        )
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
            model = json.loads(response.body) if response.code == 200 else None
        except (OSError, HTTPClientError, ValueError):
            return frozenset()
        tags = frozenset(owner_tag(owner) for owner in owners(model))
        if response.code == 200:
            self._cache[path] = (now, tags)
        return tags


def _share_owners(model: Any) -> Iterable[str]:
    """The owners of the servers in a list of shares (``GET /users/NAME/shared``: each
    ``{"server": {"user": {"name": OWNER}, ...}, ...}``)."""
    items = model.get("items", []) if isinstance(model, dict) else model
    for item in items if isinstance(items, list) else ():
        if isinstance(owner := _path(item, "server", "user", "name"), str):
            yield owner


def _group_members(model: Any) -> Iterable[str]:
    """The members of a group (``GET /groups/NAME``: ``{"users": [NAME, ...], ...}``)."""
    users = model.get("users") if isinstance(model, dict) else None
    return [user for user in users if isinstance(user, str)] if isinstance(users, list) else []


def _path(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...`` through dicts, or None where one is missing."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value
