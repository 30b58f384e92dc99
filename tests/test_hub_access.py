"""Who enters a room of one user's on a real JupyterHub (a notebook's default room,
``"ada~..."``): its owner, and whoever the Hub lets open one of the owner's servers, by a
role's ``access:servers`` scope (to the user, to one server, to a group's members, to every
server) or by JupyterHub's sharing (to the user or to a group). Everyone else is refused
with ``not-allowed``, and nobody in the room learns of it.

Each participant shows the token a browser of theirs holds once signed in to the service
(its OAuth flow, run here without a browser: a browser adds nothing to what the Hub puts
in the token). tests/browser/test_browser_hub.py covers pages, kernels and their servers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from nbconference.client.socket import SignalingError, SignalingSocket
from support.hub import SERVICE, Hub, running_hub

STATE = {"camera": False, "microphone": False, "screen": False}
ROOM = "ada~notebook-3f1c2b9a0d4e"
# Who may open ada's server, and how the Hub says so.
ROLES = [
    {"name": "ada-teacher", "scopes": ["access:servers!user=ada"], "users": ["tess"]},
    {"name": "ada-server", "scopes": ["access:servers!server=ada/"], "users": ["sam"]},
    {"name": "pupils-teachers", "scopes": ["access:servers!group=pupils"], "groups": ["staff"]},
    {"name": "every-server", "scopes": ["access:servers"], "users": ["olga"]},
]
GROUPS = {"pupils": ["ada"], "staff": ["gia"], "guests": ["gus"]}
USERS = ["ada", "bob", "tess", "sam", "gia", "olga", "carol", "gus"]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with running_hub(tmp_path_factory.mktemp("hub"), USERS, GROUPS, roles=ROLES) as running:
        yield running


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    """Each user's browser token for the service, taken before anything is shared."""
    return {user: hub.oauth_token(user) for user in USERS}


def signal_url(hub: Hub) -> str:
    return f"ws://127.0.0.1:{hub.port}/services/{SERVICE}/nbconference/signal"


def server_scopes(hub: Hub, token: str) -> set[str]:
    """The ``access:servers`` scopes of the user model the service gets for ``token``."""
    model = hub.api("GET", "user", token=token)
    return {scope for scope in model["scopes"] if scope.split("!")[0] == "access:servers"}


def test_a_browsers_token_carries_the_roles_access_to_servers_but_no_share(
    hub: Hub, tokens: dict[str, str]
) -> None:
    """What the design rests on (JupyterHub 6.1): with ``access:servers`` among the
    service's ``oauth_client_allowed_scopes``, a browser's token carries the user's own
    ``access:servers`` scopes, role-given ones included, a ``!group=`` filter as it is;
    a share reaches no browser token, made before the sign-in or after."""
    expected = {
        "ada": {"access:servers!user=ada"},
        "bob": {"access:servers!user=bob"},
        "tess": {"access:servers!user=tess", "access:servers!user=ada"},
        "sam": {"access:servers!user=sam", "access:servers!server=ada/"},
        "gia": {"access:servers!user=gia", "access:servers!group=pupils"},
        "olga": {"access:servers"},
    }
    for user, scopes in expected.items():
        assert server_scopes(hub, tokens[user]) == scopes, user
    hub.api("POST", "shares/ada/", {"user": "carol"})
    hub.api("POST", "shares/ada/", {"group": "guests"})
    try:
        for user in ("carol", "gus"):
            signed_in_later = hub.oauth_token(user)
            for token in (tokens[user], signed_in_later):
                assert server_scopes(hub, token) == {f"access:servers!user={user}"}, user
    finally:
        hub.api("DELETE", "shares/ada/")


async def join(hub: Hub, token: str, room: str = ROOM) -> tuple[SignalingSocket, dict[str, Any]]:
    socket = await SignalingSocket.connect(signal_url(hub), token)
    try:
        return socket, await socket.join(room, "someone", STATE)
    except BaseException:
        await socket.aclose()
        raise


