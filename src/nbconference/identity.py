"""Who runs this process, as a participant's default label: the one user lookup that the
widget, the kernel peer and the recorder share (it loads no UI code)."""

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
