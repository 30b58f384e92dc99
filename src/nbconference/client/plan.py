"""Which signaling a widget's browsers should use: the page's own Jupyter server, or this
user's local server when the Jupyter server has no nbconference endpoint.

The kernel cannot know where the browser runs (an SSH tunnel, a proxy, a Hub), so it only
offers: the browser tries the local server, and when it cannot reach it, shows the
advice, which says exactly what would help.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..protocol import SignalingMode
from .discovery import endpoint_present, find_server
from .hub import find_hub_service
from .local import find_or_start
from .socket import SignalingError

RESTART = (
    "nbconference was installed after this Jupyter server started: restart it (on "
    "JupyterHub: File ▸ Hub Control Panel ▸ Stop My Server, then Start)."
)


@dataclass(frozen=True)
class SignalingPlan:
    """``mode`` is ``hub`` (the Hub's nbconference service, at the path prefix ``url``),
    ``server`` (the page's Jupyter server has the endpoint), ``local`` (use ``url`` with
    ``token``), or ``unknown`` (the kernel cannot tell: the page tries its own server).
    ``advice`` says what to do where the plan cannot work."""

    mode: str
    url: str = ""
    token: str = field(default="", repr=False)
    advice: str = ""


async def plan_signaling(timeout: float = 10.0, attempts: int = 3) -> SignalingPlan:
    """Find out whether this kernel's Jupyter server serves signaling, and if it does
    not, find or start this user's local server. Never raises.

    A server that does not answer in time (a loaded machine) is asked again: a wrong
    "server" would leave the page retrying an endpoint that is not there.
    """
    hub = await find_hub_service(timeout)
    if hub is not None:
        # The pages join the Hub's service on the Hub's own origin, signed in there as
        # themselves: the server's Hub token stays in the kernel.
        return SignalingPlan(SignalingMode.HUB, hub.prefix)
    try:
        server, _ = await find_server(timeout)
    except SignalingError:
        return SignalingPlan(SignalingMode.UNKNOWN)
    present = None
    for attempt in range(attempts):
        present = await endpoint_present(server, timeout)
        if present is not None:
            break
        await asyncio.sleep(0.5 * (attempt + 1))
    if present is None:
        return SignalingPlan(SignalingMode.UNKNOWN)
    if present:
        return SignalingPlan(SignalingMode.SERVER)
    advice = await asyncio.to_thread(restart_advice, server)
    try:
        local = await asyncio.to_thread(find_or_start)
    except (SignalingError, OSError) as exc:
        return SignalingPlan(
            SignalingMode.UNKNOWN, advice=f"{advice} (No local signaling server: {exc}.)"
        )
    return SignalingPlan(SignalingMode.LOCAL, local.url, local.token, advice)


def restart_advice(server: dict[str, Any]) -> str:
    """What makes the server's own endpoint work: a restart, or, when the server runs in
    another Python environment than this kernel, installing nbconference there first."""
    python = server_python(server.get("pid"))
    if python is not None and not has_nbconference(python):
        return (
            f"This Jupyter server runs in another Python environment ({python}) than this "
            f"kernel: install nbconference there too ({python} -m pip install nbconference), "
            "then restart the server (on JupyterHub: File ▸ Hub Control Panel ▸ Stop My "
            "Server, then Start)."
        )
    return RESTART


def server_python(pid: object) -> str | None:
    """The Python that runs process ``pid`` (Linux: from its command line), if known.

    The command line, not ``/proc/pid/exe``: a virtual environment's interpreter is a link
    to the base one, which would not see the environment's packages.
    """
    if not isinstance(pid, int):
        return None
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    first = argv[0].decode(errors="replace") if argv and argv[0] else ""
    if not first.startswith("/"):
        return None
    if Path(first).name.startswith("python"):
        return first
    try:  # a console script (jupyter-lab): its shebang names the interpreter
        with open(first, "rb") as script:
            line = script.readline(500).decode(errors="replace")
    except OSError:
        return None
    interpreter = line[2:].strip().split(" ")[0] if line.startswith("#!") else ""
    return interpreter if interpreter.startswith("/") and os.path.exists(interpreter) else None


def has_nbconference(python: str, timeout: float = 20.0) -> bool:
    """Whether ``python`` can import nbconference (True when it cannot be asked)."""
    check = "import importlib.util, sys; sys.exit(importlib.util.find_spec('nbconference') is None)"
    try:
        done = subprocess.run(
            [python, "-c", check], capture_output=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return True
    return done.returncode == 0
