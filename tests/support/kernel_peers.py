"""KernelPeers in a subprocess, steered from a test that uses Playwright's sync API.

That API owns the test thread's event loop, so the peers run with ``asyncio.run`` in a
child process. It takes one JSON command per line on stdin and prints one JSON report
per line; :class:`KernelPeers` writes the commands and collects the reports on a thread.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from .polling import wait_until

# Commands (one JSON object a line), each answered by one report line:
#   {"join": name, "width", "height", "fps", "colour"}  joins and publishes a solid colour
#       -> {"joined": name, "id": peer id}
#   {"read": name, "peer": id}   iterates that peer's camera frames
#       -> later {"frame": name, "from": id, "shape": [h, w, 3]} at each new shape
#   {"on_frame": name}           a callback on every peer's camera frames (same reports)
#   {"stop": name}               stops reading          -> {"stopped": name}
#   {"peers": name}              -> {"peers": name, "links": {id: {"shows_us", "frames_sent"}}}
#   {"stats": name}              -> {"stats": name, "media": plane, "received": {id: frames}}
#   {"leave": name}              -> {"left": name, "status": "left"}
# End of input: every peer leaves -> {"status": "left"} per peer still in.
SCRIPT = r"""
import asyncio, json, sys
import numpy as np
from nbconference import KernelPeer

def report(**fields):
    print(json.dumps(fields), flush=True)

async def main(url, token, room):
    loop = asyncio.get_running_loop()
    lines = asyncio.Queue()
    def pump():
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)
    reader = loop.run_in_executor(None, pump)
    peers, readers, shapes = {}, {}, {}

    def seen(name, peer_id, image):
        if shapes.get((name, peer_id)) != image.shape:
            shapes[name, peer_id] = image.shape
            report(frame=name, **{"from": peer_id}, shape=list(image.shape))

    async def read(name, peer_id):
        async for peer_frame in peers[name].frames(peer_id):
            seen(name, peer_id, peer_frame.image)

    while (line := await lines.get()) is not None:
        command = json.loads(line)
        if "join" in command:
            name = command["join"]
            kp = await KernelPeer.join(room, name=name, url=url, token=token)
            image = np.empty((command["height"], command["width"], 3), np.uint8)
            image[...] = command["colour"]
            kp.publish_frames(lambda image=image: image, fps=command["fps"])
            peers[name] = kp
            report(joined=name, id=kp.id)
        elif "read" in command:
            name = command["read"]
            readers[name] = asyncio.ensure_future(read(name, command["peer"]))
        elif "on_frame" in command:
            name = command["on_frame"]
            readers[name] = peers[name].on_frame(lambda p, image, n=name: seen(n, p, image))
        elif "stop" in command:
            name = command["stop"]
            stop = readers.pop(name)
            stop() if callable(stop) else stop.cancel()
            report(stopped=name)
        elif "peers" in command:
            name = command["peers"]
            links = {
                peer_id: {"shows_us": peer.shows_us, "frames_sent": peer.frames_sent}
                for peer_id, peer in peers[name].links.items()
            }
            report(peers=name, links=links)
        elif "stats" in command:
            name = command["stats"]
            received = {p: r["frames_received"] for p, r in peers[name].stats.items()}
            report(stats=name, media=peers[name].media, received=received)
        elif "leave" in command:
            name = command["leave"]
            kp = peers.pop(name)
            await kp.leave()
            report(left=name, status=kp.status)
    for name, kp in peers.items():
        await kp.leave()
        report(left=name, status=kp.status)
    await reader

asyncio.run(main(*sys.argv[1:]))
"""


class KernelPeers:
    """Kernel peers in one room, in one subprocess; :meth:`close` makes them all leave."""

    def __init__(self, url: str, token: str, room: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, url, token, room],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.ids: dict[str, str] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(json.loads(line))

    def reported(self) -> list[dict[str, Any]]:
        """Every report so far, in order."""
        while not self._lines.empty():
            self.seen.append(self._lines.get_nowait())
        return self.seen

    def wait_for(
        self, match: Callable[[dict[str, Any]], bool], what: str, timeout: float = 30.0
    ) -> dict[str, Any]:
        """The first report that ``match`` accepts, waiting up to ``timeout`` seconds."""
        return wait_until(
            lambda: next((r for r in self.reported() if match(r)), None), timeout, what
        )

    def command(self, **fields: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(fields) + "\n")
        self.process.stdin.flush()

    def join(
        self,
        name: str,
        size: tuple[int, int] = (320, 240),
        fps: float = 15.0,
        colour: tuple[int, int, int] = (200, 40, 160),
    ) -> str:
        """A kernel peer joins and publishes a ``size`` (width, height) solid colour."""
        width, height = size
        self.command(join=name, width=width, height=height, fps=fps, colour=list(colour))
        joined = self.wait_for(lambda r: r.get("joined") == name, f"{name} to join")
        self.ids[name] = str(joined["id"])
        return self.ids[name]

    def read(self, name: str, peer_id: str) -> None:
        """``name`` iterates ``peer_id``'s camera frames (so it asks for all of them)."""
        self.command(read=name, peer=peer_id)

    def on_frame(self, name: str) -> None:
        """``name`` takes every peer's camera frames in a callback."""
        self.command(on_frame=name)

    def stop(self, name: str) -> None:
        self.command(stop=name)
        self.wait_for(lambda r: r.get("stopped") == name, f"{name} to stop reading")

    def frame_shapes(self, name: str, peer_id: str) -> list[tuple[int, ...]]:
        """Every shape of frame ``name`` has read from ``peer_id``, in order."""
        return [
            tuple(r["shape"])
            for r in self.reported()
            if r.get("frame") == name and r.get("from") == peer_id
        ]

    def links(self, name: str) -> dict[str, dict[str, Any]]:
        """Per remote peer: how high it shows ``name`` and the frames sent to it."""
        before = len(self.reported())
        self.command(peers=name)
        report = wait_until(
            lambda: next((r for r in self.reported()[before:] if r.get("peers") == name), None),
            30,
            f"{name}'s links",
        )
        links: dict[str, dict[str, Any]] = report["links"]
        return links

    def stats(self, name: str) -> dict[str, Any]:
        """``name``'s plane (``media``) and frames received from each peer (``received``)."""
        before = len(self.reported())
        self.command(stats=name)
        report: dict[str, Any] = wait_until(
            lambda: next((r for r in self.reported()[before:] if r.get("stats") == name), None),
            30,
            f"{name}'s stats",
        )
        return report

    def leave(self, name: str) -> None:
        self.command(leave=name)
        self.wait_for(lambda r: r.get("left") == name, f"{name} to leave")
        self.ids.pop(name, None)

    def close(self) -> None:
        """Every peer leaves (end of input), and the process ends."""
        if self.process.poll() is not None:
            return
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
