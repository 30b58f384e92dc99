"""notebooks/kernel_peer.ipynb, run cell by cell in a kernel of a real Jupyter server.

This proves what only a real kernel shows: top-level ``await`` works, the background
tasks keep running between cells, and ``KernelPeer.join(room=...)`` with no URL finds
the kernel's own server and token. A KernelPeer in the test joins the same room (with the
server's URL and token) and plays the other participant.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

from nbconference.peer import KernelPeer, PeerRecord
from support.kernel import execute_request
from support.processes import free_port, spawn, stop

pytest.importorskip("aiortc")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "kernel_peer.ipynb"
TOKEN = "kernel-peer-test-token"
CELL_TIMEOUT = 60.0
FIND_BOTH_WAYS = """
import os
from nbconference.client import find_signaling
found = await find_signaling()
print(found.found_by, found.url)
os.environ["JPY_PARENT_PID"] = "0"  # as if another process had started this kernel
found = await find_signaling()
print(found.found_by, found.url)
"""
OTHER_EXTENSIONS = ("jupyterlab", "jupyter_lsp", "notebook_shim", "jupyter_server_terminals")


@dataclass
class Jupyter:
    url: str
    token: str = TOKEN

    async def request(self, path: str, method: str = "GET", body: Any = None) -> Any:
        response = await AsyncHTTPClient().fetch(
            HTTPRequest(
                self.url + path,
                method=method,
                headers={"Authorization": f"token {self.token}"},
                body=None if body is None else json.dumps(body),
                request_timeout=30,
            )
        )
        return json.loads(response.body) if response.body else None


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A Jupyter server with a private HOME and runtime dir, killed afterwards."""
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    port = free_port()
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
    }
    env.pop("NBCONFERENCE_SIGNALING_URL", None)
    # Only the extension under test: the others just slow the start down.
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": dict.fromkeys(OTHER_EXTENSIONS, False)}})
    )
    process = spawn(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            f"--ServerApp.token={TOKEN}",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}",
        ],
        tmp_path / "server.log",
        env,
    )
    try:
        yield process, port
    finally:
        stop(process, 15)


@pytest.fixture
async def jupyter(server_process: tuple[subprocess.Popen[bytes], int]) -> AsyncIterator[Jupyter]:
    process, port = server_process
    server = Jupyter(f"http://127.0.0.1:{port}/")
    deadline = time.monotonic() + 60  # seconds: a loaded 2-core machine starts it slowly
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter server exited with {process.returncode}")
        try:
            await server.request("api/status")
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    yield server


async def run_cell(ws: Any, code: str) -> tuple[str, list[dict[str, Any]]]:
    """Execute ``code``; return the reply status and the cell's iopub outputs."""
    msg_id, frame = execute_request(code, stop_on_error=True)
    await ws.write_message(frame)
    outputs: list[dict[str, Any]] = []
    status, idle = "", False
    while not (status and idle):
        raw = await asyncio.wait_for(ws.read_message(), CELL_TIMEOUT)
        if raw is None:
            raise RuntimeError("kernel channels closed")
        if isinstance(raw, bytes):
            continue
        message = json.loads(raw)
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = message["header"]["msg_type"]
        if kind == "execute_reply":
            status = message["content"]["status"]
        elif kind == "status" and message["content"]["execution_state"] == "idle":
            idle = True
        elif kind in ("stream", "display_data", "execute_result", "error"):
            outputs.append({"type": kind, **message["content"]})
    return status, outputs


async def test_notebook_runs_in_a_kernel_of_its_own_server(jupyter: Jupyter) -> None:
    session = await jupyter.request(
        "api/sessions",
        "POST",
        {"path": NOTEBOOK.name, "type": "notebook", "name": "", "kernel": {"name": "python3"}},
    )
    kernel_id = session["kernel"]["id"]
    url = jupyter.url.replace("http", "ws", 1)
    other = await KernelPeer.join(
        "lab", name="test peer", url=url + "nbconference/signal", token=jupyter.token
    )
    ws = await websocket_connect(
        HTTPRequest(
            f"{url}api/kernels/{kernel_id}/channels",
            headers={"Authorization": f"token {jupyter.token}"},
        )
    )
    try:
        image = np.full((240, 320, 3), 128, np.uint8)
        other.publish_frames(lambda: image, fps=10)
        joined: list[PeerRecord] = []
        left: list[PeerRecord] = []
        other.on_peer_joined(joined.append)
        other.on_peer_left(left.append)
        received: list[tuple[str, tuple[int, ...]]] = []
        other.on_frame(lambda peer_id, frame: received.append((peer_id, frame.shape)))

        cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
        results = []
        for index, cell in enumerate(cells):
            if index == len(cells) - 1:
                # The last cell leaves: under load the notebook's first figure frame may
                # still be on its way, so give it a bounded time to arrive before that.
                deadline = asyncio.get_running_loop().time() + 20
                while not received and asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(0.1)
            source = "".join(cell["source"])
            status, outputs = await run_cell(ws, source)
            assert status == "ok", (source, outputs)
            results.append(outputs)

        assert [p["name"] for p in joined] == ["notebook kernel"]
        assert [p["name"] for p in left] == ["notebook kernel"], "the notebook left at its end"
        notebook_id = joined[0]["id"]
        assert (notebook_id, (240, 320, 3)) in received, "the figure arrived as 320x240 video"
        shown = results[2]
        text = "".join(o.get("text", "") for o in shown)
        assert "frame (240, 320, 3) from test peer" in text, shown
        assert any("image/png" in o.get("data", {}) for o in shown), "the frame is plotted"
        assert "left" in "".join(o.get("text", "") for o in results[3])

        # Both ways of finding the server work from inside the kernel.
        status, outputs = await run_cell(ws, FIND_BOTH_WAYS)
        assert status == "ok", outputs
        lines = "".join(o.get("text", "") for o in outputs).splitlines()
        assert lines == [
            f"parent process {url}nbconference/signal",
            f"kernel list {url}nbconference/signal",
        ]
    finally:
        ws.close()
        await other.leave()
        await jupyter.request(f"api/sessions/{session['id']}", "DELETE")
