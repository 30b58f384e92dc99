"""The Recorder (issue 13) with real aiortc senders over the real standalone server: it
joins as a recorder, asks for whole pictures, writes one file per participant and track
plus a mix and a manifest, follows who comes and goes, and leaves readable files when it
is killed. The browser side (banners, fake cameras) is tests/browser/test_recorder_browser.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiortc")
av = pytest.importorskip("av")

from nbconference import Recorder  # noqa: E402
from nbconference.peer import KernelPeer, SignalingError  # noqa: E402
from nbconference.protocol import MAX_VIEW_HEIGHT  # noqa: E402
from nbconference.server.standalone import StandaloneServer  # noqa: E402
from support.polling import eventually  # noqa: E402
from support.recording_peers import decoded, sender  # noqa: E402


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    return {"reconnect_grace_seconds": 2.0, "max_peers_per_room": 3}


async def test_a_recorder_writes_each_participant_and_a_manifest(
    standalone: StandaloneServer, peers: list[KernelPeer], tmp_path: Path
) -> None:
    ada = await sender(standalone, peers, "Ada", 60)
    rec = await Recorder.start(
        "lab", tmp_path, name="Grace", url=standalone.url, token=standalone.token
    )
    try:
        assert rec.status == "recording" and rec.path.parent == tmp_path
        bob = await sender(standalone, peers, "Bob", 200)  # joins after the recorder
        # Both senders are asked for their whole picture, and send to the recorder.
        for peer in (ada, bob):
            await eventually(
                lambda p=peer: (
                    p.links.get(rec.id) is not None
                    and p.links[rec.id].shows_us == MAX_VIEW_HEIGHT
                    and p.links[rec.id].frames_sent > 15
                ),
                15,
                f"{peer.name} to send the recorder its whole picture",
            )
        # In the senders' eyes the recorder has no video for them, and is not a person of
        # the room (peers) but its recording, as in the widget.
        assert ada.links[rec.id].state["camera"] is False
        assert ada.recording and rec.id not in {p["id"] for p in ada.peers}
        assert {p["id"] for p in rec.peers} == {ada.id, bob.id}
        await asyncio.sleep(2.0)
        sent = {p.name: p.links[rec.id].frames_sent for p in (ada, bob)}
        await bob.leave()  # Bob leaves while recording: his file is closed there
        await eventually(lambda: bob.id not in rec.links, 10, "the recorder to see Bob go")
        await asyncio.sleep(0.5)
    finally:
        await rec.stop()
    assert rec.status == "stopped"

    manifest = json.loads(rec.manifest_path.read_text())
    assert manifest == rec.manifest_json()
    people = {p["name"]: p for p in manifest["participants"]}
    assert set(people) == {"Ada", "Bob"}
    assert people["Ada"]["joined"] < 0.1 and people["Bob"]["joined"] >= people["Ada"]["joined"]
    assert people["Bob"]["left"] is not None and people["Bob"]["left"] < people["Ada"]["left"]
    for name, shade in (("Ada", 60), ("Bob", 200)):
        record = people[name]
        assert set(record["files"]) == {"camera"}, record  # KernelPeers send no audio
        frames, last, size = decoded(rec.path / record["files"]["camera"])
        assert size == (320, 240)
        # Every frame sent to the recorder is in the file, give or take those in flight.
        assert sent[name] - 3 <= frames <= sent[name] + 40, (name, frames, sent[name])
        span = (record["left"] or 0) - record["joined"]
        assert 0 < last <= span + 0.2, (name, last, record)
        with av.open(str(rec.path / record["files"]["camera"])) as container:
            picture = next(container.decode(video=0)).to_ndarray(format="rgb24")
        assert abs(int(picture.mean()) - shade) < 20

    # The mix runs from start to stop, on the clock: silence here, but whole.
    _, mixed_last, _ = decoded(rec.path / manifest["mixed_audio"])
    assert abs(mixed_last - people["Ada"]["left"]) < 0.5, (mixed_last, people["Ada"])

    frame = rec.manifest()
    assert list(frame.columns) == ["offset", "peer_id", "name", "event", "file"]
    events = [(row.name, row.event) for row in frame.itertuples()]
    assert events[:2] == [("Ada", "joined"), ("Ada", "camera on")]
    assert ("Bob", "joined") in events and ("Bob", "left") in events
    assert ("Ada", "recording stopped") in events
    camera_on = frame[(frame.name == "Bob") & (frame.event == "camera on")]
    assert camera_on.file.tolist() == [people["Bob"]["files"]["camera"]]
    assert frame.offset.is_monotonic_increasing


async def test_a_recorder_takes_a_place_in_the_room(
    standalone: StandaloneServer, peers: list[KernelPeer], tmp_path: Path
) -> None:
    for n in range(3):
        await sender(standalone, peers, f"P{n}", 100)
    with pytest.raises(SignalingError) as refused:
        await Recorder.start("lab", tmp_path, url=standalone.url, token=standalone.token)
    assert refused.value.code == "room-full"
    assert list(tmp_path.iterdir()) == [], "a refused recorder writes nothing"


async def test_a_recorder_stops_once_and_refuses_bad_settings(
    standalone: StandaloneServer, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="room"):
        Recorder("no spaces", tmp_path)
    with pytest.raises(ValueError, match="name"):
        Recorder("lab", tmp_path, name="x" * 65)
    async with Recorder("lab", tmp_path, url=standalone.url, token=standalone.token) as rec:
        assert rec.status == "recording"
    await rec.stop()  # a second stop does nothing
    assert rec.status == "stopped" and rec.manifest().empty
    assert json.loads(rec.manifest_path.read_text())["participants"] == []


# The recorder in a process of its own, killed with SIGKILL once it has recorded a while.
KILLED = r"""
import asyncio, sys
from nbconference import Recorder

