"""``room_access``: rooms only the people a rule names may enter.

The rules on their own (first match wins, globs, ``group:NAME``, ``*``, hosts, no match
is open) and their validation; then a real Jupyter server with the extension, whose
people are named by a cookie (``support.identity.NamedPeople``), with the memory and the
Redis backend: a refused join gets ``not-allowed``, nobody in the room learns of it and
nothing of it is written; a connection with only the server's token is the server's
owner; a KernelPeer and the page say why. ``nbconference serve``, which knows nobody,
refuses the setting.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from traitlets import TraitError

from nbconference.identity import owner_username
from nbconference.protocol import FATAL_JOIN_ERRORS, ErrorCode, ProtocolError, error_frame
from nbconference.server.access import AccessRule, RoomAccess, parse_room_access
from nbconference.server.config import SignalingSettings
from nbconference.server.standalone import start_server
from support.identity import PEOPLE, named_people_server
from support.node import module_url, needs_node, run_module
from support.redis_server import RedisServer
from support.signaling_fixtures import STANDALONE_TOKEN, Connect
from support.standalone import serve_refused

OWNER = owner_username()
RULES: list[dict[str, Any]] = [
    {"rooms": "lab", "allow": ["ada"], "hosts": ["grace"]},
    {"rooms": "own-*", "allow": [OWNER]},
]

ADA = {"username": "ada", "groups": ["teachers"]}
BOB = {"username": "bob"}  # no groups at all, as identities are without a Hub


def access(*rules: dict[str, Any], owner: str | None = None) -> RoomAccess:
    return RoomAccess(parse_room_access(list(rules)), owner)


# -- the rules ------------------------------------------------------------------------


def test_the_first_rule_whose_glob_matches_decides() -> None:
    rules = access(
        {"rooms": "class-1", "allow": ["bob"]},
        {"rooms": "class-*", "allow": ["ada"]},
    )
    assert rules.may_enter("class-1", BOB) and not rules.may_enter("class-1", ADA)
    assert rules.may_enter("class-2", ADA) and not rules.may_enter("class-2", BOB)


def test_globs_are_fnmatch_and_case_sensitive() -> None:
    rules = access({"rooms": "[ab]-room-?", "allow": ["ada"]})
    assert not rules.may_enter("a-room-1", BOB) and not rules.may_enter("b-room-x", BOB)
    # Not matched, so open: another letter, a longer tail, another case.
    for room in ("c-room-1", "a-room-12", "A-room-1"):
        assert rules.rule_for(room) is None and rules.may_enter(room, BOB), room


def test_no_rule_matches_the_room_is_open_to_everyone_admitted() -> None:
    rules = access({"rooms": "staff", "allow": ["ada"]})
    assert rules.may_enter("lab", BOB) and rules.may_enter("lab", None)
    assert RoomAccess().may_enter("anything", None)


def test_group_entries_name_the_members_of_a_group() -> None:
    rules = access({"rooms": "staff", "allow": ["group:teachers"]})
    assert rules.may_enter("staff", ADA)
    assert not rules.may_enter("staff", BOB)  # no groups
    assert not rules.may_enter("staff", {"username": "eve", "groups": ["students"]})
    # A username is not a group, nor a group a username.
    assert not rules.may_enter("staff", {"username": "teachers"})
    rules = access({"rooms": "staff", "allow": ["teachers"]})
    assert not rules.may_enter("staff", ADA)


def test_a_star_is_anyone_verified_never_a_connection_that_names_nobody() -> None:
    rules = access({"rooms": "*", "allow": ["*"]})
    assert rules.may_enter("lab", BOB) and rules.may_enter("lab", ADA)
    assert not rules.may_enter("lab", None)


def test_hosts_may_always_enter_and_are_told_apart() -> None:
    rules = access(
        {"rooms": "exam", "allow": [], "hosts": ["grace"]},
        {"rooms": "class-*", "allow": ["group:teachers", "bob"], "hosts": ["grace"]},
    )
    grace = {"username": "grace"}
    assert rules.may_enter("exam", grace) and not rules.may_enter("exam", ADA)
    assert rules.is_host("exam", grace) and rules.is_host("class-1", grace)
    assert rules.may_enter("class-1", ADA) and not rules.is_host("class-1", ADA)
    assert not rules.is_host("lab", grace)  # no rule for the room: no hosts either


def test_a_connection_without_an_identity_is_the_owner_where_there_is_one() -> None:
    rules = access(
        {"rooms": "mine", "allow": ["ada"]},
        {"rooms": "anyone", "allow": ["*"]},
        {"rooms": "hosted", "allow": ["bob"], "hosts": ["ada"]},
        owner="ada",
    )
    assert rules.may_enter("mine", None) and rules.may_enter("anyone", None)
    assert rules.is_host("hosted", None)
    assert not access({"rooms": "mine", "allow": ["ada"]}).may_enter("mine", None)


def test_a_refusal_names_the_room_and_who_asked_never_who_may_enter() -> None:
    rules = access({"rooms": "lab", "allow": ["ada", "group:secret-club"]})
    with pytest.raises(ProtocolError) as refused:
        rules.check("lab", BOB)
    assert refused.value.code is ErrorCode.NOT_ALLOWED
    message = refused.value.message
    assert "'lab'" in message and "'bob'" in message and "room_access" in message
    assert "ada" not in message and "secret-club" not in message
    with pytest.raises(ProtocolError, match="a connection that names no user"):
        rules.check("lab", None)
    rules.check("hall", None)  # no rule: no error
    assert ErrorCode.NOT_ALLOWED in FATAL_JOIN_ERRORS  # trying again cannot help


# -- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"rooms": "x", "allow": ["a"]}, "expected a list, not the dict"),
        (["lab"], "rule 0 is not an object (got str)"),
        ([{"rooms": "x", "allow": ["a"], "host": ["b"]}], "rule 0 has unknown keys ['host']"),
        ([{"allow": ["a"]}], "rule 0 needs 'rooms'"),
        ([{"rooms": "", "allow": ["a"]}], "rule 0 needs 'rooms'"),
        ([{"rooms": 3, "allow": ["a"]}], "rule 0 needs 'rooms'"),
        ([{"rooms": "x", "allow": "ada"}], "rule 0: 'allow' must be a list, got str"),
        ([{"rooms": "x", "allow": ["a", 7]}], "rule 0: 'allow' holds 7, which is not a string"),
        ([{"rooms": "x", "hosts": [None]}], "'hosts' holds None, which is not a string"),
        ([{"rooms": "x", "allow": ["group:"]}], "'allow' holds 'group:', which names nobody"),
        ([{"rooms": "x", "allow": [""]}], "'allow' holds '', which names nobody"),
        (
            [{"rooms": "x", "allow": ["a"]}, {"rooms": "y", "allow": [], "hosts": []}],
            "rule 1 (rooms 'y') lets nobody in: its 'allow' and 'hosts' are both empty",
        ),
        ([{"rooms": "y"}], "rule 0 (rooms 'y') lets nobody in"),
    ],
)
def test_bad_rules_are_refused_when_the_setting_is_made(value: Any, reason: str) -> None:
    with pytest.raises(TraitError) as refused:
        SignalingSettings(room_access=value)
    assert "room_access" in str(refused.value) and reason in str(refused.value)


def test_good_rules_reach_the_registry() -> None:
    settings = SignalingSettings(room_access=RULES)
    assert settings.room_access == RULES
    registry = settings.make_registry(owner="ada")
    assert registry.access.owner == "ada"
    assert registry.access.rules == (
        AccessRule("lab", ("ada",), ("grace",)),
        AccessRule("own-*", (OWNER,), ()),
    )
    assert SignalingSettings().make_registry().access.rules == ()


# -- nbconference serve knows nobody ------------------------------------------------


def test_serve_refuses_room_access_with_a_reason() -> None:
    said = serve_refused("--room-access", '[{"rooms": "*", "allow": ["*"]}]')
    assert "room_access needs identities" in said
    assert "Jupyter extension" in said and "JupyterHub service" in said
    # A bad rule is named by its flag first.
    said = serve_refused("--room-access", '[{"rooms": "x"}]')
    assert "--room-access: rule 0 (rooms 'x') lets nobody in" in said, said


async def test_start_server_refuses_room_access() -> None:
    settings = SignalingSettings(room_access=[{"rooms": "*", "allow": ["*"]}])
    with pytest.raises(ValueError, match="room_access needs identities"):
        await start_server(settings, port=0, token=STANDALONE_TOKEN)


# -- over a real WebSocket, against the Jupyter extension -----------------------------


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The extension's backend settings: memory, unless a test asks for ``"redis"``."""
    if getattr(request, "param", "memory") == "memory":
        return {}
    pytest.importorskip("redis")
    redis: RedisServer = request.getfixturevalue("redis_server")
    return {"backend": "redis", "redis_url": redis.url}


