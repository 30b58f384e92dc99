"""A real JupyterHub with nbconference as its service: two users, each on their own
server, meet through the one trusted signaling process, known by their Hub names.

JupyterHub comes from PyPI and configurable-http-proxy from npm (package.json); the Hub
spawns each user's server (``SimpleLocalProcessSpawner``, as root) and starts
``nbconference serve`` as a managed service, as docs/deployment.md describes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, BrowserContext, Error

from nbconference.client.socket import SignalingError, SignalingSocket
from support.hub import SERVICE, SERVICE_SCOPES, Hub, HubUserServer, running_hub
from support.meeting import wait_for_join, widget_cells
from support.mesh import wait_for_full_mesh
from support.pages import TEST_HOOKS_JS, VIEWPORT, Participant, begin_open, finish_open
from support.polling import wait_until
from support.redis_server import RedisServer, running_redis

TIMEOUT = 60.0
HUB_SIGNALING = "via the Hub's nbconference service"
ROOM = "hub-class"
T = TypeVar("T")


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, redis: RedisServer) -> Iterator[Hub]:
    """A Hub whose service keeps its rooms in Redis, so that replicas can share them."""
    folder = tmp_path_factory.mktemp("hub")
    rules = [{"rooms": "staff-*", "allow": ["group:teachers"]}]
    service_args = ["--redis", redis.url, "--room-access", json.dumps(rules)]
    users, groups = ["ada", "bob", "carol", "dan"], {"teachers": ["ada"]}
    # Everyone may find the service; all but dan may use it.
    see = [f"read:services!service={SERVICE}", f"list:services!service={SERVICE}"]
    use = {"name": "use-nbconference", "scopes": list(SERVICE_SCOPES), "users": users[:3]}
    with running_hub(folder, users, groups, service_args, roles=[use], user_scopes=see) as running:
        yield running


def signed_in(browser: Browser, hub: Hub, user: str) -> BrowserContext:
    """A browser of ``user``'s own, signed in to the Hub, with camera and microphone."""
    width, height = VIEWPORT
    context = browser.new_context(viewport={"width": width, "height": height})
    context.grant_permissions(["camera", "microphone"])
    context.add_init_script(TEST_HOOKS_JS)
    hub.sign_in(context, user)
    return context


def write_notebook(server: HubUserServer, name: str, cells: list[str]) -> str:
    server.root_dir.mkdir(parents=True, exist_ok=True)
    return server.write_notebook(name, cells)


def status_text(person: Participant) -> str:
    return str(person.page.locator(".nbc-root .nbc-status").first.inner_text())


