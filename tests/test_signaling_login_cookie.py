"""Who a socket that shows the server's token is, in the Jupyter extension: somebody only
when Jupyter read a user from a valid login cookie. A cookie that merely has the login
cookie's name names nobody: such sockets are the token's (the server's owner), share its
one socket count, and carry no identity stamp."""

from __future__ import annotations

from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from support.client import Client
from support.signaling_fixtures import Connect

CAP = 8
ATTEMPTS = 40


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    return {"reconnect_grace_seconds": 3.0, "max_sockets_per_user": CAP}


async def login_cookie(jp_fetch: Any) -> tuple[str, str]:
    """The name and value of the login cookie a browser gets from a page opened with the
    token (Jupyter's own anonymous user, signed by the server)."""
    response = await jp_fetch("api", "me")
    for header in response.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        if name.startswith("username-"):
            return name, rest.split(";", 1)[0]
    raise AssertionError(f"no login cookie in {response.headers.get_list('Set-Cookie')}")


@pytest.fixture
def with_cookie(jupyter_connect: Connect, jp_http_port: int) -> Any:
    """Open a socket with the token (as a script's) and ``Cookie: name=value``."""

    async def connect(name: str, value: str, token: bool = True) -> Client:
        # The cookie's name carries the host it was set for (jp_fetch talks to 127.0.0.1).
        headers = {"Cookie": f"{name}={value}", "Host": f"127.0.0.1:{jp_http_port}"}
        if not token:
            headers["Authorization"] = ""
        return await jupyter_connect(headers=headers)

    return connect


async def test_a_junk_login_cookie_names_nobody_and_shares_the_tokens_cap(
    with_cookie: Any, jupyter_connect: Connect, jp_fetch: Any
) -> None:
    name, _ = await login_cookie(jp_fetch)
    admitted: list[Client] = []
    refused = []
    for n in range(ATTEMPTS):
        try:
            admitted.append(await with_cookie(name, f"junk{n}"))
        except HTTPClientError as error:
            refused.append(error.code)
    assert (len(admitted), refused) == (CAP, [429] * (ATTEMPTS - CAP))
    # They are the token's: a script with the token alone finds its count full too.
    with pytest.raises(HTTPClientError, match="429"):
        await jupyter_connect()
    first, second = admitted[:2]
    await first.join("lab", "claims to be somebody")
    (record,) = (await second.join("lab", "another"))["peers"]
    assert record["user"] is None and record["name"] == "claims to be somebody"


async def test_a_real_login_cookie_names_its_user_with_or_without_the_token(
    with_cookie: Any, jupyter_connect: Connect, jp_fetch: Any
) -> None:
    name, value = await login_cookie(jp_fetch)
    scripts = [await jupyter_connect() for _ in range(CAP)]  # the token's count is full
    browser = await with_cookie(name, value)
    page = await with_cookie(name, value, token=False)
    await browser.join("lab", "b")
    (record,) = (await page.join("lab", "p"))["peers"]
    user = record["user"]
    assert user is not None and user["display_name"].startswith("Anonymous ")
    assert record["name"] == user["display_name"]
    joined = (await browser.expect("peer-joined"))["peer"]
    assert joined["user"] == user, "both sockets are the same login"
    # The login has a count of its own: CAP sockets in all, whatever the token's.
    more = [await with_cookie(name, value) for _ in range(CAP - 2)]
    with pytest.raises(HTTPClientError, match="429"):
        await with_cookie(name, value, token=False)
    assert len(scripts) + len(more) == 2 * CAP - 2