@pytest.fixture
def nbc_settings(backend: dict[str, Any]) -> dict[str, Any]:
    return {"reconnect_grace_seconds": 3.0, "room_access": RULES, **backend}


@pytest.fixture
def jp_server_config(nbc_settings: dict[str, Any]) -> dict[str, Any]:
    return named_people_server(nbc_settings)


@pytest.mark.parametrize("backend", ["memory", "redis"], indirect=True)
async def test_a_refused_join_is_told_and_the_room_never_learns_of_it(
    jp_serverapp: Any,
    as_browser: Connect,
    backend: dict[str, Any],
    request: pytest.FixtureRequest,
) -> None:
    # What the Jupyter server does once its loop runs (the Redis backend connects).
    await jp_serverapp.extension_manager.start_all_extensions()
    ada = await as_browser("ada")
    await ada.join("lab", "Ada")
    grace = await as_browser("grace")  # a host of "lab", not in its allow list
    await grace.join("lab", "Grace")
    await ada.expect("peer-joined")

    alan = await as_browser("alan")
    await alan.send({"type": "join", "room": "lab", "name": "Alan"})
    refused = await alan.expect_error("not-allowed")
    assert "'lab'" in refused["message"] and "'alan'" in refused["message"]
    await alan.send({"type": "join", "room": "own-room", "name": "Alan"})
    await alan.expect_error("not-allowed")
    await ada.silent()
    await grace.silent()

    # The socket stays open, and a room no rule names is open to it.
    welcome = await alan.join("hall", "Alan")
    assert welcome["peers"] == []
    # Those who may enter "lab" still see only each other.
    late = await as_browser("ada")
    welcome = await late.join("lab", "Ada again")
    assert sorted(p["id"] for p in welcome["peers"]) == sorted([ada.id, grace.id])
    if backend:
        redis: RedisServer = request.getfixturevalue("redis_server")
        assert redis.cli("ZCARD", "nbconference:room:lab:members") == "3"
        assert set(redis.cli("HKEYS", "nbconference:room:lab:peers").split()) == {
            ada.id,
            grace.id,
            late.id,
        }
        assert redis.cli("KEYS", "nbconference:room:own-room*") == ""


