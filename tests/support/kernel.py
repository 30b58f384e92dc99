"""Run code in a notebook's kernel from outside, over Jupyter's kernel WebSocket.

This is how tests read what the browser wrote back into the kernel (``w.peers``,
``w.sharing_screen``) and give Python commands (``w.camera = False``), exactly as a
user's next cell would.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import websocket

from .lab import JupyterLab

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class KernelError(AssertionError):
    """The code raised in the kernel; the message is its traceback."""


def execute_request(code: str, stop_on_error: bool = False) -> tuple[str, str]:
    """A Jupyter ``execute_request`` for the kernel channels WebSocket: (msg_id, frame)."""
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "nbconference-tests",
            "session": uuid.uuid4().hex,
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            # Test probes must not shift the notebook's execution counts or history.
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": stop_on_error,
        },
        "channel": "shell",
        "buffers": [],
    }
    return msg_id, json.dumps(message)


def execute(lab: JupyterLab, kernel_id: str, code: str, timeout: float = 30.0) -> str:
    """Run ``code`` in the kernel and return what it printed to stdout."""
    url = f"{lab.url.replace('http', 'ws', 1)}api/kernels/{kernel_id}/channels"
    header = [f"Authorization: token {lab.token}"]
    socket = websocket.create_connection(url, timeout=timeout, header=header)
    try:
        msg_id, frame = execute_request(code)
        socket.send(frame)
        deadline = time.monotonic() + timeout
        stdout: list[str] = []
        replied = idle = False
        while not (replied and idle):
            socket.settimeout(max(0.1, deadline - time.monotonic()))
            opcode, data = socket.recv_data()
            if time.monotonic() > deadline:
                raise TimeoutError(f"kernel did not finish within {timeout} s: {code!r}")
            # Binary frames carry widget buffers of other messages; ours are all text.
            if opcode != websocket.ABNF.OPCODE_TEXT:
                continue
            message: dict[str, Any] = json.loads(data)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream" and content.get("name") == "stdout":
                stdout.append(content["text"])
            elif kind == "error":
                trace = "\n".join(content.get("traceback", [])) or content["evalue"]
                raise KernelError(ANSI.sub("", trace))
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
        return "".join(stdout)
    finally:
        socket.close()


def evaluate(lab: JupyterLab, kernel_id: str, expression: str, timeout: float = 30.0) -> Any:
    """The JSON value of ``expression`` evaluated in the kernel."""
    out = execute(
        lab,
        kernel_id,
        f"import json as _json\nprint(_json.dumps({expression}, default=str))",
        timeout,
    )
    return json.loads(out.strip().splitlines()[-1])
