"""A real ``jupyter server`` (each user's server runs the extension) and a standalone
server meet in one room through Redis."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from nbconference.server.standalone import StandaloneServer
from support.client import Client, connect_url
from support.polling import eventually
from support.processes import free_port, spawn, stop
from support.redis_fixtures import open_client, start_redis_standalone
from support.redis_server import RedisServer

JUPYTER_TOKEN = "jupyter-redis-token"


@pytest.fixture
def jupyter_url(redis_server: RedisServer) -> Iterator[str]:
    """``jupyter server`` in a subprocess, configured with the Redis backend."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="nbc-jupyter-") as home:
        proc = spawn(
            [
                *(sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root"),
                *(f"--port={port}", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={home}"),
                f"--IdentityProvider.token={JUPYTER_TOKEN}",
                '--ServerApp.jpserver_extensions={"nbconference": True}',
                "--NBConference.backend=redis",
                f"--NBConference.redis_url={redis_server.url}",
            ],
            Path(home) / "server.log",
            {**os.environ, "HOME": home, "JUPYTER_RUNTIME_DIR": f"{home}/runtime"},
        )
        try:
            yield f"127.0.0.1:{port}"
        finally:
            stop(proc)


async def jupyter_ready(address: str) -> bool:
    url = f"http://{address}/api/status?token={JUPYTER_TOKEN}"
    try:
        response = await AsyncHTTPClient().fetch(url, request_timeout=2, raise_error=False)
    except OSError:
        return False
    return response.code == 200


async def logged_in(jupyter_url: str, clients: list[Client]) -> tuple[Client, dict[str, Any]]:
    """A browser of the Jupyter server (Ada), and the identity its login cookie names."""
    me = await AsyncHTTPClient().fetch(f"http://{jupyter_url}/api/me?token={JUPYTER_TOKEN}")
    cookie = "; ".join(c.split(";", 1)[0] for c in me.headers.get_list("Set-Cookie"))
    ada = Client(
        await connect_url(f"ws://{jupyter_url}/nbconference/signal", headers={"Cookie": cookie})
    )
    clients.append(ada)
    return ada, json.loads(me.body)["identity"]


async def test_jupyter_server_and_standalone_share_a_room(
    jupyter_url: str,
    redis_server: RedisServer,
    servers: list[StandaloneServer],
    clients: list[Client],
) -> None:
    await eventually(lambda: jupyter_ready(jupyter_url), 60, "Jupyter to answer", interval=0.2)
    standalone = await start_redis_standalone(redis_server.url)
    servers.append(standalone)
    ada, user = await logged_in(jupyter_url, clients)
    bob = await open_client(standalone.url, clients)
    await ada.join("hub", "Ada")
    welcome = await bob.join("hub", "Bob")
    assert [p["id"] for p in welcome["peers"]] == [ada.id]
    # Her identity stamp crossed Redis with her record; Bob's server knows nobody.
    assert welcome["peers"][0]["user"]["username"] == user["username"]
    assert welcome["peers"][0]["name"] == user["display_name"]
    joined = await ada.expect("peer-joined")
    assert joined["peer"] == {"id": bob.id, "name": "Bob", "state": {}, "user": None, "color": None}
    await bob.signal(ada, {"description": {"type": "offer", "sdp": "v=0"}})
    message = await ada.expect("signal", **{"from": bob.id})
    assert message["data"] == {"description": {"type": "offer", "sdp": "v=0"}}
    await ada.signal(bob, {"description": {"type": "answer", "sdp": "v=0"}})
    await bob.expect("signal", **{"from": ada.id})
    await ada.send({"type": "state", "state": {"screen": True}})
    await bob.expect("peer-state", id=ada.id, state={"screen": True})
    ada.close()
    await bob.expect("peer-left", id=ada.id)


async def test_a_label_on_another_server_cannot_pass_for_a_verified_person(
    jupyter_url: str,
    redis_server: RedisServer,
    servers: list[StandaloneServer],
    clients: list[Client],
) -> None:
    """The standalone server follows nobody in the room when its first member joins: the
    records of Jupyter's verified members reach it from Redis, and its unverified join is
    kept apart from them all the same."""
    await eventually(lambda: jupyter_ready(jupyter_url), 60, "Jupyter to answer", interval=0.2)
    standalone = await start_redis_standalone(redis_server.url)
    servers.append(standalone)
    ada, _ = await logged_in(jupyter_url, clients)
    ada_record = (await ada.join("hub", "Ada", color="#123456"))["peer"]
    forger = await open_client(standalone.url, clients)
    await forger.send(
        {"type": "join", "room": "hub", "name": ada_record["name"], "color": "#123456"}
    )
    record = (await forger.expect("welcome"))["peer"]
    assert record["user"] is None and record["color"] is None
    assert record["name"] == ada_record["name"] + " (unverified)"
    # Ada's page may see the first record come and go; what stays is the one kept apart.
    joined: list[dict[str, Any]] = []
    while not joined or joined[-1]["id"] != record["id"]:
        frame = await ada.recv()
        if frame["type"] == "peer-joined":
            joined.append(frame["peer"])
    assert joined[-1]["name"] == record["name"] and joined[-1]["color"] is None
    others = (await (await open_client(standalone.url, clients)).join("hub", "Bob"))["peers"]
    assert sorted(p["name"] for p in others) == sorted([ada_record["name"], record["name"]])
