"""Benchmark joining a call: from widget render to the first remote frame and to a full mesh.

Real JupyterLab, real Chromium with fake devices, one Lab page and kernel per participant
(the test support package in tests/support). Participants join one after another,
each into a settled room; for each newcomer:

- ``first_frame_s``: its widget's render to the first video frame it decodes from anyone;
- ``joined_mesh_s``: its render to the moment every link with it decodes video both ways,

and for the room: ``full_mesh_after_last_join_s`` (the last newcomer's ``joined_mesh_s``)
and, once the mesh has run for a few seconds, over one window of ``WINDOW_S``:

- ``fps``: the camera frames each page decodes per second, on every link;
- ``cpu``: CPU seconds per second. Each page has its own renderer process (found as the
  renderers that appear when the page opens); Chromium's browser, GPU and utility
  processes (network, audio) serve every page, so ``per_participant`` is all of
  Chromium's CPU divided by the participants, and ``renderer`` and ``shared`` show the
  two parts. JupyterLab's server and the kernels are counted apart (``jupyter``);
- ``sent_kbps``: what each participant sends (every outbound RTP stream of every link);
  ``sent_height``: the camera's encoded height on each link, and ``limited_by`` how many
  links' encoders said what held them back (qualityLimitationReason).

With ``--together`` a second round starts all pages at once: every page is opened and its
kernel idle first, then each page runs all its cells at one agreed wall-clock instant
(JupyterLab's own ``notebook:run-all-cells`` command, scheduled inside every page, so no
page waits for the harness to click the others). It times the mesh from that instant
(``full_mesh_after_start_s``), from the last render and from the last kernel's run of the
cell, and prints every page's timeline: when each step of its join happened, in seconds
after its kernel ran the cell (js/timeline.js; ``w.timeline`` in the kernel): ``cell``,
``rendered``, ``target`` (signaling known), ``media`` (camera and microphone up),
``welcome``, ``offer`` (first sent or received), ``ice`` (first link connected),
``frame`` (first remote frame decoded), and ``mesh``, when that page decoded video from
every other. ``--together-only`` skips the one-after-another rounds. ``--trace`` adds, for the
all-at-once rounds, what lies below the timeline (benchmarks/join_trace.py): start to the
widget's code and to its render, the Web Lock, ``getUserMedia``, each link's steps, and
the messages each page exchanged with its kernel until its full mesh.

``--media sfu`` runs the same rounds with every room on the SFU from its first
participant (a Lab with ``sfu = "janus"`` and ``mesh_max_peers = 0``; the Lab's own Janus,
whose CPU and memory are reported apart as ``janus``); ``--media mesh sfu`` runs both, one
Lab after the other, and reports each plane apart (``by_media``). "Full mesh" then means
that every page decodes every other's camera, whichever plane carries it, and
``sent_kbps`` is each participant's whole uplink (every link of a mesh, the one publisher
connection of the SFU). Times are
wall-clock stamps taken inside the pages (a MutationObserver for the render, the video
receivers' getStats() polled every 50 ms for frames). Pages are ``VIEWPORT`` tall, so
that every tile is in view. Prints JSON to stdout.

    python benchmarks/join.py                    # 2, 4, 6 and 8 participants, once each
    python benchmarks/join.py --peers 2 --repeat 5
    python benchmarks/join.py --peers 4 --together   # also all-at-once rounds
    python benchmarks/join.py --peers 3 --together-only --repeat 3
    python benchmarks/join.py --peers 2 4 6 --media mesh sfu
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from playwright.sync_api import Browser, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import join_trace
from support import probes
from support.lab import JupyterLab, running_lab
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import wait_for_full_mesh
from support.pages import Participant, launch_chromium
from support.polling import wait_until

TARGETS = {
    "first_frame_median_s_max_2_peers": 1.0,
    "full_mesh_after_last_join_s_max_4_peers": 3.0,
    "full_mesh_after_last_join_s_max_6_peers": 4.0,
    "fps_min_6_peers": 15.0,
    "full_mesh_after_last_join_s_max_8_peers": 8.0,
    "fps_min_8_peers": 10.0,
}
NAMES = ["ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal"]
# fps, CPU and bytes sent are measured over one window.
WINDOW_S = 5.0
# Tall enough that all eight tiles of a room of 8 are in view.
VIEWPORT = (1280, 1600)
Runner = Callable[[Browser, JupyterLab, int, str], dict[str, Any]]
SETTLE_S = 2.0
# Every page runs its cells this long after the harness schedules it: time enough for the
# harness to reach every page first.
START_LEAD_MS = 1500
# --trace: the all-at-once rounds also trace below the timeline (join_trace.py).
TRACE = False
RUN_ALL = "notebook:run-all-cells"
# Schedule Run All at epoch ms ``at`` in this page; JupyterLab's app is on the window
# because the Lab is started with expose_app_in_browser.
SCHEDULE_RUN_ALL_JS = f"""
(at) => {{
  const app = window.jupyterapp;
  setTimeout(() => app.commands.execute("{RUN_ALL}"), Math.max(0, at - Date.now()));
}}
"""
# Each Lab's settings by media plane: an SFU room from its first participant on.
MEDIA_ARGS = {
    "mesh": [],
    "sfu": ["--NBConference.sfu=janus", "--NBConference.mesh_max_peers=0"],
}
# Bytes the page's joined conference has sent on all its connections: each mesh link, and
# the SFU publisher (an SFU feed's record is the shared subscriber connection: not ours);
# and what the publisher encodes of the camera, each simulcast layer (the mesh links'
# heights and limits come from probes.media, per link).
UPLINK_JS = """
async () => {
  let total = 0;
  const layers = [];
  for (const conference of globalThis.__nbconference?.conferences?.values() ?? []) {
    if (conference.status !== "joined") continue;
    const connections = new Set();
    for (const link of conference.peers.values()) {
      if (link.via !== "sfu" && link.pc) connections.add(link.pc);
    }
    if (conference.sfu?.publisher?.pc) connections.add(conference.sfu.publisher.pc);
    for (const pc of connections) {
      const publisher = pc === conference.sfu?.publisher?.pc;
      (await pc.getStats()).forEach((s) => {
        if (s.type !== "outbound-rtp") return;
        total += s.bytesSent || 0;
        if (publisher && s.kind === "video" && s.frameHeight) {
          layers.push({ height: s.frameHeight, limitation: s.qualityLimitationReason ?? null });
        }
      });
    }
  }
  return { bytes: total, layers };
}
"""
RUN_ALL_READY_JS = (
    "() => !!window.jupyterapp && !!window.jupyterapp.shell.currentWidget"
    f' && window.jupyterapp.commands.isEnabled("{RUN_ALL}")'
)
PHASES = ("cell", "rendered", "target", "media", "welcome", "offer", "ice", "frame")
# Each widget's timeline on the page (epoch ms by phase), from what its views show.
TIMELINES_JS = """
() => [...(globalThis.__nbconference?.conferences?.values() ?? [])]
  .map((c) => (typeof c.snapshot === "function" ? c.snapshot().timeline : null) ?? null)
  .filter(Boolean)
