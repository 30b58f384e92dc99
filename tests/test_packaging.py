"""The wheel carries the bundled front end, every subpackage and the config that enables
the extension; optional dependencies stay optional."""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import tomllib

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
        source_map = json.loads(archive.read("nbconference/static/widget.js.map"))
        config_name = next(
            n for n in names if n.endswith("jupyter_server_config.d/nbconference.json")
        )
        config = json.loads(archive.read(config_name))
    assert "export" in bundle and len(bundle) > 1000, "the esbuild bundle is missing or empty"
    # Minified (npm run build), with its source map beside it: one line per ~1000 characters
    # at most, where the plain bundle has one per ~35.
    assert bundle.count("\n") < len(bundle) / 1000, "the bundle is not minified"
    assert any(source.endswith("js/widget.js") for source in source_map["sources"])
    # anywidget loads the bundle from a blob, where a relative map URL cannot resolve.
    assert "sourceMappingURL" not in bundle
    assert "/data/etc/jupyter/jupyter_server_config.d/" in config_name
    assert config == {"ServerApp": {"jpserver_extensions": {"nbconference": True}}}
    assert any(n.endswith("entry_points.txt") for n in names)
    for package in ("client", "peer", "server", "server/backends"):
        assert f"nbconference/{package}/__init__.py" in names, package


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


# aiortc made unimportable, as on an install without the kernel-peer extra.
WITHOUT_AIORTC = """
import sys
sys.modules["aiortc"] = None
import nbconference, nbconference.client, nbconference.widget, nbconference.server.app
assert "aiortc" not in [m for m in sys.modules if sys.modules[m] is not None]
try:
    nbconference.KernelPeer
except ImportError as error:
    print("KernelPeer needs", error.name)
"""


def test_widget_client_and_server_need_no_aiortc() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_AIORTC], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "KernelPeer needs aiortc"


def test_dependencies_whose_internals_we_use_are_bounded_above() -> None:
    """tornado's private internals (tests/test_private_internals.py) may move in a major
    release: the next one must not install until it is tested."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    tornado = [d for d in project["dependencies"] if re.match(r"tornado\b", d)]
    assert len(tornado) == 1 and re.fullmatch(r"tornado>=[0-9.]+,<[0-9]+", tornado[0]), tornado
