"""``c.NBConference.*`` traits reach the running server (Jupyter config through
pytest-jupyter's ``jp_server_config``; the same settings for the standalone app), and so do
the ``nbconference serve`` flags."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from traitlets import TraitError

from nbconference.__main__ import build_parser
from nbconference.protocol import DEFAULT_LIMITS
from nbconference.server.backends.redis_defaults import (
    REDIS_BYTES_PER_PEER_PER_SECOND,
    REDIS_MAX_QUEUED_BYTES,
)
from nbconference.server.config import SignalingSettings
from support.client import Client, connect_url
from support.signaling_fixtures import Connect
from support.standalone import ServeProcess

ICE = [{"urls": "stun:stun.example.org:3478"}]


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    return {
        "max_peers_per_room": 2,
        "max_message_bytes": 1000,
        "messages_per_second": 5.0,
        "message_burst": 5,
        "reconnect_grace_seconds": 0.3,
        "max_chat_bytes": 300,
        "ice_servers": ICE,
    }


async def test_settings_are_announced_and_enforced(connect: Connect) -> None:
    a, b, c = await connect(), await connect(), await connect()
    welcome = await a.join("lab")
    assert welcome["ice_servers"] == ICE
    assert welcome["limits"] == {
        "max_peers_per_room": 2,
        "max_message_bytes": 1000,
        "messages_per_second": 5.0,
        "message_burst": 5,
        "reconnect_grace_seconds": 0.3,
        "max_chat_bytes": 300,
    }
    await b.join("lab")
    await a.expect("peer-joined")
    await c.send({"type": "join", "room": "lab"})
    await c.expect_error("room-full")  # max_peers_per_room

    await a.send(
        '{"type": "signal", "to": "' + b.id + '", "data": {"candidate": "' + "x" * 1000 + '"}}'
    )
    await a.expect_error("too-large")  # max_message_bytes

    for _ in range(10):  # a burst of 5 at 5 per second cannot take 10 at once
        await a.signal(b)
    refused = relayed = 0
    # Every frame sent is answered (an error to a, or a signal to b) well within this.
    deadline = time.monotonic() + 10.0
    while refused + relayed < 10:
        assert time.monotonic() < deadline, f"only {refused + relayed} of 10 answered"
        done, _ = await asyncio.wait(
            [asyncio.ensure_future(x.recv(1.0)) for x in (a, b)],
            return_when=asyncio.ALL_COMPLETED,
        )
        for task in done:
            with contextlib.suppress(asyncio.TimeoutError):
                kind = task.result()["type"]
                refused += kind == "error"
                relayed += kind == "signal"
    assert 1 <= refused <= 10 - 3 and refused + relayed == 10  # messages_per_second, burst

    b.drop()
    await a.expect("peer-left", id=b.id, timeout=1.0)  # reconnect_grace_seconds


def test_setting_defaults_are_the_protocol_limits() -> None:
    assert SignalingSettings().limits() == DEFAULT_LIMITS


def test_redis_defaults_are_named_once_and_documented() -> None:
    """The settings and the Redis backend's own defaults are the same named values."""
    pytest.importorskip("redis")
    from nbconference.server.backends.redis import RedisBackend
    from nbconference.server.backends.redis_link import Outbox

    settings = SignalingSettings()
    assert settings.redis_max_queued_bytes == REDIS_MAX_QUEUED_BYTES
    assert settings.redis_bytes_per_peer_per_second == REDIS_BYTES_PER_PEER_PER_SECOND
    backend = inspect.signature(RedisBackend).parameters
    assert backend["max_queued_bytes"].default == REDIS_MAX_QUEUED_BYTES
    assert backend["target_bytes_per_second"].default == REDIS_BYTES_PER_PEER_PER_SECOND
    assert inspect.signature(Outbox).parameters["max_queued_bytes"].default == (
        REDIS_MAX_QUEUED_BYTES
    )


def test_the_limits_table_in_the_docs_shows_each_settings_default() -> None:
    """docs/protocol.md's table of limits: each setting it names, with its default."""
    docs = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text("utf-8")
    traits = SignalingSettings.class_traits(config=True)
    checked = []
    for names, values in re.findall(
        r"^\| (`[a-z_]+`(?: / `[a-z_]+`)?) \| ([0-9. /]+) \|", docs, re.M
    ):
        for name, value in zip(names.split(" / "), values.split(" / "), strict=True):
            name = name.strip("`")
            if name in traits:
                assert float(value) == traits[name].default_value, name
                checked.append(name)
    assert {"redis_max_queued_bytes", "redis_bytes_per_peer_per_second", "max_chat_bytes"} <= set(
        checked
    )


