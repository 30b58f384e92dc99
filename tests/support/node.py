"""Running the front end's ES modules in Node, for tests of its pure rules.

One Node process (``node_runner.mjs``) runs every script of the session, one after the
other, each with a module graph and globals of its own: the same answers as a Node per
script, without a process start per call.
"""

from __future__ import annotations

import atexit
import itertools
import json
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parents[2] / "js"
NODE = shutil.which("node")
RUNNER = Path(__file__).with_name("node_runner.mjs")
# How long one script may take (a whole Node run per script was given as much).
SCRIPT_TIMEOUT = 30.0

needs_node = pytest.mark.skipif(NODE is None, reason="needs node (the front end's build tool)")


def module_url(name: str) -> str:
    """The ``file://`` URL of ``js/<name>``, for an ``import`` in a script."""
    return (JS / name).as_uri()


class NodeError(AssertionError):
    """A script threw, or Node ended or stalled; the message says which and how."""


class NodeRunner:
    """The session's Node process: scripts in on stdin, one JSON answer a line out."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [str(NODE), str(RUNNER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.answers: queue.Queue[str | None] = queue.Queue()
        self.ids = itertools.count()
        threading.Thread(target=self._read, name="node-runner", daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.answers.put(line)
        self.answers.put(None)  # Node ended

    def run(self, script: str) -> Any:
        assert self.process.stdin is not None
        number = next(self.ids)
        self.process.stdin.write(json.dumps({"id": number, "script": script}) + "\n")
        self.process.stdin.flush()
        try:
            line = self.answers.get(timeout=SCRIPT_TIMEOUT)
        except queue.Empty:
            self.close()
            raise NodeError(f"node gave no answer within {SCRIPT_TIMEOUT:g} s") from None
        if line is None:
            raise NodeError(f"node ended (exit code {self.process.wait()}); see stderr")
        answer = json.loads(line)
        assert answer["id"] == number, f"node answered script {answer['id']}, not {number}"
        if "error" in answer:
            raise NodeError(f"the script threw:\n{answer['error']}")
        return json.loads(answer["out"])

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_runner: NodeRunner | None = None


def run_module(script: str) -> Any:
    """Run ``script`` as an ES module; it prints one JSON value, which is returned."""
    global _runner
    if _runner is None or not _runner.alive():
        _runner = NodeRunner()
        atexit.register(_runner.close)
    return _runner.run(script)
