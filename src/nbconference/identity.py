"""Who runs this process: as a participant's default label, the one user lookup that the
widget, the kernel peer and the recorder share (it loads no UI code); and as the owner of
a Jupyter server, whom its default rooms and its token stand for."""

from __future__ import annotations

import getpass
import os

from .protocol import MAX_NAME_CHARS


def default_name() -> str:
    """The user's name as the environment knows it (JupyterHub first), else ``"guest"``.

    Only a label: where the Jupyter server knows who each person is, everyone sees that.
    """
    for key in ("JUPYTERHUB_USER", "USER", "LOGNAME", "USERNAME"):
        value = os.environ.get(key, "").strip()
        if value:
            return value[:MAX_NAME_CHARS]
    try:
        return getpass.getuser()[:MAX_NAME_CHARS] or "guest"
    except Exception:
        return "guest"


def owner_username() -> str:
    """The user this process runs for: a JupyterHub single-user server's Hub user (its
    spawner sets ``JUPYTERHUB_USER``), else the operating system's account; "" when
    neither can be told.

    Not a label: the default notebook room's name is made from it, and the Jupyter
    extension's ``room_access`` takes a connection with only the server's token for it.
    """
    user = os.environ.get("JUPYTERHUB_USER", "")
    if not user:
        try:
            user = getpass.getuser()
        except Exception:
            user = os.environ.get("USER", "")
    return user
