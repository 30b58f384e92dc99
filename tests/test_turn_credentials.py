"""TURN credentials that expire, against a real coturn (``use-auth-secret``): every peer's
``welcome`` carries its own, coturn allocates with them and refuses expired or forged
ones, they are renewed before they expire and on a resume, and the shared secret never
reaches a client, a log or the command line."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aioice.stun import TransactionFailed

from nbconference.server.turn import RENEW_AT, TurnSettings, turn_password
from support.client import Client, connect_url
from support.coturn import Coturn, allocate, needs_coturn, running_coturn
from support.signaling_fixtures import Connect
from support.standalone import ServeProcess

pytestmark = needs_coturn

TTL = 5


@pytest.fixture(scope="module")
def coturn() -> Iterator[Coturn]:
    with running_coturn() as server:
        yield server


@pytest.fixture
def nbc_settings(coturn: Coturn) -> dict[str, Any]:
    return {
        "reconnect_grace_seconds": 30.0,
        "turn_urls": [coturn.url, coturn.tcp_url],
        "turn_secret": coturn.secret,
        "turn_ttl_seconds": TTL,
        "ice_transport_policy": "relay",
    }


def turn_server(ice_servers: list[dict[str, Any]]) -> dict[str, Any]:
    (server,) = [s for s in ice_servers if str(s["urls"][0]).startswith("turn")]
    return server


def expiry_of(server: dict[str, Any], peer_id: str) -> int:
    expiry, _, who = str(server["username"]).partition(":")
    assert who == peer_id, server
    return int(expiry)


async def test_minted_credentials_allocate_a_relay_over_udp_and_tcp(coturn: Coturn) -> None:
    server = TurnSettings((coturn.url,), coturn.secret, 600).ice_server("peer-1")
    before = coturn.allocations()
    for transport in ("udp", "tcp"):
        host, port = await allocate(
            coturn.port, server["username"], server["credential"], transport
        )
        assert host == "127.0.0.1" and port > 0
    assert coturn.allocations() == before + 2


@pytest.mark.parametrize("fault", ["expired", "wrong secret", "other peer's password"])
async def test_coturn_refuses_credentials_that_are_expired_or_forged(
    coturn: Coturn, fault: str
) -> None:
    now = time.time()
    if fault == "expired":
        username = f"{int(now) - 1}:peer-1"
        password = turn_password(coturn.secret, username)
    elif fault == "wrong secret":
        username = f"{int(now) + 600}:peer-1"
        password = turn_password("not-" + coturn.secret, username)
    else:
        username = f"{int(now) + 600}:peer-1"
        password = turn_password(coturn.secret, f"{int(now) + 600}:peer-2")
    with pytest.raises(TransactionFailed, match="401"):
        await allocate(coturn.port, username, password)


async def test_welcome_carries_credentials_of_this_peer_that_coturn_takes(
    connect: Connect, coturn: Coturn
) -> None:
    a, b = await connect(), await connect()
    joined_at = time.time()
    welcome_a = await a.join("lab")
    welcome_b = await b.join("lab")
    assert welcome_a["ice_transport_policy"] == "relay"
    turn_a, turn_b = turn_server(welcome_a["ice_servers"]), turn_server(welcome_b["ice_servers"])
    assert turn_a["urls"] == [coturn.url, coturn.tcp_url]
    assert abs(expiry_of(turn_a, a.id) - (joined_at + TTL)) <= 2
    assert expiry_of(turn_b, b.id) >= expiry_of(turn_a, a.id)
    assert turn_a["credential"] != turn_b["credential"]
    await allocate(coturn.port, turn_a["username"], turn_a["credential"])


async def frames_until(client: Client, kind: str, timeout: float) -> list[dict[str, Any]]:
    """Every frame ``client`` gets up to and with the first of type ``kind``."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not frames or frames[-1]["type"] != kind:
        frames.append(await client.recv(max(0.01, deadline - time.monotonic())))
    return frames


