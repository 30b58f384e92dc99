"""Who may open the signaling socket: Jupyter's auth and origin check, and the standalone
server's token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from nbconference.client.discovery import endpoint_present
from nbconference.server.standalone import StandaloneServer
from support.signaling_fixtures import STANDALONE_TOKEN, Connect


async def refused(connect: Connect, **kwargs: Any) -> None:
    with pytest.raises(HTTPClientError) as info:
        await connect(**kwargs)
    assert info.value.code == 403


async def test_jupyter_refuses_no_token_and_wrong_token(jupyter_connect: Connect) -> None:
    await refused(jupyter_connect, headers={"Authorization": ""})
    await refused(jupyter_connect, headers={"Authorization": "token wrong"})
    await refused(jupyter_connect, headers={"Authorization": ""}, params={"token": "wrong"})


async def test_jupyter_accepts_token_in_header_or_query(
    jupyter_connect: Connect, jp_serverapp: Any
) -> None:
    client = await jupyter_connect()  # pytest-jupyter's Authorization header
    await client.join("lab")
    client = await jupyter_connect(
        headers={"Authorization": ""}, params={"token": jp_serverapp.identity_provider.token}
    )
    await client.join("lab")


async def login_cookie(jp_fetch: Any) -> str:
    """The cookie a browser gets after opening a page with the token."""
    response = await jp_fetch("api", "status")
    cookies = [v.split(";", 1)[0] for v in response.headers.get_list("Set-Cookie")]
    assert any(c.startswith("username-") for c in cookies), cookies
    return "; ".join(cookies)


async def test_jupyter_cookie_from_a_foreign_origin_is_refused(
    jupyter_connect: Connect, jp_fetch: Any, jp_http_port: int
) -> None:
    cookie = await login_cookie(jp_fetch)
    # The cookie's name carries the host it was set for (jp_fetch talks to 127.0.0.1).
    host = f"127.0.0.1:{jp_http_port}"
    same_host = {"Authorization": "", "Cookie": cookie, "Host": host}
    client = await jupyter_connect(headers={**same_host, "Origin": f"http://{host}"})
    await client.join("lab")
    await refused(jupyter_connect, headers={**same_host, "Origin": "http://evil.example"})
    await refused(
        jupyter_connect, headers={**same_host, "Origin": f"http://127.0.0.1:{jp_http_port + 1}"}
    )
    # The cookie alone, with no token, is what authenticated the accepted socket.
    await refused(jupyter_connect, headers={"Authorization": "", "Host": host})


async def test_jupyter_token_is_not_ambient_so_any_origin_may_present_it(
    jupyter_connect: Connect,
) -> None:
    client = await jupyter_connect(headers={"Origin": "http://notebook-viewer.example"})
    await client.join("lab")


async def test_standalone_requires_its_token(standalone_connect: Connect) -> None:
    await refused(standalone_connect, token=None)
    await refused(standalone_connect, token="wrong")
    await refused(standalone_connect, token="")
    await refused(standalone_connect, token=None, headers={"Authorization": "token wrong"})
    await refused(standalone_connect, token=None, headers={"Authorization": "Bearer x"})
    by_query = await standalone_connect()
    await by_query.join("lab")
    by_header = await standalone_connect(
        token=None, headers={"Authorization": f"token {STANDALONE_TOKEN}"}
    )
    await by_header.join("lab")
    await by_query.expect(
        "peer-joined",
        peer={"id": by_header.id, "name": "lab", "state": {}, "user": None, "color": None},
    )


async def test_standalone_allows_any_origin_with_the_token(standalone_connect: Connect) -> None:
    client = await standalone_connect(headers={"Origin": "https://colab.example"})
    await client.join("lab")


async def test_standalone_status_page_needs_no_token_and_names_the_protocol(
    standalone: StandaloneServer,
) -> None:
    response = await AsyncHTTPClient().fetch(f"http://{standalone.host}:{standalone.port}/")
    assert json.loads(response.body) == {"nbconference": "signaling", "protocol": 1}


async def test_the_extension_is_seen_to_serve_signaling(
    jp_serverapp: Any, jp_fetch: Any, jp_http_port: int, jp_base_url: str
) -> None:
    await jp_fetch("api", "status")
    server = {
        "url": f"http://127.0.0.1:{jp_http_port}{jp_base_url}",
        "token": jp_serverapp.identity_provider.token,
    }
    assert await endpoint_present(server) is True
