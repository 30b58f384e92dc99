"""Servers under test, each in its own process on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field

from nbconference.protocol import SIGNAL_PATH

TOKEN = "benchmark-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Servers:
    """Running servers: ``urls`` carry the token; ``pids`` are what psutil watches."""

    kind: str
    urls: list[str] = field(default_factory=list)
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    home: str = ""

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.home:
            shutil.rmtree(self.home, ignore_errors=True)


def _settings_args(prefix: str, backend: str, redis_url: str) -> list[str]:
    if backend != "redis":
        return []
    if prefix == "--NBConference.":
        return [f"{prefix}backend=redis", f"{prefix}redis_url={redis_url}"]
    return ["--redis", redis_url]


def start_standalone(count: int = 1, backend: str = "memory", redis_url: str = "") -> Servers:
    """``python -m nbconference serve`` processes; output is drained so they never block."""
    servers = Servers("standalone")
    try:
        for _ in range(count):
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "nbconference",
                    "serve",
                    "--port",
                    "0",
                    "--token",
                    TOKEN,
                    *_settings_args("--", backend, redis_url),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                text=True,
            )
            servers.procs.append(proc)
            servers.urls.append(_wait_for_url(proc) + f"?token={TOKEN}")
    except BaseException:
        servers.stop()
        raise
    return servers


def _wait_for_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    for line in proc.stdout:
        match = re.search(rf"(ws://127\.0\.0\.1:\d+/{re.escape(SIGNAL_PATH)})", line)
        if match:
            threading.Thread(target=_drain, args=(proc,), daemon=True).start()
            return match.group(1)
        if time.monotonic() > deadline:
            break
    raise RuntimeError("nbconference serve did not start")


def _drain(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    with contextlib.suppress(ValueError, OSError):
        for _ in proc.stdout:
            pass


def start_jupyter(count: int = 1, backend: str = "memory", redis_url: str = "") -> Servers:
    """``jupyter server`` with the extension enabled, a token, and HOME in a temp folder."""
    home = tempfile.mkdtemp(prefix="nbc-bench-")
    servers = Servers("jupyter", home=home)
    env = {**os.environ, "HOME": home, "JUPYTER_CONFIG_DIR": os.path.join(home, ".jupyter")}
    env.pop("JUPYTER_RUNTIME_DIR", None)
    try:
        for n in range(count):
            port = free_port()
            log = open(os.path.join(home, f"server-{n}.log"), "w")  # noqa: SIM115
            servers.procs.append(
                subprocess.Popen(
                    [
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
                        *_settings_args("--NBConference.", backend, redis_url),
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    text=True,
                )
            )
            log.close()
            _wait_for_status(port, servers.procs[-1], log.name)
            servers.urls.append(f"ws://127.0.0.1:{port}/{SIGNAL_PATH}?token={TOKEN}")
    except BaseException:
        servers.stop()
        raise
    return servers


def _wait_for_status(port: int, proc: subprocess.Popen[str], log: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log) as text:
                raise RuntimeError(f"jupyter server exited:\n{text.read()[-2000:]}")
        with contextlib.suppress(OSError):
            url = f"http://127.0.0.1:{port}/api/status?token={TOKEN}"
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.2)
    raise RuntimeError(f"jupyter server on port {port} did not start")


def start_redis() -> tuple[subprocess.Popen[str], str]:
    """A throwaway redis-server without persistence, for ``--backend redis``."""
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return proc, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")