async def test_credentials_are_renewed_before_they_expire(connect: Connect, coturn: Coturn) -> None:
    a = await connect()
    first = turn_server((await a.join("lab"))["ice_servers"])
    given = time.monotonic()
    frames = await frames_until(a, "ice-servers", TTL)
    renewed_after = time.monotonic() - given
    # Not at once, and before they expire (the timer starts as the welcome goes out).
    assert TTL * RENEW_AT / 2 <= renewed_after < TTL, renewed_after
    renewed = turn_server(frames[-1]["ice_servers"])
    assert expiry_of(renewed, a.id) > expiry_of(first, a.id)
    # Once the first credential has expired, coturn refuses it and takes the new one.
    await asyncio.sleep(max(0.0, expiry_of(first, a.id) + 1.1 - time.time()))
    with pytest.raises(TransactionFailed, match="401"):
        await allocate(coturn.port, first["username"], first["credential"])
    await allocate(coturn.port, renewed["username"], renewed["credential"])
    # And again, for as long as the peer stays.
    frames = await frames_until(a, "ice-servers", TTL)
    assert expiry_of(turn_server(frames[-1]["ice_servers"]), a.id) > expiry_of(renewed, a.id)


async def test_a_resume_brings_fresh_credentials(connect: Connect, coturn: Coturn) -> None:
    a = await connect()
    first = turn_server((await a.join("lab"))["ice_servers"])
    peer_id, token = a.id, a.resume
    a.drop()
    # Away past its first credential's expiry (inside the grace window): no renewal can
    # reach it, so the resume must bring one.
    await asyncio.sleep(max(0.0, expiry_of(first, peer_id) + 1.1 - time.time()))
    back = await connect()
    welcome = await back.join("lab", resume=token)
    assert welcome["resumed"] is True and welcome["id"] == peer_id
    fresh = turn_server(welcome["ice_servers"])
    assert expiry_of(fresh, peer_id) > time.time() + TTL - 2
    await allocate(coturn.port, fresh["username"], fresh["credential"])
    # Its renewals go on from the resume.
    frames = await frames_until(back, "ice-servers", TTL)
    assert expiry_of(turn_server(frames[-1]["ice_servers"]), peer_id) > expiry_of(fresh, peer_id)


async def test_the_secret_never_reaches_a_client(
    connect: Connect, coturn: Coturn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    a, b = await connect(), await connect()
    seen = [await a.join("lab"), await b.join("lab")]
    await b.signal(a, {"candidate": {"candidate": "", "sdpMid": "0"}})
    await a.send({"type": "chat", "text": "hello"})
    seen += await frames_until(a, "ice-servers", TTL)
    seen += await frames_until(b, "ice-servers", TTL)
    token = a.resume
    a.drop()
    back = await connect()
    seen.append(await back.join("lab", resume=token))
    text = json.dumps(seen)
    assert {"welcome", "peer-joined", "signal", "chat", "ice-servers"} <= {f["type"] for f in seen}
    assert coturn.secret not in text
    assert coturn.secret not in caplog.text


def test_serve_takes_the_turn_flags_and_keeps_the_secret_to_itself(
    coturn: Coturn, tmp_path: Path
) -> None:
    secret_file = tmp_path / "turn-secret"
    secret_file.write_text(coturn.secret + "\n")
    urls = json.dumps([coturn.url])
    with ServeProcess(
        *("--turn-urls", urls, "--turn-secret", f"@{secret_file}"),
        *("--turn-ttl-seconds", "600", "--ice-transport-policy", "relay"),
    ) as server:

        async def join() -> dict[str, Any]:
            client = Client(await connect_url(server.url_with_token))
            try:
                return await client.join("lab")
            finally:
                client.close()

        welcome = asyncio.run(join())
        assert welcome["ice_transport_policy"] == "relay"
        minted = turn_server(welcome["ice_servers"])
        asyncio.run(allocate(coturn.port, minted["username"], minted["credential"]))
        command_line = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode()
        assert coturn.secret not in command_line and coturn.secret not in server.output()
