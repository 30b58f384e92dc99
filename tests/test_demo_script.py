"""``scripts/demo.sh``, the README's first command: its launch step starts JupyterLab,
as root too (containers, CI), with the install step skipped so no network is needed."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from support.processes import free_port, spawn, stop, wait_for_http

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_launch_step_serves_lab(tmp_path: Path) -> None:
    port, token = free_port(), secrets.token_hex(16)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),  # Lab's settings and runtime files stay out of the real home
        "NBC_DEMO_SKIP_INSTALL": "1",
        # The script runs `python3`: the interpreter these tests run on.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env.pop(name, None)
    args = [
        "bash",
        str(ROOT / "scripts" / "demo.sh"),
        "--no-browser",
        f"--ServerApp.token={token}",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--YDocExtension.disable_rtc=True",
    ]
    log_path = tmp_path / "demo.log"
    process = spawn(args, log_path, env)  # a process group of its own, stopped below
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/status?token={token}", process, log_path)
        wait_for_http(f"http://127.0.0.1:{port}/lab?token={token}", process, log_path)
    finally:
        stop(process)
    if os.geteuid() == 0:
        assert "Running as root is not recommended" not in log_path.read_text(errors="replace")
