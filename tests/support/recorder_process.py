"""A Recorder in a subprocess, steered from a test that uses Playwright's sync API (which
owns the test thread's event loop), or killed with SIGKILL to see what it leaves behind.

It starts recording at once and prints ``{"path", "id"}``; a ``stop`` line on its stdin
stops it (``{"stopped": true}``); the end of its stdin does too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPT = r"""
import asyncio, json, sys
from nbconference import Recorder

async def main(url, token, room, folder, name):
    rec = await Recorder.start(room, folder, name=name, url=url, token=token)
    print(json.dumps({"path": str(rec.path), "id": rec.id}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)
    await rec.stop()
    print(json.dumps({"stopped": True, "status": rec.status}), flush=True)

asyncio.run(main(*sys.argv[1:]))
"""


class RecorderProcess:
    """``Recorder.start(room, folder, name=name)`` in a process of its own."""

    def __init__(self, url: str, token: str, room: str, folder: Path, name: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, url, token, room, str(folder), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        started = self._report()
        self.path = Path(started["path"])
        self.id = str(started["id"])

    def _report(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(10)
            raise AssertionError(f"the recorder process ended ({self.process.returncode})")
        report: dict[str, Any] = json.loads(line)
        return report

    def manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads((self.path / "manifest.json").read_text())
        return manifest

    def stop(self) -> dict[str, Any]:
        """Stop recording (the files are closed) and wait for the process to end."""
        assert self.process.stdin is not None
        self.process.stdin.write("stop\n")
        self.process.stdin.flush()
        report = self._report()
        self.process.wait(15)
        return report

    def kill(self) -> None:
        """SIGKILL: nothing of the recorder gets to run any more."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
