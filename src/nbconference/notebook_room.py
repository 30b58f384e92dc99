"""The room a widget joins when none is given: the call of the notebook the kernel serves.

jupyter_server sets ``JPY_SESSION_NAME`` to the notebook's path for the kernels it starts
for a session. Everyone with that notebook open shares its kernel, so they share the
room; the same notebook name on another server (two users' ``Untitled.ipynb`` on a Hub
whose servers share Redis) gets another room, because the server's host and user go into
the hash. Where there is no session (a kernel started through ``/api/kernels``, nbclient,
VS Code) the widget gets a room of its own, which it shows so that others can be given it.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from pathlib import PurePath

from .identity import owner_username

SESSION_VARIABLE = "JPY_SESSION_NAME"
STEM_CHARS = 40
HASH_CHARS = 12


def notebook_path() -> str:
    """The path of the notebook this kernel serves, or "" outside a Jupyter session."""
    return os.environ.get(SESSION_VARIABLE, "").strip()


def _server_identity() -> str:
    return f"{socket.gethostname()}\0{owner_username()}"


def notebook_room(path: str) -> str:
    """A valid room name for the notebook at ``path`` on this server: readable, unique.

    >>> notebook_room("/home/ada/analysis.ipynb")  # doctest: +SKIP
    'analysis-3f1c2b9a0d4e'
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", PurePath(path).stem).strip("-.") or "notebook"
    digest = hashlib.sha256(f"{_server_identity()}\0{path}".encode()).hexdigest()
    return f"{stem[:STEM_CHARS]}-{digest[:HASH_CHARS]}"


def widget_room(instance_id: str) -> str:
    """A room of this widget's own, for kernels that serve no notebook."""
    return f"call-{instance_id[:HASH_CHARS]}"
