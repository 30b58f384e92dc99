"""The runtime file of a running ``nbconference serve``: where it listens and its token,
for the kernels of this user to find (read by :mod:`nbconference.client.local`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path


def write_runtime_file(path: Path, port: int, url: str, token: str) -> None:
    """Write ``{"pid", "port", "url", "token"}`` to ``path``, readable by its owner only.

    Written to a temporary file beside it and renamed, so a reader never sees half of it.
    """
    info = {"pid": os.getpid(), "port": port, "url": url, "token": token}
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(info, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def remove_runtime_file(path: Path) -> None:
    """Remove ``path`` unless another process has written its own description there."""
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass
