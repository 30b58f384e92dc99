"""``nbconference serve`` in a process of its own: the one way tests and benchmarks run it.

The server logs every connection, so its output goes to a file rather than a pipe that
somebody would have to keep draining. It runs in a process group of its own and stops
with the test process (see :func:`processes.spawn`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from .processes import free_port, spawn, stop, wait_for_http


class ServeProcess:
    """``python -m nbconference serve`` on a free loopback port with a fresh token.

    ``args`` are more command line flags (``--redis URL``, ``--max-peers-per-room 2``...);
    ``tls`` (certificate and key files) makes it serve ``wss://``. The token reaches it the
    way ``token_via`` says: ``"env"`` ($NBCONFERENCE_TOKEN), ``"file"`` (--token-file) or
    ``"flag"`` (--token, which ``ps`` shows). ``open_files`` caps its file descriptors
    (soft and hard limit). Start it, then wait with :meth:`wait_ready`
    (or ``await`` :meth:`ready`, or use it as a context manager).
    """

    def __init__(
        self,
        *args: str,
        tls: tuple[Path, Path] | None = None,
        log_dir: Path | None = None,
        token: str | None = None,
        token_via: str = "env",
        open_files: int | None = None,
    ) -> None:
        self.port = free_port()
        self.token = token or secrets.token_urlsafe(16)
        self.certfile = tls[0] if tls else None
        folder = log_dir or Path(tempfile.mkdtemp(prefix="nbc-serve-"))
        self.log_path = folder / f"nbconference-serve-{self.port}.log"
        command = [sys.executable, "-m", "nbconference", "serve", f"--port={self.port}", *args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("NBCONFERENCE_TOKEN", None)
        if token_via == "env":
            env["NBCONFERENCE_TOKEN"] = self.token
        elif token_via == "file":
            token_file = folder / f"nbconference-serve-{self.port}.token"
            token_file.write_text(self.token + "\n")
            token_file.chmod(0o600)
            command.append(f"--token-file={token_file}")
        else:
            assert token_via == "flag", token_via
            command.append(f"--token={self.token}")
        if tls is not None:
            command += [f"--certfile={tls[0]}", f"--keyfile={tls[1]}"]
        self.process = spawn(command, self.log_path, env, open_files)

    @property
    def url(self) -> str:
        """What a widget puts in ``signaling_url``."""
        scheme = "wss" if self.certfile else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/nbconference/signal"

    @property
    def url_with_token(self) -> str:
        return f"{self.url}?token={self.token}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        """What the server printed so far."""
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def wait_ready(self, timeout: float = 30.0) -> ServeProcess:
        """Wait until the server answers on its port (failing with its log if it died)."""
        scheme = "https" if self.certfile else "http"
        context = ssl.create_default_context(cafile=str(self.certfile)) if self.certfile else None
        url = f"{scheme}://127.0.0.1:{self.port}/"
        wait_for_http(url, self.process, self.log_path, timeout, context)
        return self

    async def ready(self, timeout: float = 30.0) -> ServeProcess:
        """:meth:`wait_ready` for asyncio tests (the wait runs in a thread)."""
        return await asyncio.to_thread(self.wait_ready, timeout)

    def stop(self) -> None:
        """SIGTERM (the server says goodbye to its peers), then SIGKILL if it lingers."""
        stop(self.process)

    def kill(self) -> None:
        """SIGKILL: the crash case, no goodbye to anyone."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def __enter__(self) -> ServeProcess:
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def serve_refused(*args: str) -> str:
    """Run ``nbconference serve`` expecting it to refuse to start (exit code 2); its
    stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "nbconference", "serve", "--port=0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    return done.stderr