"""


def times(person: Participant) -> dict[str, Any]:
    result: dict[str, Any] = person.js("() => window.__nbcTimes")
    return result


def timeline(person: Participant) -> dict[str, float]:
    """The page's join, step by step: epoch ms by phase ({} before js/timeline.js)."""
    found: list[dict[str, float]] = person.js(TIMELINES_JS)
    return found[0] if found else {}


def steps(stamps: dict[str, float], mesh_ms: float) -> dict[str, float | None]:
    """Seconds after the cell ran (after the render where the page has no timeline)
    of each phase, and of ``mesh``: video decoded from every other page."""
    base = stamps.get("cell", stamps.get("rendered"))
    if base is None:
        return {"mesh": None}
    at = {**stamps, "mesh": mesh_ms}
    return {
        phase: round((at[phase] - base) / 1000, 3) if phase in at else None
        for phase in (*PHASES, "mesh")
    }


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
        "timeline": steps(timeline(newcomer), max(incoming)),
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


def chromium() -> list[psutil.Process]:
    """This benchmark's Chromium processes (they descend from this process, through
    Playwright's driver; other Chromiums on the machine are not ours)."""
    return [p for p in psutil.Process().children(recursive=True) if _name(p) == "chromium"]


def page_renderers() -> set[int]:
    """Renderer processes of web pages (not Chromium's own UI)."""
    found = set()
    for process in chromium():
        try:
            args = process.cmdline()
        except psutil.Error:
            continue
        if "--type=renderer" in args and "--top-chrome-webui" not in args:
            found.add(process.pid)
    return found


def jupyter(lab: JupyterLab) -> list[psutil.Process]:
    """JupyterLab's server and its children: kernels, and the Janus it supervises."""
    try:
        server = psutil.Process(lab.process.pid)
        return [server, *server.children(recursive=True)]
    except psutil.Error:
        return []


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.Error:
        return ""


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


