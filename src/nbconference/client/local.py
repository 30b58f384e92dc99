"""One signaling server of this user's on this machine, for a Jupyter server that has none.

Jupyter loads server extensions only when it starts: after ``%pip install nbconference``
in a running Jupyter, its server has no nbconference endpoint until it restarts. Until
then every kernel of this user on this machine joins through one ``nbconference serve``,
found or started here. Its runtime file in Jupyter's runtime dir, owner-only, says where it
listens and its token; it is created under a lock, since several kernels may start at once,
and a stale one (a dead pid, a port that is not ours, a refused token) is replaced rather
than trusted. The server exits by itself after an idle time with no sockets
(``$NBCONFERENCE_LOCAL_IDLE_SECONDS``, 600 by default).

A server killed outright leaves its file behind, and another user of the machine may then
listen on its port. So the token goes to a server only once it has proved it holds it:
the process the file names and the socket listening on the port must be this user's, and
the server must answer a random nonce with its HMAC under the token (:func:`proof`),
which the token itself never travels for.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
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
# The states of /proc/net/tcp: 0A is a listening socket.
TCP_LISTEN = "0A"
# Where a connection to 127.0.0.1:PORT may land: a socket bound there or to any address.
_LOOPBACK_LISTENERS = frozenset(
    {"127.0.0.1", "0.0.0.0", "::", "::ffff:127.0.0.1", "::ffff:0.0.0.0"}
)


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
    """True when ``server`` is this user's and proves that it holds its token.

    Its process must be alive and this user's, every socket listening on its port this
    user's (where ``/proc/net/tcp`` tells), and its status page must answer a fresh nonce
    with that nonce's :func:`proof` and its pid. The token is never sent: a stale file's
    port may be anybody's by now.
    """
    if not _ours(server.pid):
        return False
    owners = listening_uids(server.port)
    if owners is not None and owners != {os.getuid()}:
        return False
    nonce = secrets.token_hex(16)
    url = f"http://127.0.0.1:{server.port}/?nonce={nonce}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = json.loads(response.read(4096))
    except (OSError, ValueError):
        return False
    if not isinstance(status, dict) or status.get("nbconference") != "signaling":
        return False
    answer = status.get("proof")
    return (
        status.get("pid") == server.pid
        and isinstance(answer, str)
        and hmac.compare_digest(answer.encode(), proof(server.token, nonce).encode())
    )


def proof(token: str, nonce: str) -> str:
    """What a server holding ``token`` answers to ``GET /?nonce=NONCE``: the hex HMAC-SHA256
    of the nonce under the token (the server computes it with this function too)."""
    message = b"nbconference local server\n" + nonce.encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


def listening_uids(port: int) -> set[int] | None:
    """The owners (uids) of the TCP sockets listening where a connection to 127.0.0.1:``port``
    lands, from ``/proc/net/tcp`` and ``tcp6``; None where those cannot be read (not Linux).

    A connection over TCP carries no credentials of its peer (SO_PEERCRED is for Unix
    sockets), but the kernel's socket table names the owner of every listening socket.
    """
    owners: set[int] = set()
    readable = False
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            listener = parse_listener(line, family)
            if listener is not None and listener[1] == port and listener[0] in _LOOPBACK_LISTENERS:
                owners.add(listener[2])
    return owners if readable else None


def parse_listener(line: str, family: socket.AddressFamily) -> tuple[str, int, int] | None:
    """``(address, port, uid)`` of a listening socket's line of ``/proc/net/tcp`` (or
    ``tcp6`` for AF_INET6), None for a line of any other state or not such a line.

    The kernel prints each 32-bit word of the address in the machine's byte order, and
    the port as a plain hex number.
    """
    fields = line.split()
    try:
        if len(fields) < 8 or fields[3] != TCP_LISTEN:
            return None
        address, port = fields[1].split(":")
        words = bytes.fromhex(address)
        packed = b"".join(
            int.from_bytes(words[i : i + 4], "big").to_bytes(4, sys.byteorder)
            for i in range(0, len(words), 4)
        )
        return socket.inet_ntop(family, packed), int(port, 16), int(fields[7])
    except ValueError:
        return None


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


def _ours(pid: int) -> bool:
    """Whether process ``pid`` runs as this user. Pids are reused, and a signal test
    succeeds for root on anyone's process, so where ``/proc`` shows owners, it decides."""
    try:
        return os.stat(f"/proc/{pid}").st_uid == os.getuid()
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return False  # no such process
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:  # gone, or someone else's (EPERM)
        return False
    return True


def _tail(path: Path, lines: int = 5) -> str:
    with contextlib.suppress(OSError):
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""
