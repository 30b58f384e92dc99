"""Benchmark the Recorder: the CPU it costs per participant recorded, on this machine.

A standalone signaling server runs in this process. For each room size N, N KernelPeers
(one process, each publishing a moving 640x360 picture at 30 fps, what Chromium's fake
camera sends) and a Recorder (a process of its own) join a room. Once the recorder
writes every participant's camera, its process's user+system CPU time (all threads:
aiortc decoding, scaling and H.264 encoding on the writer thread, the mix) is measured
over ``--seconds``, with the longest its event loop was held up (``loop_stall_max_ms``: how
late a 10 ms sleep ended at worst, what a slow callback costs everything else the loop
does). KernelPeers send no audio: the cost of voices (Opus decode, encode
and the mix, small beside video) is not in these figures. Prints JSON.

    python benchmarks/recorder.py                          # 1, 2 and 4 participants, 15 s
    python benchmarks/recorder.py --participants 2 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from typing import Any

import psutil

from nbconference import Recorder
from nbconference.peer import KernelPeer
from nbconference.server.standalone import start_server

# The senders' frames: the same moving gradient as benchmarks/kernel_peer.py.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kernel_peer import moving_frames


async def senders(args: argparse.Namespace) -> None:
    """N KernelPeers publishing until their stdin closes."""
    peers = []
    frames = moving_frames(args.width, args.height)
    for n in range(args.count):
        peer = await KernelPeer.join(args.room, name=f"sender-{n}", url=args.url, token=args.token)
        index = iter(range(10**9))
        peer.publish_frames(lambda i=index: frames[next(i) % len(frames)], fps=args.fps)
        peers.append(peer)
    print(json.dumps({"joined": [p.id for p in peers]}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await asyncio.gather(*(p.leave() for p in peers))


async def worst_stall(worst: list[float]) -> None:
    """Keep in ``worst[0]`` how late a 10 ms sleep ended at worst (seconds)."""
    while True:
        asked = time.monotonic()
        await asyncio.sleep(0.01)
        worst[0] = max(worst[0], time.monotonic() - asked - 0.01)


async def recorder(args: argparse.Namespace) -> dict[str, Any]:
    """Record the room; measure once every sender's camera is being written."""
    process = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="nbc-recorder-bench-") as folder:
        rec = await Recorder.start(args.room, folder, name="bench", url=args.url, token=args.token)
        deadline = time.monotonic() + 60
        while sum(1 for t in rec.tracks() if t["frames"] > 0) < args.count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(rec.tracks())} of {args.count} cameras arrived")
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # past the first keyframes and size changes
        start_cpu, start_wall = process.cpu_times(), time.monotonic()
        start_frames = {t["peer_id"]: t["frames"] for t in rec.tracks()}
        stall = [0.0]
        probe = asyncio.ensure_future(worst_stall(stall))
        await asyncio.sleep(args.seconds)
        probe.cancel()
        end_cpu, wall = process.cpu_times(), time.monotonic() - start_wall
        end_frames = {t["peer_id"]: t["frames"] for t in rec.tracks()}
        dropped = rec.dropped_frames
        await rec.stop()
        sizes = [os.path.getsize(os.path.join(rec.path, f)) for f in os.listdir(rec.path)]
    cpu = (end_cpu.user - start_cpu.user) + (end_cpu.system - start_cpu.system)
    fps = [(end_frames[p] - start_frames.get(p, 0)) / wall for p in end_frames]
    return {
        "participants": args.count,
        "cpu_seconds_per_second": round(cpu / wall, 3),
        "cpu_seconds_per_second_per_participant": round(cpu / wall / args.count, 3),
        "written_fps_per_participant": [round(x, 1) for x in sorted(fps)],
        "dropped_frames": dropped,
        "loop_stall_max_ms": round(stall[0] * 1000, 1),
        "rss_mb": round(process.memory_info().rss / 2**20, 1),
        "bytes_written_per_second": round(sum(sizes) / (wall + 2.0)),
    }


async def run(count: int, args: argparse.Namespace) -> dict[str, Any]:
    server = await start_server(port=0)
    room = f"bench-recorder-{count}"
    common = [f"--url={server.url}", f"--token={server.token}", f"--room={room}"]
    common += ["--count", str(count), "--fps", str(args.fps), "--seconds", str(args.seconds)]
    common += ["--width", str(args.width), "--height", str(args.height)]
    me = os.path.abspath(__file__)
    sending = await asyncio.create_subprocess_exec(
        sys.executable, me, "--role", "senders", *common,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    recording = None
    try:
        assert sending.stdout is not None and sending.stdin is not None
        await asyncio.wait_for(sending.stdout.readline(), 60)
        recording = await asyncio.create_subprocess_exec(
            sys.executable, me, "--role", "recorder", *common, stdout=asyncio.subprocess.PIPE
        )
        output, _ = await asyncio.wait_for(recording.communicate(), args.seconds + 120)
        if recording.returncode != 0:
            raise RuntimeError(f"the recorder exited with {recording.returncode}")
        sending.stdin.close()
        await asyncio.wait_for(sending.wait(), 30)
        result: dict[str, Any] = json.loads(output.decode().strip().splitlines()[-1])
        return result
    finally:
        for process in (sending, recording):
            if process is not None and process.returncode is None:
                process.kill()
                await process.wait()
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured time per run")
    parser.add_argument("--fps", type=float, default=30.0, help="frames each sender publishes")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--role", choices=["senders", "recorder"], help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--room", default="bench", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "senders":
        asyncio.run(senders(args))
        return
    if args.role == "recorder":
        print(json.dumps(asyncio.run(recorder(args))), flush=True)
        return
    report = {
        "benchmark": "recorder",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {
            "width": args.width,
            "height": args.height,
            "sender_fps": args.fps,
            "seconds": args.seconds,
        },
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "results": [asyncio.run(run(count, args)) for count in args.participants],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