def serve_options() -> dict[str, argparse.Action]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices["serve"]._option_string_actions  # type: ignore[no-any-return]


def test_every_setting_has_a_serve_flag_with_its_help() -> None:
    options = serve_options()
    traits = SignalingSettings.class_traits(config=True)
    assert len(traits) >= 8
    for name, trait in traits.items():
        flag = "--" + name.replace("_", "-")
        assert flag in options, f"no {flag} for c.NBConference.{name}"
        assert options[flag].dest == name
        help_text = options[flag].help
        assert trait.help and help_text and help_text.startswith(trait.help), flag
    for kept in ("--host", "--port", "--token", "--allow-origin", "--redis", "--certfile"):
        assert kept in options


async def test_serve_command_line_flags() -> None:
    server = ServeProcess(
        "--max-peers-per-room",
        "1",
        "--reconnect-grace-seconds",
        "0.2",
        "--max-message-bytes",
        "1000",
    )
    try:
        url = (await server.ready()).url_with_token
        first, second = Client(await connect_url(url)), Client(await connect_url(url))
        limits = (await first.join("lab"))["limits"]
        assert limits["max_peers_per_room"] == 1 and limits["reconnect_grace_seconds"] == 0.2
        assert limits["max_message_bytes"] == 1000
        await first.send('{"type": "state", "state": {}, "pad": "' + "x" * 1000 + '"}')
        await first.expect_error("too-large")
        await second.send({"type": "join", "room": "lab"})
        await second.expect_error("room-full")
        first.close()
        second.close()
    finally:
        server.stop()


async def test_serve_hands_out_ice_servers_from_json_or_file(tmp_path: Path) -> None:
    turn = [{"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}]
    (tmp_path / "ice.json").write_text(json.dumps(turn))
    for flag, expected in ((json.dumps(ICE), ICE), (f"@{tmp_path / 'ice.json'}", turn)):
        server = ServeProcess("--ice-servers", flag)
        try:
            client = Client(await connect_url((await server.ready()).url_with_token))
            assert (await client.join("lab"))["ice_servers"] == expected
            client.close()
        finally:
            server.stop()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("{", "not JSON"),
        ('{"urls": "stun:x"}', "expected a list"),
        ('[{"url": "stun:x"}]', "unknown keys ['url']"),
        ('[{"urls": "http://x"}]', "is not a stun:, turn: or turns: URL"),
        ('[{"urls": "turn:x"}]', "TURN needs 'username' and 'credential'"),
        ("@/nonexistent/ice.json", "No such file"),
    ],
)
def test_serve_refuses_bad_ice_servers_before_starting(value: str, reason: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nbconference", "serve", "--port", "0", "--ice-servers", value],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--ice-servers: " in done.stderr and reason in done.stderr


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--backend", "sqlite"], "invalid choice: 'sqlite'"),
        (["--max-message-bytes", "lots"], "invalid int value: 'lots'"),
    ],
)
def test_serve_refuses_bad_setting_values(args: list[str], reason: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nbconference", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and reason in done.stderr, done.stderr


def test_bad_ice_servers_setting_is_refused() -> None:
    with pytest.raises(TraitError, match="ice_servers: entry 0 needs 'urls'"):
        SignalingSettings(ice_servers=[{"username": "u"}])


@pytest.mark.parametrize(
    ("urls", "reason"),
    [
        (["stun:turn.example.org"], "is not a TURN URL"),
        (["turn:turn.example.org:99999"], "port 99999 is out of range"),
        (["turns:turn.example.org:443?transport=udp"], "its transport is tcp"),
        (["turn:turn.example.org?transport=sctp"], "is not a TURN URL"),
    ],
)
def test_bad_turn_urls_are_refused(urls: list[str], reason: str) -> None:
    with pytest.raises(TraitError, match=f"turn_urls: .*{re.escape(reason)}"):
        SignalingSettings(turn_urls=urls)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--turn-urls", '["turn:127.0.0.1:3478"]'], "turn_urls needs turn_secret"),
        (["--turn-secret", "s3cret"], "turn_secret is set but turn_urls is empty"),
        (["--ice-transport-policy", "relay"], "'relay' needs a TURN server"),
        (["--turn-ttl-seconds", "1"], "--turn-ttl-seconds: "),
        (["--turn-secret", "@/nonexistent/secret"], "No such file"),
    ],
)
def test_serve_refuses_incomplete_turn_settings(args: list[str], reason: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nbconference", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and reason in done.stderr, done.stderr
    assert "s3cret" not in done.stderr
