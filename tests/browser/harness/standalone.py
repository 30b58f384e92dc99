"""``nbconference serve`` in a subprocess, as a widget's ``signaling_url`` reaches it."""

from __future__ import annotations

import secrets
import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .processes import free_port, spawn, stop, wait_for_http


@dataclass(frozen=True)
class StandaloneSignaling:
    port: int
    token: str
    certfile: Path | None = None  # serving wss:// with this (self-signed) certificate

    @property
    def url(self) -> str:
        """What a widget puts in ``signaling_url``."""
        scheme = "wss" if self.certfile else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/nbconference/signal"


@contextmanager
def running_standalone(
    base_dir: Path, *extra_args: str, tls: tuple[Path, Path] | None = None
) -> Iterator[StandaloneSignaling]:
    """Run ``python -m nbconference serve`` on a free port with a fresh token; with
    ``tls`` (certificate and key files), on ``wss://``."""
    port, token = free_port(), secrets.token_urlsafe(16)
    log_path = base_dir / "nbconference-serve.log"
    args = [sys.executable, "-m", "nbconference", "serve", f"--port={port}", f"--token={token}"]
    if tls is not None:
        args += [f"--certfile={tls[0]}", f"--keyfile={tls[1]}"]
    process = spawn([*args, *extra_args], log_path)
    try:
        scheme = "https" if tls else "http"
        context = ssl.create_default_context(cafile=str(tls[0])) if tls else None
        wait_for_http(f"{scheme}://127.0.0.1:{port}/", process, log_path, 30, context)
        yield StandaloneSignaling(port, token, tls[0] if tls else None)
    finally:
        stop(process)
