"""Servers under test, each in its own process on a free loopback port.

Started through the test support package (``tests/support``), so tests and benchmarks
run ``nbconference serve``, ``jupyter server`` and ``redis-server`` the same way.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from nbconference.protocol import SIGNAL_PATH
from support.processes import free_port, spawn, stop, wait_for_http
from support.redis_server import RedisServer
from support.standalone import ServeProcess

TOKEN = "benchmark-token-0123456789"

__all__ = ["RedisServer", "Servers", "start_jupyter", "start_standalone"]


@dataclass
class Servers:
    """Running servers: ``urls`` carry the token; ``pids`` are what psutil watches."""

    kind: str
    urls: list[str] = field(default_factory=list)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    home: str = ""

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        for proc in self.procs:
            stop(proc, 15)
        if self.home:
            shutil.rmtree(self.home, ignore_errors=True)


def start_standalone(count: int = 1, backend: str = "memory", redis_url: str = "") -> Servers:
    """``python -m nbconference serve`` processes."""
    home = tempfile.mkdtemp(prefix="nbc-bench-")
    servers = Servers("standalone", home=home)
    # Every client socket comes from 127.0.0.1.
    args = ["--max-sockets-per-address", "0"]
    args += ["--redis", redis_url] if backend == "redis" else []
    try:
        for _ in range(count):
            server = ServeProcess(*args, log_dir=Path(home), token=TOKEN)
            servers.procs.append(server.process)
            servers.urls.append(server.wait_ready().url_with_token)
    except BaseException:
        servers.stop()
        raise
    return servers


def start_jupyter(count: int = 1, backend: str = "memory", redis_url: str = "") -> Servers:
    """``jupyter server`` with the extension enabled, a token, and HOME in a temp folder."""
    home = tempfile.mkdtemp(prefix="nbc-bench-")
    servers = Servers("jupyter", home=home)
    env = {**os.environ, "HOME": home, "JUPYTER_CONFIG_DIR": os.path.join(home, ".jupyter")}
    env.pop("JUPYTER_RUNTIME_DIR", None)
    # Every client shows only the token: one count for all of them.
    settings = ["--NBConference.max_sockets_per_user=0"]
    if backend == "redis":
        settings += ["--NBConference.backend=redis", f"--NBConference.redis_url={redis_url}"]
    try:
        for n in range(count):
            port = free_port()
            log_path = Path(home) / f"server-{n}.log"
            args = [
                sys.executable,
                "-m",
                "jupyter_server",
                "--no-browser",
                "--allow-root",
                f"--port={port}",
                "--ServerApp.port_retries=0",
                "--ServerApp.ip=127.0.0.1",
                f"--IdentityProvider.token={TOKEN}",
                f"--ServerApp.root_dir={home}",
                "--ServerApp.jpserver_extensions=nbconference=True",
                *settings,
            ]
            servers.procs.append(spawn(args, log_path, env))
            status = f"http://127.0.0.1:{port}/api/status?token={TOKEN}"
            wait_for_http(status, servers.procs[-1], log_path)
            servers.urls.append(f"ws://127.0.0.1:{port}/{SIGNAL_PATH}?token={TOKEN}")
    except BaseException:
        servers.stop()
        raise
    return servers
