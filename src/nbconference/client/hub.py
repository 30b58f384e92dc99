"""Finding the Hub's nbconference service from a kernel of a JupyterHub user's server.

The single-user server gives its kernels ``JUPYTERHUB_API_URL`` and its Hub API token
(``JUPYTERHUB_API_TOKEN``, which names the server's owner). With them the kernel asks the
Hub for the service (``GET /services/NAME``): its public ``prefix``, which the pages join
on the Hub's own origin, and its ``url``, the internal address a kernel's own peer joins
at. A Hub without the service (or one that does not let this user see it) answers 404 or
403, and everything goes on as without a Hub.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..protocol import SIGNAL_PATH

# The service's name on the Hub; a deployment that names it otherwise sets this.
SERVICE_VARIABLE = "NBCONFERENCE_HUB_SERVICE"
DEFAULT_SERVICE = "nbconference"


@dataclass(frozen=True)
class HubSignaling:
    """The Hub's nbconference service: ``prefix`` is its public path (``/services/NAME/``),
    ``url`` the internal ``ws://`` endpoint for a kernel's peer, ``token`` this server's
    Hub API token (never for a browser: it names the server's owner)."""

    prefix: str
    url: str
    token: str = field(repr=False)


async def find_hub_service(
    timeout: float = 10.0, environ: Mapping[str, str] = os.environ
) -> HubSignaling | None:
    """The Hub's nbconference service, or None outside a Hub or where it has none."""
    api = environ.get("JUPYTERHUB_API_URL", "")
    token = environ.get("JUPYTERHUB_API_TOKEN", "")
    if not api or not token:
        return None
    name = environ.get(SERVICE_VARIABLE) or DEFAULT_SERVICE
    request = HTTPRequest(
        f"{api.rstrip('/')}/services/{quote(name, safe='')}",
        headers={"Authorization": f"token {token}"},
        connect_timeout=timeout,
        request_timeout=timeout,
    )
    try:
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
    except (OSError, HTTPClientError):
        return None
    if response.code != 200:
        return None
    try:
        model = json.loads(response.body)
    except ValueError:
        return None
    prefix, url = model.get("prefix"), model.get("url")
    if not isinstance(prefix, str) or not isinstance(url, str) or not url:
        return None
    return HubSignaling(prefix, _internal_endpoint(url, prefix), token)


def _internal_endpoint(url: str, prefix: str) -> str:
    """``http://host:port`` (the service's address) → ``ws://host:port{prefix}signal``:
    the Hub's proxy keeps the whole path, so the service serves it under its prefix."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = prefix if prefix.endswith("/") else prefix + "/"
    return urlunsplit((scheme, parts.netloc, path + SIGNAL_PATH, "", ""))
