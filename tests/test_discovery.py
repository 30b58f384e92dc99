"""Finding this kernel's Jupyter server from the runtime dir's ``jpserver-*.json`` files,
with real HTTP servers and a stale file whose pid is alive but whose port is closed."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import tornado.web

from nbconference.client.discovery import SignalingEndpoint, endpoint_present, find_kernel_server
from nbconference.client.socket import SignalingError
from support.processes import free_port

KERNEL = "0b1c2d3e-kernel"
TOKEN = "jupyter-token-of-the-live-server"


class KernelsHandler(tornado.web.RequestHandler):
    """``/api/kernels/<id>`` of a Jupyter server that runs one kernel, ``KERNEL``."""

    def get(self, kernel: str) -> None:
        if self.request.headers.get("Authorization") != f"token {TOKEN}":
            raise tornado.web.HTTPError(403)
        if kernel != KERNEL:
            raise tornado.web.HTTPError(404)
        self.write({"id": kernel})


@pytest.fixture
async def live_server() -> AsyncIterator[str]:
    """The URL of a running HTTP server that lists ``KERNEL``."""
    app = tornado.web.Application([(r"/api/kernels/([^/]+)", KernelsHandler)])
    port = free_port()
    server = app.listen(port, address="127.0.0.1")
    yield f"http://127.0.0.1:{port}/"
    server.stop()


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)
    return tmp_path


def server_file(runtime_dir: Path, pid: int, url: str, token: str) -> None:
    info = {"pid": pid, "url": url, "token": token, "port": int(url.rsplit(":", 1)[1][:-1])}
    (runtime_dir / f"jpserver-{pid}.json").write_text(json.dumps(info))


def stale_file(runtime_dir: Path) -> None:
    """A file naming a live pid (this very process: a reused pid) and a port nobody has."""
    server_file(runtime_dir, os.getpid(), f"http://127.0.0.1:{free_port()}/", "stale")


async def test_a_stale_file_with_a_live_pid_and_a_closed_port_is_skipped(
    runtime_dir: Path, live_server: str
) -> None:
    stale_file(runtime_dir)
    server_file(runtime_dir, os.getppid(), live_server, TOKEN)
    server, found_by = await find_kernel_server(KERNEL, timeout=5)
    assert server["url"] == live_server and server["token"] == TOKEN
    assert found_by == "kernel list"


async def test_only_a_stale_file_gives_the_readable_error(runtime_dir: Path) -> None:
    stale_file(runtime_dir)
    with pytest.raises(SignalingError, match="none of the 1 running Jupyter servers"):
        await find_kernel_server(KERNEL, timeout=5)


def test_an_endpoint_never_shows_its_token() -> None:
    endpoint = SignalingEndpoint("ws://127.0.0.1:8888/nbconference/signal", TOKEN, "environment")
    assert TOKEN not in repr(endpoint) and TOKEN not in str(endpoint)
    assert "ws://127.0.0.1:8888" in repr(endpoint) and endpoint.token == TOKEN


async def test_a_server_that_does_not_answer_in_time_is_unknown_not_an_error() -> None:
    """A loaded Jupyter server that accepts the probe but answers too late: the probe says
    "cannot tell" (None) instead of raising, so the plan can ask again."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    try:
        port = silent.getsockname()[1]
        server = {"url": f"http://127.0.0.1:{port}/", "token": TOKEN}
        assert await endpoint_present(server, timeout=0.5) is None
    finally:
        silent.close()
