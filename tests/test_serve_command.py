"""``nbconference serve`` as a process: where its token comes from, what its log and
status page show of it, and the options of a per-user fallback server (an idle exit and
a runtime file)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from nbconference.server.standalone import start_server
from support.client import Client, connect_url
from support.polling import eventually
from support.standalone import ServeProcess

SHORT = "fifteen-chars.."


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``nbconference serve`` expecting it to refuse to start."""
    return subprocess.run(
        [sys.executable, "-m", "nbconference", "serve", "--port=0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_a_token_shorter_than_16_characters_is_refused_at_start(tmp_path: Path) -> None:
    assert len(SHORT) == 15
    short_file = tmp_path / "token"
    short_file.write_text(SHORT + "\n")
    for args, env in (
        ((f"--token={SHORT}",), {}),
        ((f"--token-file={short_file}",), {}),
        ((), {"NBCONFERENCE_TOKEN": SHORT}),
    ):
        result = serve(*args, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "at least 16 characters" in result.stderr, result.stderr


async def test_start_server_refuses_a_short_token() -> None:
    with pytest.raises(ValueError, match="at least 16 characters"):
        await start_server(port=0, token=SHORT)


def test_token_file_problems_are_reported(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    result = serve(f"--token-file={empty}")
    assert result.returncode == 2 and "is empty" in result.stderr, result.stderr
    result = serve(f"--token-file={tmp_path / 'missing'}")
    assert result.returncode == 2 and "cannot read --token-file" in result.stderr
    result = serve("--token=" + "t" * 20, f"--token-file={empty}")
    assert result.returncode == 2 and "not allowed with" in result.stderr, result.stderr


@pytest.mark.parametrize("source", ["file", "env", "flag"])
async def test_the_token_may_come_from_a_file_the_environment_or_the_flag(
    source: str, tmp_path: Path
) -> None:
    with ServeProcess(token_via=source, log_dir=tmp_path) as server:
        client = Client(await connect_url(server.url_with_token))
        assert (await client.join("lab"))["peers"] == []
        client.close()
        with pytest.raises(Exception, match="403"):
            await connect_url(f"{server.url}?token=wrong-token-of-16-chars")
        # A token given to the server is not printed back into its log.
        assert server.token not in server.output()


async def test_the_access_log_never_shows_a_token(tmp_path: Path) -> None:
    wrong = "wrong-token-that-is-long-enough"
    with ServeProcess(log_dir=tmp_path) as server:
        client = Client(await connect_url(server.url_with_token))
        await client.join("lab")
        client.close()
        with pytest.raises(Exception, match="403"):
            await connect_url(f"{server.url}?token={wrong}")
        http = AsyncHTTPClient()
        base = f"http://127.0.0.1:{server.port}"
        for path in (f"/?token={server.token}", f"/nowhere?a=1&token={wrong}&b=2"):
            await http.fetch(base + path, raise_error=False)

        def logged() -> str | None:
            text = server.output()
            return text if "/nowhere" in text else None

        log = await eventually(logged, 10, "the access line of the last request")
    assert server.token not in log and wrong not in log
    assert "GET /nbconference/signal?token=[secret]" in log
    assert "403 GET /nbconference/signal?token=[secret]" in log  # the refused attempt
    assert "/nowhere?a=1&token=[secret]&b=2" in log


async def status(port: int, token: str | None = None) -> dict[str, object]:
    headers = {"Authorization": f"token {token}"} if token else {}
    request = HTTPRequest(f"http://127.0.0.1:{port}/", headers=headers)
    response = await AsyncHTTPClient().fetch(request)
    result: dict[str, object] = json.loads(response.body)
    return result


async def test_the_status_page_names_the_pid_only_to_the_token_holder(tmp_path: Path) -> None:
    with ServeProcess(log_dir=tmp_path) as server:
        assert await status(server.port) == {"nbconference": "signaling", "protocol": 1}
        assert await status(server.port, "wrong-token-of-16-chars") == {
            "nbconference": "signaling",
            "protocol": 1,
        }
        assert await status(server.port, server.token) == {
            "nbconference": "signaling",
            "protocol": 1,
            "pid": server.pid,
        }


async def test_the_runtime_file_describes_the_server_and_goes_with_it(tmp_path: Path) -> None:
    runtime = tmp_path / "run" / "nbconference-serve.json"
    runtime.parent.mkdir()
    server = ServeProcess(f"--runtime-file={runtime}", log_dir=tmp_path)
    try:
        await server.ready()
        await eventually(runtime.exists, 10, "the runtime file")
        assert stat.S_IMODE(runtime.stat().st_mode) == 0o600
        info = json.loads(runtime.read_text())
        assert info == {
            "pid": server.pid,
            "port": server.port,
            "url": server.url,
            "token": server.token,
        }
        assert [p.name for p in runtime.parent.iterdir()] == [runtime.name]  # no temp left
        assert (await status(info["port"], info["token"]))["pid"] == info["pid"]
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert not runtime.exists(), "the runtime file outlived its server"


async def test_a_runtime_file_taken_over_by_another_server_is_left_alone(tmp_path: Path) -> None:
    runtime = tmp_path / "nbconference-serve.json"
    server = ServeProcess(f"--runtime-file={runtime}", log_dir=tmp_path)
    try:
        await server.ready()
        await eventually(runtime.exists, 10, "the runtime file")
        other = {"pid": server.pid + 1, "port": 1, "url": "ws://x", "token": "t" * 16}
        runtime.write_text(json.dumps(other))
    finally:
        server.stop()
    assert json.loads(runtime.read_text()) == other


async def test_idle_exit_waits_for_the_last_socket_to_close(tmp_path: Path) -> None:
    runtime = tmp_path / "nbconference-serve.json"
    server = ServeProcess("--idle-exit=1.5", f"--runtime-file={runtime}", log_dir=tmp_path)
    try:
        await server.ready()
        client = Client(await connect_url(server.url_with_token))
        await client.join("lab")
        await asyncio.sleep(3.0)  # twice the idle time, with a socket open
        assert server.process.poll() is None, "exited with a socket open"
        client.close()
        closed = time.monotonic()
        await eventually(lambda: server.process.poll() is not None, 10, "the idle exit")
        assert time.monotonic() - closed >= 1.0
        assert server.process.returncode == 0, server.output()
        assert "idle" in server.output()
        assert not runtime.exists()
    finally:
        server.stop()


async def test_idle_exit_with_no_socket_at_all(tmp_path: Path) -> None:
    server = ServeProcess("--idle-exit=1", log_dir=tmp_path)
    try:
        await server.ready()
        await eventually(lambda: server.process.poll() is not None, 10, "the idle exit")
        assert server.process.returncode == 0, server.output()
    finally:
        server.stop()


def test_janus_urls_are_checked_when_serve_starts(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("api-secret-from-a-file\n")
    url = '["ws://127.0.0.1:8188/"]'
    for args, said in (
        (("--janus-urls", '["unix:/run/janus.sock"]'), "Unix-socket transport is not supported"),
        (("--janus-urls", '["http://127.0.0.1:8088/"]'), "is not a ws:// or wss:// URL"),
        (("--janus-urls", url), "janus_urls needs sfu = 'janus'"),
        ((f"--janus-api-secret=@{secret}",), "which is empty"),
    ):
        result = serve("--token=" + "t" * 20, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert said in result.stderr, result.stderr
        assert "api-secret-from-a-file" not in result.stderr
