"""Benchmark joining a call: from widget render to the first remote frame and to a full mesh.

Real JupyterLab, real Chromium with fake devices, one Lab page and kernel per participant
(the test support package in tests/support). Participants join one after another,
each into a settled room; for each newcomer:

- ``first_frame_s``: its widget's render to the first video frame it decodes from anyone;
- ``joined_mesh_s``: its render to the moment every link with it decodes video both ways,

and for the room: ``full_mesh_after_last_join_s`` (the last newcomer's ``joined_mesh_s``)
and the camera fps of every link once the mesh has run for a few seconds. With
``--together`` a second round starts all pages at once and times the mesh from the last
render. Times are wall-clock stamps taken inside the pages (a MutationObserver for the
render, the video receivers' getStats() polled every 50 ms for frames). Prints JSON to stdout.

    python benchmarks/join.py                    # 2, 3 and 4 participants
    python benchmarks/join.py --peers 2 --repeat 5
    python benchmarks/join.py --six --together   # also 6 participants; all-at-once rounds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support import probes
from support.lab import JupyterLab, running_lab
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import wait_for_full_mesh
from support.pages import Participant, launch_chromium

TARGETS = {
    "first_frame_median_s_max_2_peers": 1.0,
    "full_mesh_after_last_join_s_max_4_peers": 3.0,
}
NAMES = ["ada", "bob", "cy", "dee", "eve", "fay"]
FPS_WINDOW_S = 3.0
Runner = Callable[[Browser, JupyterLab, int, str], dict[str, Any]]
SETTLE_S = 2.0


def times(person: Participant) -> dict[str, Any]:
    result: dict[str, Any] = person.js("() => window.__nbcTimes")
    return result


def link_ready_ms(receiver: Participant, sender: Participant) -> float:
    """When ``receiver`` decoded its first frame from ``sender`` (epoch ms)."""
    return float(times(receiver)["firstFrame"][sender.peer_id])


def newcomer_figures(newcomer: Participant, others: list[Participant]) -> dict[str, Any]:
    """The newcomer's join, in seconds after its render; the steps show where time goes."""
    stamps = times(newcomer)
    rendered = float(stamps["rendered"])
    incoming = [link_ready_ms(newcomer, other) for other in others]
    outgoing = [link_ready_ms(other, newcomer) for other in others]

    def after(ms: float) -> float:
        return round((ms - rendered) / 1000, 3)

    return {
        "first_frame_s": after(min(incoming)),
        "joined_mesh_s": after(max(incoming + outgoing)),
        "steps": {
            "welcome_s": after(float(stamps["joined"])),
            "all_peers_known_s": after(max(float(stamps["peerSeen"][o.peer_id]) for o in others)),
            # A link may decode its first frame before connectionState catches up.
            "all_connected_s": after(
                max(
                    float(stamps["connected"].get(o.peer_id, stamps["firstFrame"][o.peer_id]))
                    for o in others
                )
            ),
        },
    }


def link_fps(people: list[Participant]) -> dict[str, float]:
    """Camera frames decoded per second on every link, over FPS_WINDOW_S."""

    def sample() -> dict[tuple[str, str], tuple[float, int]]:
        frames = {}
        for receiver in people:
            got = probes.media(receiver)
            stamp = time.monotonic()
            for sender in people:
                if sender is not receiver:
                    frames[sender.name, receiver.name] = (stamp, got[sender.peer_id].camera_frames)
        return frames

    before = sample()
    time.sleep(FPS_WINDOW_S)
    after = sample()
    return {
        f"{sender}->{receiver}": round((a[1] - b[1]) / (a[0] - b[0]), 1)
        for (sender, receiver), a in after.items()
        for b in [before[sender, receiver]]
    }


def fps_summary(fps: dict[str, float]) -> dict[str, float]:
    values = list(fps.values())
    return {"min": min(values), "median": round(statistics.median(values), 1), "max": max(values)}


def run_sequential(browser: Browser, lab: JupyterLab, count: int, label: str) -> dict[str, Any]:
    meeting = Meeting(browser, lab, label)
    try:
        room = meeting.room()
        people: list[Participant] = []
        joins = []
        for name in NAMES[:count]:
            (person,) = meeting.open(
                [(name, widget_cells(room, name))], init_script=probes.TIMING_MONITOR_JS
            )
            wait_for_join(person)
            people.append(person)
            wait_for_full_mesh(people, timeout=60)
            if len(people) > 1:
                joins.append({"participant": name, **newcomer_figures(person, people[:-1])})
        time.sleep(SETTLE_S)
        fps = link_fps(people)
        return {
            "peers": count,
            "mode": "sequential",
            "joins": joins,
            "full_mesh_after_last_join_s": joins[-1]["joined_mesh_s"],
            "fps": fps_summary(fps),
            "link_fps": fps,
        }
    finally:
        meeting.close()


