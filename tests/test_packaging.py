"""The wheel carries the bundled front end and the config that enables the extension."""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_front_end_and_enables_extension(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("nbconference-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        bundle = archive.read("nbconference/static/widget.js").decode()
        config_name = next(
            n for n in names if n.endswith("jupyter_server_config.d/nbconference.json")
        )
        config = json.loads(archive.read(config_name))
    assert "export" in bundle and len(bundle) > 1000, "the esbuild bundle is missing or empty"
    assert "/data/etc/jupyter/jupyter_server_config.d/" in config_name
    assert config == {"ServerApp": {"jpserver_extensions": {"nbconference": True}}}
    assert any(n.endswith("entry_points.txt") for n in names)


def test_installed_extension_is_enabled_and_valid() -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)
    assert re.search(r"nbconference\s+enabled", text), text
    assert re.search(r"nbconference \S+ OK", text), text