def rss_bytes(process: psutil.Process) -> int:
    try:
        return int(process.memory_info().rss)
    except psutil.Error:
        return 0


def spent(before: dict[int, float], after: dict[int, float], pids: set[int]) -> float:
    """CPU seconds the processes ``pids`` used between two samples (ones that started in
    between count from zero)."""
    return sum(after[p] - before.get(p, 0.0) for p in pids if p in after)


def spread(values: list[float], digits: int = 1) -> dict[str, float]:
    return {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
    }


def window(
    people: list[Participant], lab: JupyterLab, renderers: dict[str, set[int]]
) -> dict[str, Any]:
    """fps of every link, CPU and bytes sent, over one window of WINDOW_S."""

    def sample() -> list[tuple[float, dict[str, probes.PeerMedia], dict[str, Any]]]:
        return [(time.monotonic(), probes.media(person), person.js(UPLINK_JS)) for person in people]

    processes = chromium() + jupyter(lab)
    cpu_before, started = cpu_seconds(processes), time.monotonic()
    before = sample()
    time.sleep(WINDOW_S)
    after = sample()
    cpu_after, elapsed = cpu_seconds(processes), time.monotonic() - started

    fps, sent, heights, limited_by = {}, {}, [], Counter[str]()
    for person, (at_before, got_before, up_before), (at_after, got_after, up_after) in zip(
        people, before, after, strict=True
    ):
        seconds = at_after - at_before
        for sender in people:
            if sender is not person:
                frames = got_after[sender.peer_id].camera_frames
                frames -= got_before[sender.peer_id].camera_frames
                fps[f"{sender.name}->{person.name}"] = round(frames / seconds, 1)
        for media in got_after.values():
            if media.camera_sent is not None:
                heights.append(media.camera_sent.height)
                limited_by[str(media.camera_sent.limitation)] += 1
        for layer in up_after["layers"]:
            heights.append(layer["height"])
            limited_by[str(layer["limitation"])] += 1
        bytes_sent = up_after["bytes"] - up_before["bytes"]
        sent[person.name] = round(bytes_sent * 8 / 1000 / seconds, 1)

    count = len(people)
    chromium_pids = {p.pid for p in processes if _name(p) == "chromium"}
    janus = [p for p in processes if _name(p) == "janus"]
    janus_pids = {p.pid for p in janus}
    jupyter_pids = {p.pid for p in processes} - chromium_pids - janus_pids
    per_page = {
        name: round(spent(cpu_before, cpu_after, pids) / elapsed, 3)
        for name, pids in renderers.items()
    }
    owned = set().union(*renderers.values())
    total = spent(cpu_before, cpu_after, chromium_pids) / elapsed
    return {
        "fps": spread(list(fps.values())),
        "link_fps": fps,
        "cpu": {
            "per_participant": round(total / count, 3),
            "renderer": spread(list(per_page.values()), 3),
            "renderer_by_page": per_page,
            "shared": round(spent(cpu_before, cpu_after, chromium_pids - owned) / elapsed, 3),
            "jupyter_per_participant": round(
                spent(cpu_before, cpu_after, jupyter_pids) / elapsed / count, 3
            ),
        },
        "janus": {
            "cpu": round(spent(cpu_before, cpu_after, janus_pids) / elapsed, 3),
            "rss_mb": round(sum(rss_bytes(p) for p in janus) / 2**20, 1),
        }
        if janus
        else None,
        "sent_kbps": spread(list(sent.values())),
        "sent_kbps_by_participant": sent,
        "sent_height": spread([float(h) for h in heights], 0) if heights else None,
        "limited_by": dict(limited_by),
    }


def run_sequential(browser: Browser, lab: JupyterLab, count: int, label: str) -> dict[str, Any]:
    meeting = Meeting(browser, lab, label, viewport=VIEWPORT)
    try:
        room = meeting.room()
        people: list[Participant] = []
        renderers: dict[str, set[int]] = {}
        joins: list[dict[str, Any]] = []
        for name in NAMES[:count]:
            try:
                known = page_renderers()
                (person,) = meeting.open(
                    [(name, widget_cells(room, name))], init_script=probes.TIMING_MONITOR_JS
                )
                wait_for_join(person)
                renderers[name] = page_renderers() - known
                people.append(person)
                wait_for_full_mesh(people, timeout=60)
            except Exception as exc:
                # How far the room got is a figure too: who joined, and who could not.
                exc.add_note(json.dumps({"joined": joins, "failed": name}))
                raise
            if len(people) > 1:
                joins.append({"participant": name, **newcomer_figures(person, people[:-1])})
        time.sleep(SETTLE_S)
        return {
            "peers": count,
            "mode": "sequential",
            "joins": joins,
            "full_mesh_after_last_join_s": joins[-1]["joined_mesh_s"],
            **window(people, lab, renderers),
        }
    finally:
        meeting.close()