async def refused(hub: Hub, token: str, room: str = ROOM) -> str:
    """The code a join of ``room`` with ``token`` is refused with."""
    with pytest.raises(SignalingError) as refusal:
        socket, _ = await join(hub, token, room)
        await socket.aclose()
    return refusal.value.code


async def nothing_but_pong(socket: SignalingSocket) -> None:
    """Nothing reached ``socket`` before the answer to a ping sent now."""
    socket.send({"type": "ping", "id": "quiet"})
    frame = await asyncio.wait_for(socket.receive(), 10)
    assert frame == {"type": "pong", "id": "quiet"}, frame


async def test_those_the_hub_lets_open_adas_server_enter_her_room_and_no_other(
    hub: Hub, tokens: dict[str, str]
) -> None:
    ada, welcome = await join(hub, tokens["ada"])
    seen: list[Any] = [welcome]
    try:
        assert welcome["peer"].get("host") is True, "the owner hosts her room"
        assert await refused(hub, tokens["bob"]) == "not-allowed"
        await nothing_but_pong(ada)  # no trace of bob in the room

        for user in ("tess", "sam", "gia", "olga"):
            guest, welcome = await join(hub, tokens[user])
            seen.append(welcome)
            try:
                assert welcome["peer"]["user"]["username"] == user
                assert not welcome["peer"].get("host"), f"{user} may enter, not host"
                assert [p["user"]["username"] for p in welcome["peers"]] == ["ada"]
                joined = await asyncio.wait_for(ada.receive(), 10)
                seen.append(joined)
                assert joined["type"] == "peer-joined", joined
                assert joined["peer"]["user"]["username"] == user, joined
            finally:
                await guest.aclose()
            seen.append(await asyncio.wait_for(ada.receive(), 10))  # peer-left

        # A user's own access is to their own rooms: tess's grant is ada's, not bob's.
        assert await refused(hub, tokens["tess"], "bob~notebook-1") == "not-allowed"
        assert await refused(hub, tokens["gia"], "bob~notebook-1") == "not-allowed"
        await nothing_but_pong(ada)
    finally:
        await ada.aclose()
    # What peers receive names each person and nothing of their scopes.
    text = json.dumps(seen)
    assert "access:" not in text and "scopes" not in text and "grants" not in text, text


async def test_a_share_of_adas_server_to_a_user_or_their_group_lets_them_in(
    hub: Hub, tokens: dict[str, str]
) -> None:
    """Shares reach no browser token (see above): the service asks the Hub for them."""
    for user in ("carol", "gus"):
        assert await refused(hub, tokens[user]) == "not-allowed", user
    hub.api("POST", "shares/ada/", {"user": "carol"})
    hub.api("POST", "shares/ada/", {"group": "guests"})
    try:
        for user in ("carol", "gus"):
            guest, welcome = await join(hub, tokens[user])
            await guest.aclose()
            assert welcome["peer"]["user"]["username"] == user
            assert not welcome["peer"].get("host")
    finally:
        hub.api("DELETE", "shares/ada/")


async def test_bobs_token_can_neither_list_rooms_nor_read_adas_chat(
    hub: Hub, tokens: dict[str, str]
) -> None:
    """The protocol names no room list; a room's chat reaches those in the room alone, and
    bob is kept out of ada's: nothing of what she wrote reaches his socket."""
    ada, _ = await join(hub, tokens["ada"])
    bob = await SignalingSocket.connect(signal_url(hub), tokens["bob"])
    heard: list[Any] = []
    try:
        ada.send({"type": "chat", "text": "the answer is 42"})
        bob.send({"type": "list-rooms"})
        heard.append(await asyncio.wait_for(bob.receive(), 10))
        assert heard[-1]["type"] == "error" and heard[-1]["code"] == "bad-message", heard
        with pytest.raises(SignalingError) as refusal:
            await bob.join(ROOM, "bob", STATE)
        assert refusal.value.code == "not-allowed"
        bob.send({"type": "ping", "id": "after"})
        while heard[-1] != {"type": "pong", "id": "after"}:
            heard.append(await asyncio.wait_for(bob.receive(), 10))
    finally:
        await bob.aclose()
        await ada.aclose()
    assert "42" not in json.dumps(heard), heard