async def main(url, token, folder):
    rec = await Recorder.start("lab", folder, name="Doomed", url=url, token=token)
    print(rec.path, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main(*sys.argv[1:]))
"""


async def test_a_killed_recorder_leaves_readable_files(
    standalone: StandaloneServer, peers: list[KernelPeer], tmp_path: Path
) -> None:
    ada = await sender(standalone, peers, "Ada", 90)
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED, standalone.url, standalone.token, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 30)
        folder = Path(line.strip())

        def recorder_link() -> Any:
            return next((p for p in ada.links.values() if p.shows_us), None)

        await eventually(recorder_link, 20, "the recorder to ask Ada for frames")
        await eventually(
            lambda: recorder_link().frames_sent > 45, 20, "three seconds of Ada's camera"
        )
        await asyncio.sleep(1.0)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == -signal.SIGKILL
    manifest = json.loads((folder / "manifest.json").read_text())
    (record,) = manifest["participants"]
    assert record["name"] == "Ada" and record["left"] is None  # it never got to say
    frames, last, size = decoded(folder / record["files"]["camera"])
    # Readable up to its last complete second (a cluster at least every second).
    assert size == (320, 240) and frames >= 30 and last >= 2.0, (frames, last)
    _, mixed_last, _ = decoded(folder / manifest["mixed_audio"])
    assert mixed_last >= 2.0


def test_the_disk_writer_keeps_order_drops_only_video_when_behind_and_drains() -> None:
    from threading import Event

    from nbconference.peer.disk_writer import DiskWriter

    writer = DiskWriter(max_pending=3)
    done: list[str] = []
    busy, gate = Event(), Event()
    assert writer.submit(lambda: (busy.set(), gate.wait()))  # busy until the gate opens
    assert busy.wait(10)
    assert writer.submit(lambda: done.append("a"))  # queued while busy
    accepted = [writer.submit(lambda n=n: done.append(f"v{n}"), droppable=True) for n in range(5)]
    assert accepted == [True, True, False, False, False] and writer.dropped == 3
    assert writer.submit(lambda: done.append("audio"))  # never dropped
    gate.set()
    assert writer.close(10)
    assert done == ["a", "v0", "v1", "audio"]
    assert not writer.submit(lambda: done.append("late"))


def test_a_kernel_shutting_down_closes_the_recording(tmp_path: Path) -> None:
    """A real ipykernel records with top-level await and is shut down without a word to
    the recorder: its exit closes every file and writes the manifest's last events."""
    from jupyter_client.manager import start_new_kernel

    from support.kernel_peers import KernelPeers
    from support.polling import wait_until
    from support.standalone import ServeProcess

    with ServeProcess() as server:
        senders = KernelPeers(server.url, server.token, "lab")
        try:
            ada = senders.join("Ada", fps=15)
            manager, client = start_new_kernel(kernel_name="python3")
            try:
                code = (
                    "from nbconference import Recorder\n"
                    f"rec = await Recorder.start('lab', {str(tmp_path)!r}, name='Grace',"
                    f" url={server.url!r}, token={server.token!r})\n"
                    "import asyncio\n"
                    "while not [t for t in rec.tracks() if t['frames'] > 30]:\n"
                    "    await asyncio.sleep(0.1)\n"
                    "print(rec.id)\n"
                )
                printed: list[str] = []
                reply = client.execute_interactive(
                    code,
                    timeout=60,
                    output_hook=lambda m: printed.append(m["content"].get("text", "")),
                )
                assert reply["content"]["status"] == "ok", reply["content"]
                recorder_id = "".join(printed).strip()
                assert recorder_id in senders.links("Ada")
            finally:
                client.stop_channels()
                manager.shutdown_kernel(now=False)  # a shutdown request, as Lab sends
            # It left the room as it went (not dropped: that would take the server's
            # grace window of 15 s), so the banners go at once.
            wait_until(lambda: recorder_id not in senders.links("Ada"), 5, "the recorder to leave")
        finally:
            senders.close()
    (folder,) = tmp_path.iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    (record,) = manifest["participants"]
    assert record["id"] == ada and record["left"] is not None
    assert manifest["events"][-1]["event"] == "recording stopped"
    with av.open(str(folder / record["files"]["camera"])) as container:
        assert container.duration is not None  # closed properly: Matroska knows its length
        assert len(list(container.decode(video=0))) > 30
