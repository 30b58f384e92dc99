"""The real ConferenceWidget in JupyterLab and a KernelPeer in one room.

Uses the browser tests' harness (JupyterLab, Chromium with fake devices, widget
notebooks). The KernelPeer runs in a subprocess with ``asyncio.run``, because the sync
Playwright API the harness uses owns this thread's event loop. One widget is in the
room before the kernel peer (the widget offers) and one joins after it (the kernel peer
offers): both must show the kernel as a tile and decode its video, and the kernel peer
must receive both cameras.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from support import probes
from support.lab import running_lab
from support.meeting import Meeting
from support.pages import launch_chromium
from support.polling import wait_until

pytest.importorskip("aiortc")

# Joins, publishes a solid colour, reports as JSON lines, leaves when stdin closes.
KERNEL_PEER = """
import asyncio, json, sys
import numpy as np
from nbconference import KernelPeer

def report(**fields):
    print(json.dumps(fields), flush=True)

async def main(url, token, room):
    async with KernelPeer(room, name="kernel", url=url, token=token) as kp:
        report(id=kp.id)
        kp.publish_frames(lambda: np.full((240, 320, 3), (200, 40, 160), np.uint8), fps=15)
        seen = set()
        def frame(peer_id, image):
            if peer_id not in seen:
                seen.add(peer_id)
                report(frame_from=peer_id, shape=image.shape)
        kp.on_frame(frame)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    report(status=kp.status)

asyncio.run(main(*sys.argv[1:]))
"""


class KernelProcess:
    """The subprocess and the JSON lines it printed, read on a thread."""

    def __init__(self, url: str, token: str, room: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", KERNEL_PEER, url, token, room],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def reported(self) -> list[dict[str, Any]]:
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        return self.seen

    def leave(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def test_widgets_show_the_kernel_peer_as_a_tile(tmp_path: Path) -> None:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            with running_lab(tmp_path) as lab:
                meeting = Meeting(browser, lab, "kernel-peer")
                kernel: KernelProcess | None = None
                try:
                    room = meeting.room()
                    (ada,) = meeting.join(room, ["ada"])
                    kernel = KernelProcess(lab.signaling_url, lab.token, room)
                    kernel_id = wait_until(
                        lambda: next((r["id"] for r in kernel.reported() if "id" in r), None),
                        30,
                        "the kernel peer to join",
                    )
                    (bob,) = meeting.join(room, ["bob"])

                    for person in (ada, bob):
                        wait_until(
                            lambda p=person: _decodes(p, kernel_id),
                            30,
                            f"{person.name} to decode the kernel peer",
                        )
                        tile = next(t for t in probes.tiles(person) if t["peerId"] == kernel_id)
                        assert tile["microphone"] == "off" and tile["camera"] is None, tile
                    shapes = wait_until(
                        lambda: _frames_from(kernel, {ada.peer_id, bob.peer_id}),
                        30,
                        "the kernel peer to receive both cameras",
                    )
                    assert all(len(shape) == 3 and shape[2] == 3 for shape in shapes), shapes
                    kernel.leave()
                    assert kernel.reported()[-1] == {"status": "left"}
                    assert kernel.process.returncode == 0
                finally:
                    meeting.close()
                    if kernel is not None:
                        kernel.leave()
        finally:
            browser.close()


def _decodes(person: Any, kernel_id: str) -> bool:
    media = probes.media(person).get(kernel_id)
    return media is not None and media.decoding_video


def _frames_from(kernel: KernelProcess, peer_ids: set[str]) -> list[list[int]] | None:
    frames = {r["frame_from"]: r["shape"] for r in kernel.reported() if "frame_from" in r}
    return [frames[p] for p in peer_ids] if peer_ids <= set(frames) else None
