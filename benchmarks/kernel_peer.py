"""Benchmark KernelPeer media: frames per second sent and received, and the CPU it costs.

Two KernelPeers, each in its own process, join a room on a standalone signaling server
(run in this process). Scenarios: ``oneway`` (one publishes, the other receives) and
``both`` (each publishes and receives). Frames are a moving 640x480 gradient, so the
encoder has real work. CPU is the worker process's user+system time (all threads: aiortc
encodes and decodes off the event loop) over the measured wall time. Prints JSON.

    python benchmarks/kernel_peer.py                      # both scenarios, 10 s each
    python benchmarks/kernel_peer.py --scenario both --fps 15 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from typing import Any

import numpy as np
import psutil

from nbconference.peer import KernelPeer
from nbconference.server.standalone import start_server

ROLES = {"oneway": ("publish", "receive"), "both": ("both", "both")}


def moving_frames(width: int, height: int, count: int = 60) -> list[np.ndarray[Any, Any]]:
    """A gradient with a moving bar: cheap to produce, not trivial to encode."""
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    base = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=2).astype(np.uint8)
    frames = []
    for i in range(count):
        frame = base.copy()
        left = (i * width // count) % width
        frame[:, left : left + width // 10] = (255, 255, 255)
        frames.append(frame)
    return frames


async def worker(args: argparse.Namespace) -> dict[str, Any]:
    """One KernelPeer: publish and/or receive for ``seconds`` after the first frame."""
    process = psutil.Process()
    peer = await KernelPeer.join(args.room, name=args.role, url=args.url, token=args.token)
    received = 0
    shapes: set[tuple[int, ...]] = set()
    first_frame = asyncio.get_running_loop().create_future()

    def count(peer_id: str, image: Any) -> None:
        nonlocal received
        received += 1
        shapes.add(image.shape)
        if not first_frame.done():
            first_frame.set_result(None)

    joined_at = time.monotonic()
    if args.role in ("receive", "both"):
        peer.on_frame(count)
    if args.role in ("publish", "both"):
        frames = moving_frames(args.width, args.height)
        index = iter(range(10**9))
        peer.publish_frames(lambda: frames[next(index) % len(frames)], fps=args.fps)
    if args.role == "publish":
        while not peer.links:
            await asyncio.sleep(0.05)
        first_frame.set_result(None)
    await asyncio.wait_for(first_frame, 30)
    first_frame_s = time.monotonic() - joined_at

    start_cpu, start_wall = process.cpu_times(), time.monotonic()
    start_received, start_pushed = received, peer.video.frames_pushed
    start_sent = peer.video.frames_sent
    await asyncio.sleep(args.seconds)
    end_cpu, wall = process.cpu_times(), time.monotonic() - start_wall
    cpu = (end_cpu.user - start_cpu.user) + (end_cpu.system - start_cpu.system)
    result = {
        "role": args.role,
        "first_frame_s": round(first_frame_s, 3),
        "published_fps": round((peer.video.frames_pushed - start_pushed) / wall, 1),
        "encoded_fps": round((peer.video.frames_sent - start_sent) / wall, 1),
        "received_fps": round((received - start_received) / wall, 1),
        "received_shapes": sorted(shapes),
        "cpu_percent": round(100 * cpu / wall, 1),
        "rss_mb": round(process.memory_info().rss / 2**20, 1),
    }
    await peer.leave()
    return result


async def run_scenario(name: str, args: argparse.Namespace) -> dict[str, Any]:
    server = await start_server(port=0)
    try:
        workers = []
        for i, role in enumerate(ROLES[name]):
            command = [sys.executable, os.path.abspath(__file__), "--worker", "--role", role]
            # "--x=value": a random token may start with "-".
            command += [f"--url={server.url}", f"--token={server.token}", f"--room=bench-{name}"]
            command += ["--seconds", str(args.seconds), "--fps", str(args.fps)]
            command += ["--width", str(args.width), "--height", str(args.height)]
            workers.append(
                await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
            )
            if i == 0:
                await asyncio.sleep(0.5)  # the first one is in the room before the second
        outputs = await asyncio.wait_for(
            asyncio.gather(*(w.communicate() for w in workers)), args.seconds + 60
        )
    finally:
        for process in workers:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await server.stop()
    failed = [w.returncode for w in workers if w.returncode != 0]
    if failed:
        raise RuntimeError(f"scenario {name}: a worker exited with {failed[0]}")
    peers = [json.loads(stdout.decode().strip().splitlines()[-1]) for stdout, _ in outputs]
    return {"scenario": name, "peers": peers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=[*ROLES, "all"], default="all")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per run")
    parser.add_argument("--fps", type=float, default=30.0, help="frames published per second")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--role", choices=["publish", "receive", "both"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--room", default="bench", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asyncio.run(worker(args))), flush=True)
        return
    scenarios = list(ROLES) if args.scenario == "all" else [args.scenario]
    report = {
        "benchmark": "kernel_peer",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {
            "width": args.width,
            "height": args.height,
            "target_fps": args.fps,
            "seconds": args.seconds,
        },
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "results": [asyncio.run(run_scenario(name, args)) for name in scenarios],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