def run_together(browser: Browser, lab: JupyterLab, count: int, label: str) -> dict[str, Any]:
    meeting = Meeting(browser, lab, label)
    try:
        room = meeting.room()
        notebooks = [(name, widget_cells(room, name)) for name in NAMES[:count]]
        people = meeting.open(notebooks, init_script=probes.TIMING_MONITOR_JS)
        for person in people:
            wait_for_join(person)
        wait_for_full_mesh(people, timeout=90)
        stamps = {p.name: times(p) for p in people}
        last_render = max(float(s["rendered"]) for s in stamps.values())
        mesh_done = max(float(t) for s in stamps.values() for t in s["firstFrame"].values())
        time.sleep(SETTLE_S)
        fps = link_fps(people)
        return {
            "peers": count,
            "mode": "together",
            "render_spread_s": round(
                (last_render - min(float(s["rendered"]) for s in stamps.values())) / 1000, 3
            ),
            "full_mesh_after_last_render_s": round((mesh_done - last_render) / 1000, 3),
            "fps": fps_summary(fps),
            "link_fps": fps,
        }
    finally:
        meeting.close()


def attempt(run: Runner, browser: Browser, lab: JupyterLab, count: int, label: str) -> Any:
    """One round; a round that fails (a page too slow to load) is recorded, not fatal."""
    try:
        result = run(browser, lab, count, label)
    except Exception as exc:
        result = {"peers": count, "mode": run.__name__.removeprefix("run_"), "error": str(exc)}
    print(json.dumps(result), file=sys.stderr)
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    good = [r for r in runs if "error" not in r]
    for count in sorted({r["peers"] for r in good}):
        sequential = [r for r in good if r["peers"] == count and r["mode"] == "sequential"]
        if not sequential:
            continue
        firsts = [j["first_frame_s"] for r in sequential for j in r["joins"]]
        meshes = [r["full_mesh_after_last_join_s"] for r in sequential]
        summary[str(count)] = {
            "first_frame_s_median": statistics.median(firsts),
            "first_frame_s_max": max(firsts),
            "full_mesh_after_last_join_s_median": statistics.median(meshes),
            "fps_min": min(r["fps"]["min"] for r in sequential),
            "fps_median": round(statistics.median(r["fps"]["median"] for r in sequential), 1),
        }
    met = {}
    if "2" in summary:
        met["first_frame_median_2_peers"] = (
            summary["2"]["first_frame_s_median"] <= TARGETS["first_frame_median_s_max_2_peers"]
        )
    if "4" in summary:
        met["full_mesh_4_peers"] = (
            summary["4"]["full_mesh_after_last_join_s_median"]
            <= TARGETS["full_mesh_after_last_join_s_max_4_peers"]
        )
    failed = len(runs) - len(good)
    return {"by_peers": summary, "targets": TARGETS, "targets_met": met, "failed_rounds": failed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument(
        "--six", action="store_true", help="also 6 participants (saturates 2 cores)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds per size (default 3)")
    parser.add_argument("--together", action="store_true", help="also all-at-once rounds")
    parser.add_argument("--output", help="also write the JSON here")
    args = parser.parse_args()
    sizes = sorted(set(args.peers) | ({6} if args.six else set()))
    if not all(2 <= n <= len(NAMES) for n in sizes):
        parser.error(f"participants must be between 2 and {len(NAMES)}")

    started = time.monotonic()
    runs: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_lab(Path(tmp)) as lab,
        sync_playwright() as pw,
    ):
        browser = launch_chromium(pw)
        try:
            for count in sizes:
                for index in range(args.repeat):
                    label = f"bench-{count}-{index}"
                    runs.append(attempt(run_sequential, browser, lab, count, label))
                    if args.together:
                        runs.append(attempt(run_together, browser, lab, count, f"{label}-all"))
        finally:
            browser.close()
    result = {
        "benchmark": "join",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average": os.getloadavg(),
        },
        "seconds": round(time.monotonic() - started, 1),
        **summarize(runs),
        "runs": runs,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