def run_together(browser: Browser, lab: JupyterLab, count: int, label: str) -> dict[str, Any]:
    meeting = Meeting(browser, lab, label, viewport=VIEWPORT)
    try:
        room = meeting.room()
        notebooks = [(name, widget_cells(room, name)) for name in NAMES[:count]]
        known = page_renderers()
        script = probes.TIMING_MONITOR_JS + (join_trace.TRACE_JS if TRACE else "")
        people = meeting.open(notebooks, run_all=False, init_script=script)
        for person in people:
            wait_until(lambda p=person: p.js(RUN_ALL_READY_JS), 60, f"Run All in {person.name}")
        start_ms = time.time() * 1000 + START_LEAD_MS
        for person in people:
            person.js(SCHEDULE_RUN_ALL_JS, start_ms)
        for person in people:
            wait_for_join(person)
        wait_for_full_mesh(people, timeout=90)
        stamps = {p.name: times(p) for p in people}
        last_render = max(float(s["rendered"]) for s in stamps.values())
        mesh_done = max(float(t) for s in stamps.values() for t in s["firstFrame"].values())
        timelines = {p.name: timeline(p) for p in people}
        cells = [t["cell"] for t in timelines.values() if "cell" in t]
        by_page = {
            p.name: steps(timelines[p.name], max(map(float, stamps[p.name]["firstFrame"].values())))
            for p in people
        }
        traced = {
            p.name: join_trace.page_figures(
                p.js("() => window.__nbcTrace"),
                float(stamps[p.name]["rendered"]),
                max(map(float, stamps[p.name]["firstFrame"].values())),
                start_ms,
            )
            for p in people
            if TRACE
        }
        for name, page_steps in by_page.items():
            shown = "  ".join(
                f"{k} {'-' if v is None else f'{v:.2f}'}" for k, v in page_steps.items()
            )
            print(f"{count} together, {name}: {shown}", file=sys.stderr)
        time.sleep(SETTLE_S)
        # Pages opened together: their renderers are known only as a group.
        measured = window(people, lab, {"all pages": page_renderers() - known})
        return {
            "peers": count,
            "mode": "together",
            "render_spread_s": round(
                (last_render - min(float(s["rendered"]) for s in stamps.values())) / 1000, 3
            ),
            "full_mesh_after_start_s": round((mesh_done - start_ms) / 1000, 3),
            "full_mesh_after_last_render_s": round((mesh_done - last_render) / 1000, 3),
            "full_mesh_after_last_cell_s": (
                round((mesh_done - max(cells)) / 1000, 3) if len(cells) == count else None
            ),
            "timelines": by_page,
            **({"trace": traced} if traced else {}),
            "load_average": os.getloadavg(),
            **measured,
        }
    finally:
        meeting.close()