def in_a_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end on a loop of its own (Playwright's sync API holds
    this thread's)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


STATE = {"camera": False, "microphone": False, "screen": False}


async def join_as(hub: Hub, token: str, room: str, name: str) -> dict[str, Any]:
    """The welcome of a socket to the service through the Hub's proxy, as a kernel opens
    one, showing ``token``."""
    url = f"ws://127.0.0.1:{hub.port}/services/{SERVICE}/nbconference/signal"
    socket = await SignalingSocket.connect(url, token)
    try:
        return await socket.join(room, name, STATE)
    finally:
        await socket.aclose()


async def meet(first: tuple[str, str], second: tuple[str, str], room: str) -> list[Any]:
    """Join ``room`` at two signaling URLs with two tokens, the first staying while the
    second joins; what each learns of the other: the second's welcome lists the first,
    and the first hears the second join."""
    one = await SignalingSocket.connect(*first)
    try:
        welcome_one = await one.join(room, "one", STATE)
        two = await SignalingSocket.connect(*second)
        try:
            welcome_two = await two.join(room, "two", STATE)
            joined = await asyncio.wait_for(one.receive(), 10)
            while joined.get("type") == "hosts":  # the first verified joiner was made host
                joined = await asyncio.wait_for(one.receive(), 10)
        finally:
            await two.aclose()
    finally:
        await one.aclose()
    listed = [peer for peer in welcome_two["peers"] if peer["id"] == welcome_one["id"]]
    return [listed, joined]


def test_two_users_of_a_hub_meet_through_its_service_as_themselves(
    browser: Browser, hub: Hub
) -> None:
    ada_server = hub.start_server("ada")
    bob_server = hub.start_server("bob")
    contexts: list[BrowserContext] = []
    people: list[Participant] = []
    try:
        for server in (ada_server, bob_server):
            user = server.user
            notebook = write_notebook(server, "call.ipynb", widget_cells(ROOM, user))
            context = signed_in(browser, hub, user)
            contexts.append(context)
            person = begin_open(browser, server, notebook, user, context=context)
            people.append(person)
        for person in people:
            finish_open(person)
        for person in people:
            wait_for_join(person, TIMEOUT)
        wait_for_full_mesh(people)
        ada, bob = people

        # Both joined the Hub's service, and say so; each knows the other by Hub name.
        for person in people:
            assert HUB_SIGNALING in status_text(person)
            assert person.value("w.signaling_message()['mode']") == "hub"
            assert person.value("w.signaling_message()['token']") == "", "no token to pages"
        seen_by_ada = {p["id"]: p for p in ada.value("w.peers")}
        seen_by_bob = {p["id"]: p for p in bob.value("w.peers")}
        assert seen_by_ada[bob.peer_id]["username"] == "bob"
        assert seen_by_ada[bob.peer_id]["verified"] is True
        assert seen_by_ada[bob.peer_id]["groups"] == []
        assert seen_by_bob[ada.peer_id]["username"] == "ada"
        assert seen_by_bob[ada.peer_id]["groups"] == ["teachers"]
        tile_names = bob.page.locator(".nbc-root .nbc-tile .nbc-name").all_inner_texts()
        assert any("ada" in name for name in tile_names), tile_names

        # A KernelPeer in ada's kernel finds the service by itself, with her server's
        # Hub token, and is ada to everyone.
        ada.run(
            "from nbconference import KernelPeer\n"
            f"kp = await KernelPeer.join({ROOM!r}, name='not ada')\n"
        )
        kernel_peer = wait_until(
            lambda: ada.value("kp.id if kp.status == 'joined' else ''"), TIMEOUT, "kp to join"
        )
        wait_until(
            lambda: kernel_peer in {p["id"] for p in bob.value("w.peers")},
            TIMEOUT,
            "bob's kernel to see ada's KernelPeer",
        )
        record = next(p for p in bob.value("w.peers") if p["id"] == kernel_peer)
        assert (record["username"], record["name"], record["groups"]) == (
            "ada",
            "ada",
            ["teachers"],
        ), record
        ada.run("await kp.leave()")

        # bob's token names bob, whatever his socket claims; no token, nobody.
        welcome = in_a_thread(join_as(hub, bob_server.token, ROOM, "ada"))
        assert welcome["peer"]["user"]["username"] == "bob", welcome["peer"]
        assert welcome["peer"]["name"] == "bob"
        with pytest.raises(SignalingError) as refused:
            in_a_thread(join_as(hub, "", ROOM, "nobody"))
        assert refused.value.code == "forbidden", refused.value

        # A room_access rule on the service keeps bob out of the teachers' room; ada, in
        # the Hub's group "teachers", enters.
        with pytest.raises(SignalingError) as refused:
            in_a_thread(join_as(hub, bob_server.token, "staff-room", "bob"))
        assert refused.value.code == "not-allowed", refused.value
        welcome = in_a_thread(join_as(hub, ada_server.token, "staff-room", "ada"))
        assert welcome["peer"]["user"]["groups"] == ["teachers"], welcome["peer"]

        # The default room of ada's notebook is hers: bob, who could learn its name, is
        # kept out; carol gets in once ada's server is shared with her on the Hub.
        default_room = ada.value(
            "__import__('nbconference.notebook_room').notebook_room.notebook_room("
            "__import__('os').environ['JPY_SESSION_NAME'])"
        )
        assert default_room.startswith("ada~"), default_room
        carol_token = hub.token_for("carol")
        for token in (bob_server.token, carol_token):
            with pytest.raises(SignalingError) as refused:
                in_a_thread(join_as(hub, token, default_room, "someone"))
            assert refused.value.code == "not-allowed", refused.value
        hub.api("POST", "shares/ada/", {"user": "carol"})
        welcome = in_a_thread(join_as(hub, carol_token, default_room, "carol"))
        assert welcome["peer"]["user"]["username"] == "carol"
        assert not welcome["peer"].get("host"), "the first in the room, but not its owner"
        welcome = in_a_thread(join_as(hub, ada_server.token, default_room, "ada"))
        assert welcome["peer"]["user"]["username"] == "ada"
        assert welcome["peer"].get("host") is True, "the notebook server's owner hosts"
    finally:
        for person in people:
            person.close()
        for context in contexts:
            with contextlib.suppress(Error):
                context.close()


def test_two_replicas_of_the_service_hold_one_room_through_redis(hub: Hub) -> None:
    """A Hub service of several replicas (behind a load balancer; here the managed one
    and another started with the same service environment) shares its rooms through
    Redis: ada on one replica and bob on the other meet, each as the Hub names them."""
    ada, bob = hub.token_for("ada"), hub.token_for("bob")
    proxied = f"ws://127.0.0.1:{hub.port}/services/{SERVICE}/nbconference/signal"
    with hub.replica() as replica:
        listed, joined = in_a_thread(meet((proxied, ada), (replica, bob), "replicas"))
    assert [peer["user"]["username"] for peer in listed] == ["ada"], listed
    assert joined["type"] == "peer-joined", joined
    assert joined["peer"]["user"]["username"] == "bob", joined


def test_a_user_the_hub_does_not_let_use_the_service_is_told_why_at_once(
    browser: Browser, hub: Hub
) -> None:
    """dan's kernel finds the service, but the Hub refuses his page's sign-in (he lacks
    ``access:services!service=nbconference``; its refusal is a page the Hub does not let
    be framed): the page says so well before the sign-in's time limit (20 s), names the
    page that shows the Hub's reason, and joins nothing."""
    server = hub.start_server("dan")
    notebook = write_notebook(server, "call.ipynb", widget_cells(ROOM, "dan"))
    context = signed_in(browser, hub, "dan")
    person = begin_open(browser, server, notebook, "dan", context=context)
    try:
        finish_open(person)
        person.page.locator(".nbc-root .nbc-status").first.wait_for(timeout=TIMEOUT * 1000)
        said = wait_until(
            lambda: status_text(person) if "did not sign you in" in status_text(person) else "",
            15,  # the sign-in's time limit is 20 s
            "the page to say the Hub refused the sign-in",
        )
        assert "does not let you use nbconference" in said, said
        assert f"/services/{SERVICE}/login" in said, said
        assert wait_until(lambda: person.value("w.status") == "error", TIMEOUT, "w.status")
        assert "did not sign you in" in person.value("w.error")
    finally:
        person.close()
        with contextlib.suppress(Error):
            context.close()
