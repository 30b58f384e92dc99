"""``nbconference serve`` in a subprocess, as a widget's ``signaling_url`` reaches it."""

from __future__ import annotations

import secrets
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

    @property
    def url(self) -> str:
        """What a widget puts in ``signaling_url``."""
        return f"ws://127.0.0.1:{self.port}/nbconference/signal"


@contextmanager
def running_standalone(base_dir: Path, *extra_args: str) -> Iterator[StandaloneSignaling]:
    """Run ``python -m nbconference serve`` on a free port with a fresh token."""
    port, token = free_port(), secrets.token_urlsafe(16)
    log_path = base_dir / "nbconference-serve.log"
    args = [sys.executable, "-m", "nbconference", "serve", f"--port={port}", f"--token={token}"]
    process = spawn([*args, *extra_args], log_path)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/", process, log_path, timeout=30)
        yield StandaloneSignaling(port, token)
    finally:
        stop(process)