async def test_a_connection_with_only_the_token_is_the_servers_owner(
    jupyter_connect: Connect, as_browser: Connect
) -> None:
    assert OWNER and OWNER not in PEOPLE, OWNER
    kernel = await jupyter_connect()  # the server's token, no login cookie
    welcome = await kernel.join("own-notes", "kernel")
    assert welcome["peer"]["user"] is None  # still a label in its record
    ada = await as_browser("ada")
    await ada.send({"type": "join", "room": "own-notes", "name": "Ada"})
    await ada.expect_error("not-allowed")
    await kernel.silent()
    script = await jupyter_connect()
    await script.send({"type": "join", "room": "lab", "name": "script"})
    refused = await script.expect_error("not-allowed")
    assert f"'{OWNER}'" in refused["message"]


async def test_a_kernel_peer_is_told_why(
    jp_serverapp: Any, http_server_client: Any, jp_http_port: int, jp_base_url: str
) -> None:
    """A KernelPeer with the server's token is the owner, whom "lab" does not admit.
    (``http_server_client`` makes the server listen on ``jp_http_port``.)"""
    pytest.importorskip("aiortc")
    from nbconference.peer import KernelPeer, SignalingError

    url = f"ws://127.0.0.1:{jp_http_port}{jp_base_url}nbconference/signal"
    token = jp_serverapp.identity_provider.token
    with pytest.raises(SignalingError, match="admits only the people") as refused:
        await KernelPeer.join("lab", url=url, token=token, timeout=10.0)
    assert refused.value.code == "not-allowed"
    assert f"'{OWNER}'" in str(refused.value)


@needs_node
def test_the_page_says_why_and_stops() -> None:
    with pytest.raises(ProtocolError) as refused:
        access({"rooms": "lab", "allow": ["ada"]}).check("lab", BOB)
    frame = error_frame(refused.value.code, refused.value.message)
    result = run_module(
        f"""
        import * as p from {json.dumps(module_url("protocol.js"))};
        const frame = p.readServerFrame(JSON.parse({json.dumps(frame)}));
        console.log(JSON.stringify({{
          said: p.describeJoinRefusal(frame),
          fatal: p.FATAL_JOIN_ERRORS.has(frame.code),
        }}));
        """
    )
    assert result == {
        "said": "Cannot join: room 'lab' admits only the people its server's room_access "
        "names, and not 'bob'.",
        "fatal": True,
    }
