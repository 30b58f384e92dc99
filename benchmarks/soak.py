"""Scale soak: many idle joined sockets on one ``nbconference serve`` process, and a
working subset that must lose nothing meanwhile. Prints JSON to stdout.

    python benchmarks/soak.py                       # 10,000 sockets, 400 of them working
    python benchmarks/soak.py --sockets 2000 --seconds 5

The server and the load generators are separate processes, each with its soft limit on
open files raised to the hard one (``nbconference serve`` raises its own). The idle
sockets sit in rooms of four, joined, answering the server's pings; the working subset
(also in rooms of four) sends paced signals with per-pair sequence numbers. Server RSS
is read before the first socket, with every socket joined, and after the traffic.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loadgen import raise_open_files, start_workers
from servers import start_standalone
from signaling import _next_event, cpu_seconds, percentile, rss_bytes

ROOM_SIZE = 4
IDLE_MARGIN_SECONDS = 2.0
TARGETS = {"rss_kb_per_socket_max": 20.0, "lost": 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=10_000, help="all sockets (default 10000)")
    parser.add_argument("--working", type=int, default=400, help="of which send (default 400)")
    parser.add_argument("--seconds", type=float, default=20.0, help="of traffic (default 20)")
    parser.add_argument("--rate", type=float, default=2000.0, help="signals/s (default 2000)")
    parser.add_argument("--idle-workers", type=int, default=2, help="processes for idle sockets")
    parser.add_argument(
        "--settle",
        type=float,
        default=10.0,
        help="seconds between the last join and the traffic (default 10): the collector's "
        "first passes over the newly joined sockets' objects pause the server once",
    )
    parser.add_argument("--output", help="also write the JSON here")
    args = parser.parse_args(argv)
    idle = args.sockets - args.working
    assert idle > 0 and idle % ROOM_SIZE == 0 and args.working % ROOM_SIZE == 0

    limit = raise_open_files()  # the server inherits it too
    needed = max(idle // args.idle_workers, args.working, args.sockets) + 256
    assert limit >= needed, f"open files hard limit {limit} is below {needed}"
    servers = start_standalone()
    try:
        time.sleep(1.0)
        rss_before = rss_bytes(servers.pids)
        rooms = [f"idle-{n}" for n in range(idle // ROOM_SIZE)]
        plans: list[dict[str, Any]] = [
            {
                "urls": servers.urls,
                "rooms": rooms[w :: args.idle_workers],
                "room_size": ROOM_SIZE,
                "mode": "idle",
                # Held through the traffic (and a little past it): without a duration, an
                # idle worker closed its sockets as the traffic began, and the server's
                # 9,600 leaves fell into the measured window.
                "duration": args.seconds + IDLE_MARGIN_SECONDS,
            }
            for w in range(args.idle_workers)
        ]
        working_rooms = [f"work-{n}" for n in range(args.working // ROOM_SIZE)]
        plans.append(
            {
                "urls": servers.urls,
                "rooms": working_rooms,
                "room_size": ROOM_SIZE,
                "mode": "paced",
                "rate": args.rate,
                "duration": args.seconds,
            }
        )
        started = time.perf_counter()
        processes, events, go = start_workers(plans)
        try:
            joined = [_next_event(events, "joined") for _ in plans]
            joined_seconds = time.perf_counter() - started
            time.sleep(2.0)  # let the join bursts' buffers go
            rss_joined = rss_bytes(servers.pids)
            time.sleep(max(0.0, args.settle - 2.0))
            rss_settled = rss_bytes(servers.pids)
            cpu_before = cpu_seconds(servers.pids)
            go.set()
            results = [_next_event(events, "result") for _ in plans]
            server_cpu = cpu_seconds(servers.pids) - cpu_before
            rss_after = rss_bytes(servers.pids)
        finally:
            for process in processes:
                process.join(60)
                if process.is_alive():
                    process.kill()
    finally:
        servers.stop()
    # Results come in the order the workers finish: the working one is the one timed.
    work = next(result for result in results if "latencies_ns" in result)
    latencies = [ns / 1e6 for ns in work.get("latencies_ns", [])]
    join_latencies = [s * 1e3 for j in joined for s in j["join_latencies"]]
    per_socket = (rss_joined - rss_before) / args.sockets / 1024
    report = {
        "sockets": args.sockets,
        "working_sockets": args.working,
        "room_size": ROOM_SIZE,
        "open_files_limit": limit,
        "connected_and_joined_seconds": round(joined_seconds, 1),
        "join_ms_p50": round(percentile(join_latencies, 50), 1),
        "join_ms_p99": round(percentile(join_latencies, 99), 1),
        "server_rss_mb_before": round(rss_before / 2**20, 1),
        "server_rss_mb_joined": round(rss_joined / 2**20, 1),
        "server_rss_mb_settled": round(rss_settled / 2**20, 1),
        "settle_seconds": args.settle,
        "server_rss_mb_after_traffic": round(rss_after / 2**20, 1),
        "rss_kb_per_socket": round(per_socket, 2),
        "traffic_seconds": args.seconds,
        "sent": work["sent"],
        "received": work["received"],
        "lost": work["lost"],
        "out_of_order": work["out_of_order"],
        "errors": {k: v for r in results for k, v in r["errors"].items()},
        "latency_ms_p50": round(percentile(latencies, 50), 3),
        "latency_ms_p99": round(percentile(latencies, 99), 3),
        "latency_ms_max": round(max(latencies, default=float("nan")), 3),
        "server_cpu_us_per_message": round(1e6 * server_cpu / max(work["received"], 1), 1),
        "targets": TARGETS,
        "verdict": {
            "rss_kb_per_socket": per_socket <= TARGETS["rss_kb_per_socket_max"],
            "lost": work["lost"] == 0 and work["out_of_order"] == 0,
        },
        "python": sys.version.split()[0],
        "max_rss_mb_of_this_process": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        ),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            file.write(text + "\n")
    return 0 if all(report["verdict"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
