"""Fixtures (a pytest plugin, see tests/conftest.py): a real Jupyter server (pytest-jupyter)
or a real standalone server, each with the nbconference signaling endpoint, and
WebSocket clients to talk to them."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from nbconference.server.config import SignalingSettings
from nbconference.server.standalone import StandaloneServer, start_server

from .client import Client, connect_url
from .identity import PERSON_COOKIE

STANDALONE_TOKEN = "standalone-secret-token"
# The standalone server's second token: its sockets host every room (docs/protocol.md).
STANDALONE_HOST_TOKEN = "standalone-host-token"

Connect = Callable[..., Awaitable[Client]]


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    """``c.NBConference.*`` traits for the server under test; override in a module to change."""
    # Longer than any wait in a test that expects an immediate leave, so a peer kept
    # for its grace window instead is caught.
    return {"reconnect_grace_seconds": 3.0}


@pytest.fixture
def jp_server_config(nbc_settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"nbconference": True}},
        "NBConference": dict(nbc_settings),
    }


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    """Every client a test opens, closed afterwards even when the test fails."""
    clients: list[Client] = []
    yield clients
    for client in clients:
        client.close()
    await asyncio.sleep(0.01)


@pytest.fixture
def jupyter_connect(jp_ws_fetch: Any, clients: list[Client]) -> Connect:
    """Open a client on the Jupyter server's endpoint (authenticated unless headers say not)."""

    async def connect(**kwargs: Any) -> Client:
        client = Client(await jp_ws_fetch("nbconference", "signal", **kwargs))
        clients.append(client)
        return client

    return connect


async def browser_cookie(jp_fetch: Any, person: str | None) -> str:
    """The cookies a browser of ``person`` has once it opened a page with the token
    (``person`` takes effect with the ``support.identity.NamedPeople`` identity provider)."""
    response = await jp_fetch("api", "me")
    cookies = [v.split(";", 1)[0] for v in response.headers.get_list("Set-Cookie")]
    assert any(c.startswith("username-") for c in cookies), cookies
    if person:
        cookies.append(f"{PERSON_COOKIE}={person}")
    return "; ".join(cookies)


@pytest.fixture
def as_browser(jupyter_connect: Connect, jp_fetch: Any, jp_http_port: int) -> Connect:
    """Opens a socket authenticated the way a Lab page's is: by its login cookie, no token.
    ``as_browser("ada")`` is Ada where the server names people (``NamedPeople``)."""

    async def connect(person: str | None) -> Client:
        cookie = await browser_cookie(jp_fetch, person)
        # The cookie's name carries the host it was set for (jp_fetch talks to 127.0.0.1).
        host = f"127.0.0.1:{jp_http_port}"
        return await jupyter_connect(headers={"Authorization": "", "Cookie": cookie, "Host": host})

    return connect


@pytest.fixture
async def standalone(nbc_settings: dict[str, Any]) -> AsyncIterator[StandaloneServer]:
    """A standalone signaling server on a free loopback port, on the test's loop."""
    running = await start_server(
        SignalingSettings(**nbc_settings),
        port=0,
        token=STANDALONE_TOKEN,
        host_token=STANDALONE_HOST_TOKEN,
    )
    yield running
    await running.stop()


@pytest.fixture
def standalone_connect(standalone: StandaloneServer, clients: list[Client]) -> Connect:
    """Open a client on the standalone server; ``token=None`` presents none."""

    async def connect(token: str | None = STANDALONE_TOKEN, **kwargs: Any) -> Client:
        url = standalone.url if token is None else f"{standalone.url}?token={token}"
        client = Client(await connect_url(url, **kwargs))
        clients.append(client)
        return client

    return connect


@pytest.fixture(params=["jupyter", "standalone"])
def connect(request: pytest.FixtureRequest) -> Connect:
    """The same behaviour is proven against both servers."""
    return request.getfixturevalue(f"{request.param}_connect")  # type: ignore[no-any-return]


@pytest.fixture
def host_connect(connect: Connect, request: pytest.FixtureRequest) -> Connect:
    """Like ``connect``, for a socket that may use host powers on the same server: the
    standalone server's host token, or in Jupyter the server's token alone (the owner)."""
    if request.node.callspec.params.get("connect") == "standalone":
        return functools.partial(connect, token=STANDALONE_HOST_TOKEN)
    return connect


async def three_in_lab(
    connect: Connect, host: Connect | None = None
) -> tuple[Client, Client, Client]:
    """Ada, Bob and Cy join room "lab" in turn, each checked as the room sees it; Ada
    connects with ``host`` when given (see ``host_connect``)."""
    a, b, c = await (host or connect)(), await connect(), await connect()
    welcome = await a.join("lab", "Ada", state={"camera": True, "microphone": False})
    assert welcome["peers"] == [] and welcome["resumed"] is False and welcome["protocol"] == 1
    assert welcome["limits"]["max_peers_per_room"] == 8
    welcome = await b.join("lab", "Bob")
    assert [p["id"] for p in welcome["peers"]] == [a.id]
    assert welcome["peers"][0]["state"] == {"camera": True, "microphone": False}
    joined = await a.expect("peer-joined")
    assert joined["peer"] == {"id": b.id, "name": "Bob", "state": {}, "user": None, "color": None}
    welcome = await c.join("lab", "Cy")
    assert sorted(p["id"] for p in welcome["peers"]) == sorted([a.id, b.id])
    for other in (a, b):
        assert (await other.expect("peer-joined"))["peer"]["id"] == c.id
    assert len({a.id, b.id, c.id}) == 3 and all(len(x.id) >= 16 for x in (a, b, c))
    return a, b, c
