"""This user's local signaling server, the stand-in for a Jupyter server that started before
nbconference was installed (nbconference.client.local and .plan): found or started once
per user and machine, its runtime file owner-only and never trusted when stale, idle exit,
and the advice when the Jupyter server needs a restart."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbconference.client.discovery import endpoint_present
from nbconference.client.local import (
    IDLE_VARIABLE,
    RUNTIME_FILE,
    LocalServer,
    find_or_start,
    read_runtime_file,
    verify,
)
from nbconference.client.plan import RESTART, restart_advice
from support.client import Client, connect_url
from support.polling import holds, wait_until
from support.processes import free_port, process_alive

STARTED: set[int] = set()


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Path]:
    """A runtime dir of its own; every server the test started is stopped afterwards."""
    yield tmp_path / "runtime"
    for pid in STARTED:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    STARTED.clear()


def remember(runtime: Path, server: LocalServer) -> LocalServer:
    """Note a server the test started (they are detached: nothing else stops them)."""
    STARTED.add(server.pid)
    return server


def status(port: int, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"token {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        result: dict[str, Any] = json.loads(response.read())
    return result


async def test_one_server_found_or_started_with_an_owner_only_runtime_file(
    runtime: Path,
) -> None:
    server = remember(runtime, find_or_start(runtime))
    path = runtime / RUNTIME_FILE
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert json.loads(path.read_text()) == {
        "pid": server.pid,
        "port": server.port,
        "url": server.url,
        "token": server.token,
    }
    assert server.token not in repr(server)
    # Only a request with the token learns the pid: how a stale file is told from ours.
    assert status(server.port) == {"nbconference": "signaling", "protocol": 1}
    assert status(server.port, server.token)["pid"] == server.pid
    assert status(server.port, "wrong" * 5).get("pid") is None
    # It is a real signaling server that takes its token.
    client = Client(await connect_url(f"{server.url}?token={server.token}"))
    assert (await client.join("lab"))["room"] == "lab"
    client.close()
    # The next kernel finds it rather than starting another.
    assert find_or_start(runtime) == server


def test_concurrent_starts_make_one_server(runtime: Path) -> None:
    found: list[LocalServer] = []
    threads = [
        threading.Thread(target=lambda: found.append(find_or_start(runtime))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for server in found:
        remember(runtime, server)
    assert len(found) == 4 and len({s.pid for s in found}) == 1, found
    assert verify(found[0])


@pytest.mark.parametrize(
    "stale", ["dead pid", "port not ours", "wrong token", "readable by others"]
)
def test_a_stale_runtime_file_is_replaced_not_trusted(runtime: Path, stale: str) -> None:
    server = remember(runtime, find_or_start(runtime))
    path = runtime / RUNTIME_FILE
    record = json.loads(path.read_text())
    if stale == "dead pid":
        os.kill(server.pid, signal.SIGKILL)
        wait_until(lambda: not process_alive(server.pid), 10, "the server to die")
    elif stale == "port not ours":
        record["pid"], record["port"] = os.getpid(), free_port()  # a live pid, nobody there
    elif stale == "wrong token":
        record["token"] = "x" * 32
    path.write_text(json.dumps(record))
    path.chmod(0o644 if stale == "readable by others" else 0o600)
    if stale == "readable by others":
        assert read_runtime_file(path) is None, "another user could have read the token"
    replacement = remember(runtime, find_or_start(runtime))
    assert replacement.pid != server.pid and verify(replacement)
    assert read_runtime_file(path) == replacement
    assert oct(path.stat().st_mode & 0o777) == "0o600"


async def test_it_exits_by_itself_once_idle_and_takes_its_file_along(
    runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(IDLE_VARIABLE, "1.5")
    server = remember(runtime, find_or_start(runtime))
    client = Client(await connect_url(f"{server.url}?token={server.token}"))
    await client.join("lab")
    await holds(lambda: process_alive(server.pid), 2.5, "a server with a socket open is not idle")
    client.close()
    wait_until(lambda: not process_alive(server.pid), 15, "the idle server to exit")
    assert not (runtime / RUNTIME_FILE).exists()


def test_the_advice_names_a_restart_or_the_servers_own_environment() -> None:
    assert restart_advice({"pid": os.getpid()}) == RESTART  # this Python has nbconference
    other = Path("/root/.pyenv/versions/3.12.1/bin/python3.12")
    if not other.exists() or subprocess.run([other, "-c", "import nbconference"]).returncode == 0:
        pytest.skip("needs a Python without nbconference, such as pyenv's 3.12")
    process = subprocess.Popen([str(other), "-c", "import time; time.sleep(30)"])
    try:
        # Between fork and exec the child still shows this process's command line.
        cmdline = Path(f"/proc/{process.pid}/cmdline")
        wait_until(lambda: cmdline.read_bytes().startswith(bytes(other)), 10, "the exec")
        advice = restart_advice({"pid": process.pid})
    finally:
        process.kill()
        process.wait()
    assert "another Python environment" in advice and f"{other} -m pip install" in advice


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    # As after `%pip install nbconference` into a running Jupyter: the extension is off.
    return {"ServerApp": {"jpserver_extensions": {"nbconference": False}}}


async def test_a_jupyter_server_without_the_extension_is_told_apart(
    jp_serverapp: Any, jp_fetch: Any, jp_http_port: int, jp_base_url: str
) -> None:
    await jp_fetch("api", "status")  # the server listens once asked
    server = {
        "url": f"http://127.0.0.1:{jp_http_port}{jp_base_url}",
        "token": jp_serverapp.identity_provider.token,
    }
    assert await endpoint_present(server) is False
    assert await endpoint_present({"url": f"http://127.0.0.1:{free_port()}/"}) is None
