"""The room a widget joins when none is given: the call of the notebook the kernel serves.

jupyter_server sets ``JPY_SESSION_NAME`` to the notebook's path for the kernels it starts
for a session. Everyone with that notebook open shares its kernel, so they share the
room; the same notebook name on another server (two users' ``Untitled.ipynb`` on a Hub
whose servers share Redis) gets another room, because the server's host and user go into
the hash, with a secret of the user's own so that nobody else can compute the name.
Where there is no session (a kernel started through ``/api/kernels``, nbclient, VS Code)
the widget gets a room of its own, which it shows so that others can be given it.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import socket
from pathlib import Path, PurePath

from .identity import owner_username
from .protocol import OWNER_MARK, owner_tag

SESSION_VARIABLE = "JPY_SESSION_NAME"
STEM_CHARS = 40
HASH_CHARS = 12
SECRET_FILE = "room_secret"
SECRET_BYTES = 32


def notebook_path() -> str:
    """The path of the notebook this kernel serves, or "" outside a Jupyter session."""
    return os.environ.get(SESSION_VARIABLE, "").strip()


def _server_identity() -> str:
    return f"{socket.gethostname()}\0{owner_username()}\0{room_secret().hex()}"


def room_secret() -> bytes:
    """This user's secret for default room names: 32 random bytes in a file of their own
    (mode 0600, in the Jupyter data dir), made on first use. Without it, anyone who knows
    a notebook's path, the host and the user could compute its room. Where the file
    cannot be written, an empty secret (the name still differs per server and user)."""
    from jupyter_core.paths import jupyter_data_dir

    path = Path(jupyter_data_dir()) / "nbconference" / SECRET_FILE
    try:
        secret = path.read_bytes()
        if len(secret) == SECRET_BYTES:
            return secret
    except OSError:
        pass
    secret = secrets.token_bytes(SECRET_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another kernel made it meanwhile: use theirs
        return path.read_bytes() if path.stat().st_size == SECRET_BYTES else b""
    except OSError:
        return b""
    with os.fdopen(descriptor, "wb") as file:
        file.write(secret)
    return secret


def notebook_room(path: str) -> str:
    """A valid room name for the notebook at ``path`` on this server: readable, unique.
    On a JupyterHub it is a room of the server's owner (``"<owner tag>~..."``, see
    :func:`~nbconference.protocol.owner_tag`), which the Hub's service admits only the
    owner and those the Hub lets open the server to.

    >>> notebook_room("/home/ada/analysis.ipynb")  # doctest: +SKIP
    'analysis-3f1c2b9a0d4e'
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", PurePath(path).stem).strip("-.") or "notebook"
    digest = hashlib.sha256(f"{_server_identity()}\0{path}".encode()).hexdigest()
    hub_user = os.environ.get("JUPYTERHUB_USER", "")
    owner = f"{owner_tag(hub_user)}{OWNER_MARK}" if hub_user else ""
    room_chars = 64 - len(owner) - 1 - HASH_CHARS
    return f"{owner}{stem[: min(STEM_CHARS, room_chars)]}-{digest[:HASH_CHARS]}"


def widget_room(instance_id: str) -> str:
    """A room of this widget's own, for kernels that serve no notebook."""
    return f"call-{instance_id[:HASH_CHARS]}"