def attempt(run: Runner, browser: Browser, lab: JupyterLab, count: int, label: str) -> Any:
    """One round; a round that fails (a page too slow to load) is recorded, not fatal."""
    try:
        result = run(browser, lab, count, label)
    except Exception as exc:
        result = {"peers": count, "mode": run.__name__.removeprefix("run_"), "error": str(exc)}
        for note in getattr(exc, "__notes__", []):
            with contextlib.suppress(ValueError):
                result.update(json.loads(note))
    print(json.dumps(result), file=sys.stderr)
    return result


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    good = [r for r in runs if "error" not in r]
    together: dict[str, Any] = {}
    for count in sorted({r["peers"] for r in good if r["mode"] == "together"}):
        rounds = [r for r in good if r["peers"] == count and r["mode"] == "together"]
        pages = [t for r in rounds for t in r["timelines"].values()]
        together[str(count)] = {
            "full_mesh_after_start_s": [r["full_mesh_after_start_s"] for r in rounds],
            "full_mesh_after_last_render_s": [r["full_mesh_after_last_render_s"] for r in rounds],
            "full_mesh_after_last_cell_s": [r["full_mesh_after_last_cell_s"] for r in rounds],
            "phase_medians_s": {
                phase: statistics.median(found)
                for phase in (*PHASES, "mesh")
                if (found := [t[phase] for t in pages if t.get(phase) is not None])
            },
        }
        traces = [t for r in rounds for t in r.get("trace", {}).values()]
        if traces:
            together[str(count)]["trace_medians"] = join_trace.summary(traces)
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
            "cpu_per_participant": statistics.median(
                r["cpu"]["per_participant"] for r in sequential
            ),
            "renderer_cpu_median": statistics.median(
                r["cpu"]["renderer"]["median"] for r in sequential
            ),
            "shared_cpu": statistics.median(r["cpu"]["shared"] for r in sequential),
            "jupyter_cpu_per_participant": statistics.median(
                r["cpu"]["jupyter_per_participant"] for r in sequential
            ),
            "sent_kbps_median": statistics.median(r["sent_kbps"]["median"] for r in sequential),
        }
    met = {}
    if "2" in summary:
        met["first_frame_median_2_peers"] = (
            summary["2"]["first_frame_s_median"] <= TARGETS["first_frame_median_s_max_2_peers"]
        )
    for count in ("4", "6", "8"):
        if count in summary:
            met[f"full_mesh_{count}_peers"] = (
                summary[count]["full_mesh_after_last_join_s_median"]
                <= TARGETS[f"full_mesh_after_last_join_s_max_{count}_peers"]
            )
        if f"fps_min_{count}_peers" in TARGETS and count in summary:
            met[f"fps_{count}_peers"] = (
                summary[count]["fps_min"] >= TARGETS[f"fps_min_{count}_peers"]
            )
    failed = len(runs) - len(good)
    return {
        "by_peers": summary,
        "together": together,
        "targets": TARGETS,
        "targets_met": met,
        "failed_rounds": failed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", type=int, nargs="+", default=[2, 4, 6, 8])
    parser.add_argument("--repeat", type=int, default=1, help="rounds per size (default 1)")
    parser.add_argument("--together", action="store_true", help="also all-at-once rounds")
    parser.add_argument("--together-only", action="store_true", help="only all-at-once rounds")
    parser.add_argument(
        "--media",
        nargs="+",
        choices=sorted(MEDIA_ARGS),
        default=["mesh"],
        help="the media planes to run, one Lab each (default: mesh)",
    )
    parser.add_argument(
        "--trace", action="store_true", help="all-at-once rounds: trace below the timeline"
    )
    parser.add_argument("--output", help="also write the JSON here")
    args = parser.parse_args()
    global TRACE
    TRACE = args.trace
    sizes = sorted(set(args.peers))
    if not all(2 <= n <= len(NAMES) for n in sizes):
        parser.error(f"participants must be between 2 and {len(NAMES)}")

    started, load_at_start = time.monotonic(), os.getloadavg()
    runs: list[dict[str, Any]] = []
    for media in dict.fromkeys(args.media):
        lab_args = ["--LabApp.expose_app_in_browser=True", *MEDIA_ARGS[media]]
        with (
            tempfile.TemporaryDirectory() as tmp,
            running_lab(Path(tmp), lab_args) as lab,
            sync_playwright() as pw,
        ):
            browser = launch_chromium(pw)
            try:
                for count in sizes:
                    for index in range(args.repeat):
                        label = f"bench-{media}-{count}-{index}"
                        rounds = []
                        if not args.together_only:
                            rounds.append(attempt(run_sequential, browser, lab, count, label))
                        if args.together or args.together_only:
                            rounds.append(
                                attempt(run_together, browser, lab, count, f"{label}-all")
                            )
                        runs.extend({"media": media, **r} for r in rounds)
            finally:
                browser.close()
    by_media = {
        media: summarize([r for r in runs if r["media"] == media])
        for media in dict.fromkeys(args.media)
    }
    result = {
        "benchmark": "join",
        "machine": machine(load_at_start),
        "seconds": round(time.monotonic() - started, 1),
        # One plane: its summary at the top, as before; several: one summary each.
        **(by_media[args.media[0]] if len(by_media) == 1 else {"by_media": by_media}),
        "runs": runs,
    }
    return emit(result, args.output)


def machine(load_at_start: tuple[float, float, float]) -> dict[str, Any]:
    """What the figures were taken on: CPUs, Python, the load at the start and now."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_start": load_at_start,
        "load_average_end": os.getloadavg(),
    }


def emit(result: dict[str, Any], output: str | None) -> int:
    """Print ``result`` as JSON (and write it to ``output`` when given); exit status 0."""
    text = json.dumps(result, indent=2)
    print(text)
    if output:
        Path(output).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
