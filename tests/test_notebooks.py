"""The shipped notebooks run top to bottom in a real kernel (no browser attached: the call
itself is covered by tests/browser; here every cell must cope with an empty room).

kernel_peer.ipynb is not run here: it needs the Jupyter server of its kernel (or a
peer in its room) to show anything. meeting.ipynb runs against a standalone server."""

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name", ["demo.ipynb", "stats.ipynb"])
def test_notebook_runs_top_to_bottom(name: str, tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
    widget_views = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in output.get("data", {})
    ]
    assert len(widget_views) == 1


async def test_meeting_notebook_records_the_room(
    standalone: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """meeting.ipynb records its room: here through the standalone server that the
    environment names (a kernel started by a Jupyter server finds its own). Run with the
    async client, so that the server on this test's loop keeps answering."""
    pytest.importorskip("aiortc")
    av = pytest.importorskip("av")
    monkeypatch.setenv("NBCONFERENCE_SIGNALING_URL", standalone.url)
    monkeypatch.setenv("NBCONFERENCE_TOKEN", standalone.token)
    notebook = nbformat.read(NOTEBOOKS / "meeting.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(tmp_path)}})
    await client.async_execute()
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
    (folder,) = (tmp_path / "recordings").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["participants"] == []  # nobody else came: a bare kernel has no browser
    with av.open(str(folder / manifest["mixed_audio"])) as container:
        frames = list(container.decode(audio=0))
    assert 4.5 <= float(frames[-1].pts * frames[-1].time_base) <= 8.0
    listing = notebook.cells[-1]["outputs"][0]["data"]["text/plain"]
    assert "manifest.json" in listing and "mixed-audio.mkv" in listing
