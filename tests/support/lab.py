"""A real ``jupyter lab`` in a subprocess, and its REST API."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .processes import free_port, spawn, stop, wait_for_http

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


@dataclass
class JupyterLab:
    """A running JupyterLab: where it listens, its token and its notebook folder."""

    port: int
    token: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    app: str = "jupyterlab"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def runtime_dir(self) -> Path:
        """Jupyter's runtime dir of this server and its kernels (under its own HOME)."""
        return self.root_dir.parent / "home" / ".local" / "share" / "jupyter" / "runtime"

    @property
    def signaling_url(self) -> str:
        """The nbconference endpoint of this server's extension."""
        return f"ws://127.0.0.1:{self.port}/nbconference/signal"

    def api(self, method: str, path: str, body: object = None) -> Any:
        """Call the REST API (``path`` like ``api/sessions``) with token auth."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None

    def write_notebook(self, name: str, cells: Sequence[str]) -> str:
        """Write ``name`` (an .ipynb in the root folder) with these code cells."""
        notebook = {
            "cells": [
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "id": uuid.uuid4().hex[:8],
                    "metadata": {},
                    "outputs": [],
                    "source": source,
                }
                for source in cells
            ],
            # Without a kernelspec Lab asks which kernel to start instead of starting one.
            "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        (self.root_dir / name).write_text(json.dumps(notebook, indent=1))
        return name

    def notebook_url(self, name: str, workspace: str) -> str:
        """URL that opens ``name`` alone in a fresh workspace (Notebook 7: its page).

        A workspace of its own per page keeps Lab from restoring another page's notebook
        (and so its kernel's widgets) into this one.
        """
        path = urllib.parse.quote(name)
        if self.app == "notebook":
            return f"{self.url}notebooks/{path}?token={self.token}"
        return f"{self.url}lab/workspaces/{workspace}/tree/{path}?reset&token={self.token}"

    def session_for(self, notebook: str) -> dict[str, Any] | None:
        sessions: list[dict[str, Any]] = self.api("GET", "api/sessions")
        return next((s for s in sessions if s.get("path") == notebook), None)

    def kernel(self, kernel_id: str) -> dict[str, Any]:
        kernel: dict[str, Any] = self.api("GET", f"api/kernels/{kernel_id}")
        return kernel

    def shutdown_sessions(self) -> None:
        """Shut down every session (and so every kernel) the server runs."""
        sessions = self.api("GET", "api/sessions")
        # Each shutdown waits for its kernel to exit: side by side they take one wait.
        with ThreadPoolExecutor(max(1, len(sessions))) as pool:
            list(pool.map(lambda s: self.api("DELETE", f"api/sessions/{s['id']}"), sessions))


@contextmanager
def running_lab(
    base_dir: Path,
    extra_args: Sequence[str] = (),
    collaborative: bool = False,
    app: str = "jupyterlab",
    env: dict[str, str] | None = None,
) -> Iterator[JupyterLab]:
    """Start ``jupyter lab`` with notebooks in ``base_dir/notebooks``; stop it on exit.

    ``extra_args`` are more command line options, e.g.
    ``["--NBConference.reconnect_grace_seconds=3"]``. Real-time collaboration (when
    jupyter-collaboration is installed) is off unless ``collaborative``. ``app`` may be
    ``notebook`` for Jupyter Notebook 7 instead of JupyterLab. ``env`` adds environment
    variables for the server and its kernels.
    """
    root_dir = base_dir / "notebooks"
    home = base_dir / "home"
    root_dir.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    _quiet_settings(home)
    port, token = free_port(), secrets.token_hex(16)
    log_path = base_dir / "jupyter-lab.log"
    # A HOME of its own keeps Lab's settings, workspaces and runtime files out of the real one.
    env = {**os.environ, **(env or {}), "HOME": str(home), "PYTHONPATH": _with_tests_on_path()}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "XDG_DATA_HOME"):
        env.pop(name, None)
    app_options = (
        [
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if app == "jupyterlab"
        else []
    )
    args = [
        sys.executable,
        "-m",
        app,
        "--no-browser",
        "--allow-root",
        f"--ServerApp.token={token}",
        "--ServerApp.ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root_dir}",
        *app_options,
        f"--YDocExtension.disable_rtc={not collaborative}",
        *extra_args,
    ]
    process = spawn(args, log_path, env)
    try:
        lab = JupyterLab(port, token, root_dir, log_path, process, app)
        wait_for_http(f"{lab.url}api/status?token={token}", process, log_path)
        yield lab
    finally:
        stop(process)


def _with_tests_on_path() -> str:
    """PYTHONPATH for the server: what the tests run with, and ``tests/`` (for
    ``support.identity``)."""
    tests = str(Path(__file__).resolve().parents[1])
    current = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(p for p in (current, tests) if p)


def _quiet_settings(home: Path) -> None:
    """Lab's user settings for tests: no news prompt (a toast that covers the corner of
    the page, where clicks then land on it)."""
    folder = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
