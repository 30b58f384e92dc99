"""Benchmark nbconference signaling: join time, relay latency, throughput, loss and memory.

Servers run in their own processes (``nbconference serve`` and/or ``jupyter server`` with
the extension); lean clients run in worker processes. Prints JSON to stdout.

    python benchmarks/signaling.py                      # both servers, every scenario
    python benchmarks/signaling.py --server standalone --scenario throughput
    python benchmarks/signaling.py --backend redis --servers 2   # rooms across 2 servers
    python benchmarks/signaling.py --server standalone --backend both   # memory beside redis
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import psutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loadgen import start_workers
from servers import RedisServer, Servers, start_jupyter, start_standalone

TARGETS = {
    "lost_at_1000_sockets": 0,
    "throughput_msgs_per_s_min": 18_000,
    "latency_p99_ms_max": 1.5,
    "rss_kb_per_connection_max": 30,
}
# Rooms across servers: every signal also crosses Redis and a second process.
REDIS_TARGETS = TARGETS | {"throughput_msgs_per_s_min": 5_000, "latency_p99_ms_max": 10.0}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# Niceness given to the servers and clients under test (--renice): on a machine that
# other work shares, a negative value lets them have their cores, as the targets assume.
# With autogroup scheduling a process's nice only ranks it within its session, so the
# session's group (servers get sessions of their own) is reniced too.
NICE = 0


def prioritize(pids: list[int]) -> None:
    if not NICE:
        return
    for pid in pids:
        os.setpriority(os.PRIO_PROCESS, pid, NICE)
        with contextlib.suppress(OSError), open(f"/proc/{pid}/autogroup", "w") as group:
            group.write(str(NICE))


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def rss_bytes(pids: list[int]) -> int:
    return sum(psutil.Process(pid).memory_info().rss for pid in pids)


def run_load(
    servers: Servers,
    clients: int,
    room_size: int,
    mode: str,
    workers: int = 1,
    before_go: Callable[[], None] | None = None,
    **plan: Any,
) -> dict[str, Any]:
    """``clients`` lean clients in rooms of ``room_size`` spread over ``servers.urls``."""
    rooms = [f"bench-{n}" for n in range(clients // room_size)]
    plans = [
        {"urls": servers.urls, "rooms": rooms[w::workers], "room_size": room_size, "mode": mode}
        | plan
        for w in range(workers)
    ]
    processes, events, go = start_workers(plans)
    prioritize([p.pid for p in processes if p.pid is not None])
    try:
        joined = [_next_event(events, "joined") for _ in plans]
        if before_go is not None:
            before_go()
        cpu_before = cpu_seconds(servers.pids)
        worker_cpu_before = cpu_seconds([p.pid for p in processes if p.pid is not None])
        started = time.perf_counter()
        go.set()
        results = [_next_event(events, "result") for _ in plans]
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(servers.pids) - cpu_before
        worker_cpu = cpu_seconds([p.pid for p in processes if p.pid is not None])
        worker_cpu -= worker_cpu_before
    finally:
        for process in processes:
            process.join(30)
            if process.is_alive():
                process.kill()
    received = sum(r["received"] for r in results)
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r["errors"])
    latencies = [ns / 1e6 for r in results for ns in r.get("latencies_ns", [])]
    join_latencies = [s * 1e3 for j in joined for s in j["join_latencies"]]
    summary: dict[str, Any] = {
        "clients": clients,
        "room_size": room_size,
        "servers": len(servers.urls),
        "client_processes": workers,
        "connect_seconds": round(max(j["connect_seconds"] for j in joined), 3),
        "join_all_seconds": round(max(j["join_seconds"] for j in joined), 3),
        "join_ms_p50": round(percentile(join_latencies, 50), 2),
        "join_ms_p99": round(percentile(join_latencies, 99), 2),
        "sent": sum(r["sent"] for r in results),
        "received": received,
        "lost": sum(r["lost"] for r in results),
        "out_of_order": sum(r["out_of_order"] for r in results),
        "errors": dict(errors),
        "server_cpu_us_per_message": round(1e6 * server_cpu / max(received, 1), 1),
        "server_cpu_share": round(server_cpu / elapsed, 2),
        "client_cpu_share": round(worker_cpu / elapsed, 2),
    }
    if mode == "saturate":
        window = sum(r["window_received"] for r in results)
        summary["throughput_msgs_per_s"] = round(window / plan["duration"])
    if latencies:
        summary |= {
            "latency_ms_p50": round(percentile(latencies, 50), 3),
            "latency_ms_p99": round(percentile(latencies, 99), 3),
            "latency_ms_max": round(max(latencies), 3),
            "latency_ms_mean": round(statistics.fmean(latencies), 3),
            "latency_samples": len(latencies),
        }
    return summary


def _next_event(events: Any, expected: str) -> Any:
    kind, payload = events.get(timeout=300)
    if kind == "error":
        raise RuntimeError(f"load generator failed:\n{payload}")
    assert kind == expected, (kind, expected)
    return payload


# -- scenarios: each gets fresh servers ------------------------------------------------


def scenario_join(servers: Servers, args: argparse.Namespace) -> dict[str, Any]:
    """N sockets in rooms of 4 join at once, then each sends a burst to every roommate;
    server RSS is read before and with all N joined and idle."""
    run_load(servers, 16, 4, "burst", per_pair=2)  # warm the server's code paths first
    time.sleep(1.0)
    memory: dict[str, int] = {"before": rss_bytes(servers.pids)}

    def measure() -> None:
        time.sleep(1.5)
        memory["joined"] = rss_bytes(servers.pids)

    result = run_load(
        servers, args.join_clients, 4, "burst", args.workers, measure, per_pair=args.per_pair
    )
    per_connection = (memory["joined"] - memory["before"]) / args.join_clients
    result["rss_mb_before"] = round(memory["before"] / 2**20, 1)
    result["rss_kb_per_connection"] = round(per_connection / 1024, 1)
    return result


def scenario_throughput(servers: Servers, args: argparse.Namespace) -> dict[str, Any]:
    """Saturated targeted relay: every client keeps ``window`` signals in flight."""
    return run_load(
        servers,
        args.throughput_clients,
        4,
        "saturate",
        args.workers,
        window=args.window,
        warmup=1.0,
        duration=args.duration,
    )


def scenario_latency(servers: Servers, args: argparse.Namespace) -> dict[str, Any]:
    """Relay latency at a steady rate, well under capacity."""
    return run_load(
        servers,
        args.latency_clients,
        8,
        "paced",
        args.workers,
        rate=args.rate / args.workers,
        duration=args.latency_duration,
    )


SCENARIOS = {"join": scenario_join, "throughput": scenario_throughput, "latency": scenario_latency}
LAUNCHERS = {"standalone": start_standalone, "jupyter": start_jupyter}


def verdict(results: dict[str, Any]) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    for kind, by_scenario in results.items():
        targets = REDIS_TARGETS if kind.endswith("-redis") else TARGETS
        if "join" in by_scenario:
            join = by_scenario["join"]
            checks[f"{kind}.lost_at_1000_sockets"] = join["lost"] == 0 and not join["errors"]
            checks[f"{kind}.rss_kb_per_connection"] = (
                join["rss_kb_per_connection"] <= targets["rss_kb_per_connection_max"]
            )
        if "throughput" in by_scenario:
            rate = by_scenario["throughput"]["throughput_msgs_per_s"]
            checks[f"{kind}.throughput"] = rate >= targets["throughput_msgs_per_s_min"]
        if "latency" in by_scenario:
            p99 = by_scenario["latency"]["latency_ms_p99"]
            checks[f"{kind}.latency_p99"] = p99 <= targets["latency_p99_ms_max"]
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", choices=["standalone", "jupyter", "both"], default="both")
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument(
        "--backend",
        choices=["memory", "redis", "both"],
        default="memory",
        help="both: memory (one server) beside redis (--servers, at least 2) in one report",
    )
    parser.add_argument("--redis-url", default="", help="default: start a throwaway redis")
    parser.add_argument("--servers", type=int, default=1, help="server processes (redis only)")
    parser.add_argument("--workers", type=int, default=1, help="client processes")
    parser.add_argument("--join-clients", type=int, default=1000)
    parser.add_argument("--per-pair", type=int, default=5, help="burst signals per pair")
    parser.add_argument("--throughput-clients", type=int, default=100)
    parser.add_argument("--window", type=int, default=16, help="signals in flight per client")
    parser.add_argument("--duration", type=float, default=5.0, help="throughput seconds")
    parser.add_argument("--latency-clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=400.0, help="paced signals per second")
    parser.add_argument("--latency-duration", type=float, default=10.0)
    parser.add_argument(
        "--renice", type=int, default=0, help="niceness for servers and clients (root: -10)"
    )
    parser.add_argument("--output", help="also write the JSON here")
    args = parser.parse_args(argv)
    global NICE
    NICE = args.renice
    if args.servers > 1 and args.backend == "memory":
        parser.error("--servers > 1 needs --backend redis: memory rooms live in one process")
    backends = ["memory", "redis"] if args.backend == "both" else [args.backend]

    redis = None
    if "redis" in backends and not args.redis_url:
        redis = RedisServer()
        redis.start()
        args.redis_url = redis.url
        assert redis.proc is not None
        prioritize([redis.proc.pid])
    kinds = ["standalone", "jupyter"] if args.server == "both" else [args.server]
    scenarios = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": vars(args),
        "targets": {"memory": TARGETS, "redis": REDIS_TARGETS},
        "results": {},
    }
    try:
        for kind, backend in [(k, b) for k in kinds for b in backends]:
            # Results of the redis backend are keyed "<server>-redis" and judged by its targets.
            key = kind if backend == "memory" else f"{kind}-redis"
            count = 1 if backend == "memory" else max(args.servers, 2 if len(backends) > 1 else 1)
            report["results"][key] = {}
            for name in scenarios:
                servers = LAUNCHERS[kind](count, backend, args.redis_url)
                prioritize(servers.pids)
                try:
                    report["results"][key][name] = SCENARIOS[name](servers, args)
                finally:
                    servers.stop()
                print(f"{key} {name}: done", file=sys.stderr, flush=True)
    finally:
        if redis is not None:
            redis.close()
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["meets_targets"] = verdict(report["results"])
    text = json.dumps(report, indent=2)
    print(text)
    if args.output:
        with open(args.output, "w") as out:
            out.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
