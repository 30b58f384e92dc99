"""A stranger on a stale runtime file's port: an HTTP listener that answers ``GET /`` as an
nbconference server would, naming the pid it is told and an HMAC made with the key it is
given (a wrong one, or none), and writes every request it sees to its log.

It runs as a process of its own, so that it can run as another user too (``uid``: a
process started through ``setpriv``, needing root and the system's Python, which any user
may run).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from .polling import GiveUp, wait_until
from .processes import process_alive

SCRIPT = r"""
import hashlib, hmac, json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

port, pid, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        print("REQUEST", self.requestline, json.dumps(dict(self.headers)), flush=True)
        nonce = parse_qs(urlsplit(self.path).query).get("nonce", [""])[0]
        status = {"nbconference": "signaling", "protocol": 1, "pid": pid}
        if key:
            message = b"nbconference local server\n" + nonce.encode()
            status["proof"] = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
        body = json.dumps(status).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", port), Handler)
print("LISTENING", flush=True)
server.serve_forever()
"""
SYSTEM_PYTHON = Path("/usr/bin/python3")
NOBODY = 65534


def can_run_as_another_user() -> bool:
    """Whether :class:`Impostor` may take ``uid``: root, setpriv and a system Python."""
    return os.getuid() == 0 and shutil.which("setpriv") is not None and SYSTEM_PYTHON.exists()


class Impostor:
    """The stranger listening on 127.0.0.1:``port``; ``requests()`` is what it was sent."""

    def __init__(self, port: int, pid: int, key: str, log_path: Path, uid: int | None = None):
        self.log_path = log_path
        command = [sys.executable, "-c", SCRIPT, str(port), str(pid), key]
        if uid is not None:
            command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
            command += [str(SYSTEM_PYTHON), "-c", SCRIPT, str(port), str(pid), key]
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def requests(self) -> list[str]:
        """Every request line it received, with its headers (as JSON)."""
        return [line for line in self.output().splitlines() if line.startswith("REQUEST ")]

    def __enter__(self) -> Impostor:
        def listening() -> bool:
            if not process_alive(self.process.pid):
                raise GiveUp(f"the impostor exited: {self.output()}")
            return "LISTENING" in self.output()

        wait_until(listening, 15, "the impostor to listen")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.process.kill()
        self.process.wait(10)
