"""Running the front end's ES modules in Node, for tests of its pure rules."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parents[2] / "js"
NODE = shutil.which("node")

needs_node = pytest.mark.skipif(NODE is None, reason="needs node (the front end's build tool)")


def module_url(name: str) -> str:
    """The ``file://`` URL of ``js/<name>``, for an ``import`` in a script."""
    return (JS / name).as_uri()


def run_module(script: str) -> Any:
    """Run ``script`` as an ES module; it prints one JSON value, which is returned."""
    done = subprocess.run(
        [str(NODE), "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)
