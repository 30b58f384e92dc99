"""Subprocesses the tests start: free ports, readiness, and stopping by process group."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .polling import GiveUp, wait_until


def free_port() -> int:
    """A port the OS just handed out on 127.0.0.1 (closed again, so free to bind)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, exited and not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    return True


PR_SET_PDEATHSIG = 1


def _stop_with_parent(parent: int) -> Callable[[], None]:
    """In the child: get SIGTERM when the test process dies.

    A test run killed outright (``timeout`` sends SIGTERM, which skips every fixture's
    teardown) would otherwise leave its servers and their kernels running.
    """

    def arm() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:
            os._exit(1)

    return arm


def _limit_open_files(limit: int, then: Callable[[], None] | None) -> Callable[[], None]:
    """In the child: at most ``limit`` open files, soft and hard (so it cannot raise it)."""

    def arm() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        if then is not None:
            then()

    return arm


def spawn(
    args: list[str],
    log_path: Path,
    env: dict[str, str] | None = None,
    open_files: int | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``args`` in its own process group, output to ``log_path``; ``open_files``
    caps its file descriptors."""
    arm = _stop_with_parent(os.getpid()) if sys.platform == "linux" else None
    if open_files is not None:
        arm = _limit_open_files(open_files, arm)
    with log_path.open("wb") as log:
        return subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=arm,
        )


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop the process group started by :func:`spawn`: SIGTERM, then SIGKILL."""
    if process.poll() is not None:
        return
    # The group holds the kernels Jupyter started too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)
    # Kernels of the group may outlive the server by a moment.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def wait_for_http(
    url: str,
    process: subprocess.Popen[bytes],
    log_path: Path,
    timeout: float = 60.0,
    context: ssl.SSLContext | None = None,
) -> None:
    """Wait until ``url`` answers 200, failing early (with the log) if the process died."""

    def probe() -> bool:
        if process.poll() is not None:
            raise GiveUp(
                f"process exited with {process.returncode}:\n{log_path.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    try:
        wait_until(probe, timeout, f"{url} to answer", interval=0.2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{log_path.read_text()[-3000:]}") from None
