"""The shipped notebooks run top to bottom in a real kernel (no browser attached: the call
itself is covered by tests/browser; here every cell must cope with an empty room).

kernel_peer.ipynb is not run here: it needs the Jupyter server of its kernel (or a
peer in its room) to show anything. meeting.ipynb and classroom.ipynb run against a
standalone server."""

import asyncio
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from nbconference.protocol import CLOSE_ENDED
from support.client import Client, Closed, connect_url
from support.signaling_fixtures import STANDALONE_HOST_TOKEN, STANDALONE_TOKEN

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def errors_of(notebook: Any) -> list[Any]:
    """The error outputs of an executed notebook's cells."""
    return [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]


@pytest.mark.parametrize("name", ["demo.ipynb", "stats.ipynb"])
def test_notebook_runs_top_to_bottom(name: str, tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert errors_of(notebook) == []
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
    assert errors_of(notebook) == []
    (folder,) = (tmp_path / "recordings").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["participants"] == []  # nobody else came: a bare kernel has no browser
    with av.open(str(folder / manifest["mixed_audio"])) as container:
        frames = list(container.decode(audio=0))
    assert 4.5 <= float(frames[-1].pts * frames[-1].time_base) <= 8.0
    listing = notebook.cells[-1]["outputs"][0]["data"]["text/plain"]
    assert "manifest.json" in listing and "mixed-audio.mkv" in listing


async def test_classroom_notebook_runs_a_class(
    standalone: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """classroom.ipynb, the teacher's side, against a standalone server whose host token
    the kernel holds: two students in the room and one who comes once it is locked. The
    late one waits in the lobby (no page shows the teacher's widget here, so nobody admits
    them), the two are dealt into two groups and brought back, and the end of the call
    closes all three for good."""
    monkeypatch.setenv("NBCONFERENCE_SIGNALING_URL", standalone.url)
    monkeypatch.setenv("NBCONFERENCE_TOKEN", STANDALONE_HOST_TOKEN)
    student_url = f"{standalone.url}?token={STANDALONE_TOKEN}"
    students = [Client(await connect_url(student_url)) for _ in range(2)]
    for number, student in enumerate(students):
        await student.join("class", f"student {number}")

    async def knock_once_locked() -> Client:
        while not standalone.registry.locked("class"):
            await asyncio.sleep(0.05)
        late = Client(await connect_url(student_url))
        await late.send({"type": "join", "room": "class", "name": "late"})
        return late

    knocking = asyncio.ensure_future(knock_once_locked())
    notebook = nbformat.read(NOTEBOOKS / "classroom.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(tmp_path)}})
    try:
        await client.async_execute()
        late = await asyncio.wait_for(knocking, 10)
    finally:
        knocking.cancel()
    assert errors_of(notebook) == []

    groups = set()
    for student in students:
        moved = await student.next_of("moved")
        groups.add(moved["room"])
        await student.next_of("welcome", room=moved["room"])
        await student.next_of("welcome", room="class")  # back with the others
    assert len(groups) == 2 and all(".breakout." in room for room in groups), groups
    assert (await late.expect("waiting"))["room"] == "class"
    for person in [*students, late]:
        with pytest.raises(Closed) as ended:
            while True:
                await person.recv()
        assert ended.value.code == CLOSE_ENDED, ended.value
