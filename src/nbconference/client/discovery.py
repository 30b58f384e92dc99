"""Finding the signaling endpoint of the Jupyter server that runs this kernel.

In order: ``$NBCONFERENCE_SIGNALING_URL`` (+ ``$NBCONFERENCE_TOKEN``) when set; else, in
a JupyterHub user's server, the Hub's nbconference service (see :mod:`.hub`); else the
running server (its ``jpserver-<pid>.json`` in the Jupyter runtime dir) whose process
started this kernel (``$JPY_PARENT_PID``, set by jupyter_client's launcher); else the one
whose ``/api/kernels`` lists this kernel's id (the ``kernel-<id>.json`` connection file).
When that server has no nbconference endpoint (it started before the package was
installed), this user's local signaling server stands in (see :mod:`.local`).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..protocol import SIGNAL_PATH
from .hub import find_hub_service
from .local import find_or_start
from .socket import SignalingError

PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class SignalingEndpoint:
    """Where to join: a ``ws://`` URL, the token to present, and how it was found.

    Its repr leaves the token out: endpoints end up in logs and tracebacks."""

    url: str
    token: str = field(repr=False)
    found_by: str


def signaling_url(server_url: str) -> str:
    """``http://host:port/base/`` → ``ws://host:port/base/`` + :data:`SIGNAL_PATH`."""
    parts = urlsplit(server_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((scheme, parts.netloc, path + SIGNAL_PATH, "", ""))


def kernel_id() -> str | None:
    """This kernel's id from its connection file name, or None outside a kernel."""
    try:
        from ipykernel.connect import get_connection_file

        path = get_connection_file()
    except (ImportError, RuntimeError):
        return None
    match = re.fullmatch(r"kernel-(.+)\.json", os.path.basename(path))
    return match.group(1) if match else None


async def find_signaling(timeout: float = 10.0) -> SignalingEndpoint:
    """Locate the signaling endpoint for this process, or raise a readable error."""
    env_url = os.environ.get("NBCONFERENCE_SIGNALING_URL")
    if env_url:
        return SignalingEndpoint(env_url, os.environ.get("NBCONFERENCE_TOKEN", ""), "environment")
    hub = await find_hub_service(timeout)
    if hub is not None:
        return SignalingEndpoint(hub.url, hub.token, "the Hub's nbconference service")
    server, found_by = await find_server(timeout)
    if await endpoint_present(server, timeout) is False:
        local = await asyncio.to_thread(find_or_start)
        return SignalingEndpoint(local.url, local.token, "local signaling server")
    return _endpoint(server, found_by)


async def resolve_signaling(url: str | None, token: str, timeout: float) -> tuple[str, str]:
    """Where a Python peer joins, and with which token: ``url`` as given (a Jupyter
    ``http(s)://`` URL becomes its endpoint), or without one, :func:`find_signaling`."""
    if url is None:
        endpoint = await find_signaling(timeout)
        return endpoint.url, token or endpoint.token
    if url.startswith(("http://", "https://")):
        return signaling_url(url), token
    return url, token


async def find_server(timeout: float = 10.0) -> tuple[dict[str, Any], str]:
    """The ``jpserver-*.json`` record of the Jupyter server running this kernel, and how
    it was found; :class:`SignalingError` when there is none to find."""
    kid = kernel_id()
    if kid is None:
        raise SignalingError(
            "no-server",
            "not running inside a Jupyter kernel, so there is no server to find: pass "
            "url= and token= (for example those printed by 'nbconference serve')",
        )
    return await find_kernel_server(kid, timeout)


async def find_kernel_server(kid: str, timeout: float = 10.0) -> tuple[dict[str, Any], str]:
    """The ``jpserver-*.json`` record of the running Jupyter server that hosts kernel
    ``kid``, and how it was found."""
    servers = running_servers()
    parent = os.environ.get("JPY_PARENT_PID", "")
    for server in servers:
        if str(server.get("pid")) == parent:
            return server, "parent process"
    probes = [_hosts_kernel(server, kid, timeout) for server in servers]
    for server, hosts in zip(servers, await asyncio.gather(*probes), strict=True):
        if hosts:
            return server, "kernel list"
    raise SignalingError(
        "no-server",
        f"none of the {len(servers)} running Jupyter servers lists kernel {kid}; "
        "pass url= and token= explicitly",
    )


async def endpoint_present(server: dict[str, Any], timeout: float = 10.0) -> bool | None:
    """Whether ``server`` serves nbconference signaling: False when it answers 404 (the
    extension is not loaded), None when it cannot be asked (it does not answer in time)."""
    url = server["url"].rstrip("/") + "/" + SIGNAL_PATH
    token = server.get("token", "")
    headers = {"Authorization": f"token {token}"} if token else {}
    request = HTTPRequest(url, headers=headers, connect_timeout=timeout, request_timeout=timeout)
    try:
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
    except (OSError, HTTPClientError):  # a timeout raises even with raise_error=False
        return None
    if response.code == 404:
        return False
    # A WebSocket endpoint answers a plain GET with 400 ("Upgrade" only to "WebSocket").
    return True if response.code in (400, 403) else None


def running_servers() -> list[dict[str, Any]]:
    """The ``jpserver-*.json`` files of live servers in this user's runtime dir.

    Read here rather than through ``jupyter_server.serverapp.list_running_servers``, whose
    import costs a kernel seconds of CPU; unlike it, this never deletes stale files.
    """
    from jupyter_core.paths import jupyter_runtime_dir

    servers = []
    for path in sorted(Path(jupyter_runtime_dir()).glob("jpserver-*.json")):
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # being written, or unreadable
        if isinstance(info, dict) and info.get("url") and _alive(info.get("pid")):
            servers.append(info)
    return servers


def _alive(pid: object) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, SystemError):
        return True  # exists but is not ours, or no way to tell (Windows): let the probe decide
    return True


def _endpoint(server: dict[str, Any], found_by: str) -> SignalingEndpoint:
    return SignalingEndpoint(signaling_url(server["url"]), server.get("token", ""), found_by)


async def _hosts_kernel(server: dict[str, Any], kid: str, timeout: float) -> bool:
    url = server["url"].rstrip("/") + f"/api/kernels/{kid}"
    token = server.get("token", "")
    headers = {"Authorization": f"token {token}"} if token else {}
    wait = min(PROBE_TIMEOUT, timeout)
    request = HTTPRequest(url, headers=headers, connect_timeout=wait, request_timeout=wait)
    try:
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
    except (OSError, HTTPClientError):
        # A stale file: its pid was reused by another process, its port is closed (or
        # answers something that is not HTTP). raise_error=False covers HTTP errors only.
        return False
    return response.code == 200
