"""Lean signaling clients in a process of their own that flip their state as fast as
the server lets them: what a room full of toggled cameras and hands sends a recorder,
without the cost of sending it landing on the test's own loop.

Each client joins ``room`` (camera, microphone and screen off), then waits for a line
on stdin; it then sends ``flips`` state frames alternating camera and hand (and the
microphone every third one), reading what the server sends meanwhile, and at last its
final state: camera on for even clients, off for odd ones, microphone on, screen off,
hand down. Prints ``{"joined": [ids]}``, then ``{"done": sent frames}``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPT = r"""
import asyncio, json, sys
from support.client import Client, connect_url

async def flood(client, n, flips, pace):
    for i in range(flips):
        state = {"camera": i % 2 == 0, "hand": i % 4 < 2}
        if i % 3 == 0:
            state["microphone"] = i % 2 == 0
        await client.send({"type": "state", "state": state})
        await asyncio.sleep(pace)
    final = {"camera": n % 2 == 0, "microphone": True, "screen": False, "hand": False}
    await client.send({"type": "state", "state": final})
    return flips + 1

async def drain(client):
    while await client.ws.read_message() is not None:
        pass

async def main(url, token, room, count, flips, pace):
    clients = []
    for n in range(int(count)):
        client = Client(await connect_url(f"{url}?token={token}"))
        off = {"camera": False, "microphone": False, "screen": False}
        await client.join(room, f"flipper-{n}", state=off)
        clients.append(client)
    print(json.dumps({"joined": [c.id for c in clients]}), flush=True)
    readers = [asyncio.ensure_future(drain(c)) for c in clients]
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    floods = [flood(c, n, int(flips), float(pace)) for n, c in enumerate(clients)]
    sent = await asyncio.gather(*floods)
    print(json.dumps({"done": sum(sent)}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    for client in clients:
        client.close()
    await asyncio.gather(*readers, return_exceptions=True)

asyncio.run(main(*sys.argv[1:]))
"""


def final_state(n: int) -> dict[str, bool]:
    """The recorded keys of client ``n``'s last state."""
    return {"camera": n % 2 == 0, "microphone": True, "screen": False}


class StateFlood:
    """``count`` clients in ``room``, in a subprocess; :meth:`go` starts their flips."""

    def __init__(
        self, url: str, token: str, room: str, count: int, flips: int, pace: float = 0.004
    ) -> None:
        tests = str(Path(__file__).resolve().parent.parent)
        self.process = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, url, token, room, str(count), str(flips), str(pace)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([tests, *sys.path])},
        )
        self.ids: list[str] = self._report()["joined"]

    def _report(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(10)
            raise AssertionError(f"the flooding clients ended ({self.process.returncode})")
        report: dict[str, Any] = json.loads(line)
        return report

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def done(self) -> int:
        """Wait for every client to have sent its last state; the frames sent."""
        return int(self._report()["done"])

    def close(self) -> None:
        """The clients leave and the process ends."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("leave\n")
            self.process.stdin.flush()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
