"""One signaling server of this user's on this machine, for a Jupyter server that has none.

Jupyter loads server extensions only when it starts: after ``%pip install nbconference``
in a running Jupyter, its server has no nbconference endpoint until it restarts. Until
then every kernel of this user on this machine joins through one ``nbconference serve``,
found or started here. Its runtime file in Jupyter's runtime dir, owner-only, says where it
listens and its token; it is created under a lock, since several kernels may start at once,
and a stale one (a dead pid, a port that is not ours, a refused token) is replaced rather
than trusted. The server exits by itself after an idle time with no sockets
(``$NBCONFERENCE_LOCAL_IDLE_SECONDS``, 600 by default).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .socket import SignalingError

RUNTIME_FILE = "nbconference-signaling.json"
LOCK_FILE = "nbconference-signaling.lock"
LOG_FILE = "nbconference-signaling.log"
IDLE_VARIABLE = "NBCONFERENCE_LOCAL_IDLE_SECONDS"
DEFAULT_IDLE_SECONDS = 600.0
# The port to listen on, 0 for any free one (tests pick one the page cannot reach).
PORT_VARIABLE = "NBCONFERENCE_LOCAL_PORT"
START_TIMEOUT = 20.0
PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class LocalServer:
    """A running local signaling server: where widgets and kernel peers join it."""

    url: str
    token: str = field(repr=False)
    pid: int
    port: int


def runtime_dir() -> Path:
    """Jupyter's runtime dir for this user (where the runtime file lives)."""
    from jupyter_core.paths import jupyter_runtime_dir

    return Path(jupyter_runtime_dir())


def find_or_start(folder: Path | None = None, timeout: float = START_TIMEOUT) -> LocalServer:
    """The local signaling server of this user, started if none answers as ours.

    Blocking (it may wait for a server to start): call it off the event loop.
    """
    folder = folder or runtime_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / RUNTIME_FILE
    with _locked(folder / LOCK_FILE):
        found = read_runtime_file(path)
        if found is not None and verify(found):
            return found
        path.unlink(missing_ok=True)
        return _start(folder, path, timeout)


def read_runtime_file(path: Path) -> LocalServer | None:
    """The server a runtime file names, or None when it is missing, not ours, readable by
    others, or not a runtime file at all."""
    try:
        info = os.stat(path)
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    pid, port, url, token = (data.get(k) for k in ("pid", "port", "url", "token"))
    if not (isinstance(pid, int) and isinstance(port, int) and isinstance(url, str)):
        return None
    if not isinstance(token, str) or not token:
        return None
    return LocalServer(url, token, pid, port)


def verify(server: LocalServer, timeout: float = PROBE_TIMEOUT) -> bool:
    """True when ``server`` is alive, listens where it says, is nbconference, and takes
    its token (its status page names its pid only to a request with the right token)."""
    if not _alive(server.pid):
        return False
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/", headers={"Authorization": f"token {server.token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = json.loads(response.read())
    except (OSError, ValueError):
        return False
    return (
        isinstance(status, dict)
        and status.get("nbconference") == "signaling"
        and status.get("pid") == server.pid
    )


def _start(folder: Path, path: Path, timeout: float) -> LocalServer:
    token = secrets.token_urlsafe(24)
    idle = os.environ.get(IDLE_VARIABLE) or str(DEFAULT_IDLE_SECONDS)
    port = os.environ.get(PORT_VARIABLE) or "0"
    command = [sys.executable, "-m", "nbconference", "serve", f"--port={port}"]
    command += [f"--runtime-file={path}", f"--idle-exit={idle}"]
    # The token goes by environment, not argv, where `ps` would show it.
    env = {**os.environ, "NBCONFERENCE_TOKEN": token, "PYTHONUNBUFFERED": "1"}
    with open(folder / LOG_FILE, "ab") as log:
        os.chmod(folder / LOG_FILE, 0o600)
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # lives on when the kernel that started it exits
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        found = read_runtime_file(path)
        if found is not None and found.pid == process.pid and verify(found):
            return found
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
    process.wait(5)
    raise SignalingError(
        "no-server",
        f"could not start a local signaling server (see {folder / LOG_FILE}): "
        f"{_tail(folder / LOG_FILE)}",
    )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created owner-only) while inside."""
    try:
        import fcntl
    except ImportError:  # not POSIX: two kernels starting at once may start two servers
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: the status page will tell it is not ours
    return True


def _tail(path: Path, lines: int = 5) -> str:
    with contextlib.suppress(OSError):
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""
