"""A real coturn (``turnserver``) on 127.0.0.1 with the TURN REST API's shared secret
(``use-auth-secret``), started and stopped by its pid; and a TURN allocation made the way
aiortc makes one, to ask it whether it takes a credential."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .polling import wait_until
from .processes import free_port, spawn, stop

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
needs_coturn = pytest.mark.skipif(
    not Path(TURNSERVER).exists(), reason="coturn is not installed (apt-get install coturn)"
)
REALM = "nbconference.test"
# Relay ports coturn may hand out: a small range of its own per server.
RELAY_PORTS = 40
ALLOCATED = re.compile(r"ALLOCATE processed, success")


class Coturn:
    """One turnserver on a free loopback port, UDP and TCP, no TLS, relaying to loopback
    peers (browsers and aiortc on this machine); ``-v`` logs every allocation."""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret or secrets.token_urlsafe(24)
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="nbc-coturn-"))
        self.log_path = self.folder / "turnserver.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The TURN URL over UDP, as turn_urls takes it."""
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    @property
    def tcp_url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=tcp"

    def start(self) -> None:
        first = 49152 + (self.port % 200) * RELAY_PORTS
        self.proc = spawn(
            [
                TURNSERVER,
                "-n",  # no configuration file
                "-v",
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                f"--listening-port={self.port}",
                f"--min-port={first}",
                f"--max-port={first + RELAY_PORTS - 1}",
                "--use-auth-secret",
                f"--static-auth-secret={self.secret}",
                f"--realm={REALM}",
                "--allow-loopback-peers",
                "--no-stdout-log",
                f"--log-file={self.log_path}",
                "--simple-log",
                f"--pidfile={self.folder / 'turnserver.pid'}",
                f"--userdb={self.folder / 'turndb'}",
            ],
            self.folder / "stdout.log",
        )
        wait_until(self._listening, 10.0, "turnserver to listen", interval=0.05)

    def _listening(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, (
            f"turnserver exited at start:\n{self.log()[-3000:]}"
        )
        # coturn logs its listeners once they are bound.
        return "Total General servers" in self.log() or "IPv4. TCP listener opened" in self.log()

    def log(self) -> str:
        text = ""
        for path in (self.log_path, self.folder / "stdout.log"):
            with contextlib.suppress(FileNotFoundError):
                text += path.read_text(errors="replace")
        return text

    def allocations(self) -> int:
        """Allocations coturn granted so far."""
        return len(ALLOCATED.findall(self.log()))

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def running_coturn(secret: str | None = None) -> Iterator[Coturn]:
    server = Coturn(secret)
    try:
        server.start()
        yield server
    finally:
        server.close()


async def allocate(
    port: int, username: str, password: str, transport: str = "udp"
) -> tuple[str, int]:
    """Allocate a relay on the coturn at ``port`` as aiortc does (aioice), release it,
    and return the relayed address; aioice's error when coturn refuses."""
    from aioice.turn import create_turn_endpoint

    turn, _ = await asyncio.wait_for(
        create_turn_endpoint(
            asyncio.DatagramProtocol,
            ("127.0.0.1", port),
            username,
            password,
            transport=transport,
        ),
        10.0,
    )
    try:
        relayed: tuple[str, int] = turn.get_extra_info("sockname")
        return relayed
    finally:
        turn.close()
