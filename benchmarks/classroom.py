"""Benchmark a class on the SFU: one teacher in Chromium, 10, 20 and 40 KernelPeer students.

A real JupyterLab whose rooms are on its own Janus from the first participant
(``sfu = "janus"``, ``mesh_max_peers = 0``), the teacher's Lab page in real Chromium with
fake camera and microphone, and the students as KernelPeers in one Python process (the
test support's ``KernelPeers``), each sending a 160 x 120 picture at ``STUDENT_FPS``.
``--watching`` of them read the teacher's camera, as a class watching its teacher does;
the others only send. For each class size, once the class has settled, over one window
of ``WINDOW_S``:

- ``teacher``: the teacher's CPU (its page's renderer plus Chromium's shared processes,
  CPU seconds per second), its uplink (every outbound RTP stream of its SFU publisher)
  and each simulcast layer's bitrate and height, and the students' cameras its grid
  decodes (one page of 8, js/paging.js) with their fps;
- ``students``: each one's join time (``KernelPeer.join`` until it returned, one after
  another into the growing class), the process' CPU and memory, and the teacher's
  frames per second at each watching student;
- ``janus``: Janus' CPU and resident memory;
- ``mesh``: what a mesh would have cost the teacher. A mesh room holds at most 8
  (``max_peers_per_room`` without an SFU), and each link carries its own encoding of the
  camera, so the teacher would upload at least one lowest-layer stream per student:
  ``teacher_uplink_kbps_at_least`` is the class size times the measured bitrate of the
  lowest layer sent.

Prints JSON to stdout.

    python benchmarks/classroom.py                  # 10, 20 and 40 students
    python benchmarks/classroom.py --students 20 --watching 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from join import (
    chromium,
    cpu_seconds,
    emit,
    jupyter,
    machine,
    page_renderers,
    rss_bytes,
    spent,
)
from support import probes
from support.kernel_peers import KernelPeers
from support.lab import running_lab
from support.meeting import Meeting, wait_for_join, widget_cells
from support.pages import launch_chromium
from support.polling import wait_until

# Every student here is the Lab's one user (a class has a user each): lift the per-user cap
# on sockets (32) above the largest class.
LAB_ARGS = [
    "--NBConference.sfu=janus",
    "--NBConference.mesh_max_peers=0",
    "--NBConference.max_sockets_per_user=64",
]
STUDENT_SIZE = (160, 120)
STUDENT_FPS = 10.0
WINDOW_S = 5.0
SETTLE_S = 3.0
VIEWPORT = (1280, 1600)
# The remote cameras one page of the grid shows (js/paging.js).
PAGE_SIZE = 8
# Every outbound stream of the teacher's SFU publisher: bytes, and per camera layer its
# bytes and height (rid names the simulcast layer).
PUBLISHER_JS = """
async () => {
  const conference = [...(globalThis.__nbconference?.conferences?.values() ?? [])]
    .find((c) => c.status === "joined");
  const pc = conference?.sfu?.publisher?.pc;
  if (!pc) return null;
  let bytes = 0;
  const layers = {};
  (await pc.getStats()).forEach((s) => {
    if (s.type !== "outbound-rtp") return;
    bytes += s.bytesSent || 0;
    if (s.kind === "video" && s.rid) {
      layers[s.rid] = {
        bytes: s.bytesSent || 0, height: s.frameHeight || 0,
        limitation: s.qualityLimitationReason ?? null,
      };
    }
  });
  return { bytes, layers };
}
"""


def kbps(bytes_before: int, bytes_after: int, seconds: float) -> float:
    return round((bytes_after - bytes_before) * 8 / 1000 / seconds, 1)


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "min": round(ordered[0], 3),
        "median": round(statistics.median(ordered), 3),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3),
        "max": round(ordered[-1], 3),
    }


def received(kernels: KernelPeers, name: str, teacher_id: str) -> int:
    return int(kernels.stats(name)["received"].get(teacher_id, 0))


def run_class(meeting: Meeting, students: int, watching: int) -> dict[str, Any]:
    room = meeting.room()
    known = page_renderers()
    (teacher,) = meeting.open(
        [("teacher", widget_cells(room, "teacher"))], init_script=probes.COUNT_CONNECTIONS_JS
    )
    wait_for_join(teacher)
    renderer = page_renderers() - known
    kernels = KernelPeers(meeting.lab.signaling_url, meeting.lab.token, room)
    try:
        joins: list[float] = []
        names = [f"student{i:02}" for i in range(students)]
        for index, name in enumerate(names):
            started = time.monotonic()
            kernels.join(name, size=STUDENT_SIZE, fps=STUDENT_FPS, colour=(40, index * 5, 90))
            joins.append(time.monotonic() - started)
        watchers = names[:watching]
        for name in watchers:
            kernels.read(name, teacher.peer_id)
        ids = set(kernels.ids.values())
        on_page = min(PAGE_SIZE, students)

        def decoding() -> int:
            return sum(1 for p, m in probes.media(teacher).items() if p in ids and m.camera_frames)

        wait_until(lambda: decoding() >= on_page, 60, f"the teacher to decode {on_page} students")
        time.sleep(SETTLE_S)

        lab_processes = jupyter(meeting.lab)
        processes = chromium() + lab_processes
        student_process = psutil.Process(kernels.process.pid)
        janus = [p for p in lab_processes if p.name() == "janus"]
        cpu_before = cpu_seconds([*processes, student_process])
        media_before, up_before = probes.media(teacher), teacher.js(PUBLISHER_JS)
        frames_before = {n: received(kernels, n, teacher.peer_id) for n in watchers}
        started = time.monotonic()
        time.sleep(WINDOW_S)
        elapsed = time.monotonic() - started
        media_after, up_after = probes.media(teacher), teacher.js(PUBLISHER_JS)
        frames_after = {n: received(kernels, n, teacher.peer_id) for n in watchers}
        cpu_after = cpu_seconds([*processes, student_process])

        chromium_pids = {p.pid for p in chromium()}
        decoded = {
            peer: round((m.camera_frames - media_before[peer].camera_frames) / elapsed, 1)
            for peer, m in media_after.items()
            if peer in ids
            and peer in media_before
            and m.camera_frames > media_before[peer].camera_frames
        }
        layers = {
            rid: {
                "kbps": kbps(
                    up_before["layers"].get(rid, {}).get("bytes", 0), layer["bytes"], elapsed
                ),
                "height": layer["height"],
                "limited_by": layer["limitation"],
            }
            for rid, layer in up_after["layers"].items()
        }
        sent = [layer for layer in layers.values() if layer["height"] and layer["kbps"]]
        lowest = min(sent, key=lambda layer: layer["height"])["kbps"] if sent else 0.0
        return {
            "students": students,
            "watching": watching,
            "teacher": {
                "cpu": round(spent(cpu_before, cpu_after, chromium_pids) / elapsed, 3),
                "renderer_cpu": round(spent(cpu_before, cpu_after, renderer) / elapsed, 3),
                "uplink_kbps": kbps(up_before["bytes"], up_after["bytes"], elapsed),
                "layers": layers,
                "cameras_decoded": len(decoded),
                "decoded_fps": spread(list(decoded.values())),
                "connections": probes.connected_connections(teacher),
            },
            "students_figures": {
                "join_s": spread(joins),
                "process_cpu": round(
                    spent(cpu_before, cpu_after, {student_process.pid}) / elapsed, 3
                ),
                "process_rss_mb": round(rss_bytes(student_process) / 2**20, 1),
                "teacher_fps_at_watchers": spread(
                    [(frames_after[n] - frames_before[n]) / elapsed for n in watchers]
                ),
            },
            "janus": {
                "cpu": round(spent(cpu_before, cpu_after, {p.pid for p in janus}) / elapsed, 3),
                "rss_mb": round(sum(rss_bytes(p) for p in janus) / 2**20, 1),
            },
            "mesh": {
                "allowed": students + 1 <= 8,
                "teacher_uplink_kbps_at_least": round(students * lowest, 1),
            },
            "load_average": os.getloadavg(),
        }
    finally:
        kernels.close()
        meeting.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, nargs="+", default=[10, 20, 40])
    parser.add_argument(
        "--watching", type=int, default=1, help="students that read the teacher (default 1)"
    )
    parser.add_argument("--output", help="also write the JSON here")
    args = parser.parse_args()
    if not all(1 <= n <= 48 for n in args.students) or args.watching < 0:
        parser.error("students must be 1-48 (a room holds 50 on the SFU)")

    started, load_at_start = time.monotonic(), os.getloadavg()
    classes = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_lab(Path(tmp), LAB_ARGS) as lab,
        sync_playwright() as pw,
    ):
        browser = launch_chromium(pw)
        try:
            for students in sorted(set(args.students)):
                meeting = Meeting(browser, lab, f"classroom-{students}", viewport=VIEWPORT)
                figures = run_class(meeting, students, min(args.watching, students))
                print(json.dumps(figures), file=sys.stderr)
                classes.append(figures)
        finally:
            browser.close()
    result = {
        "benchmark": "classroom",
        "machine": machine(load_at_start),
        "student": {"size": list(STUDENT_SIZE), "fps": STUDENT_FPS},
        "seconds": round(time.monotonic() - started, 1),
        "classes": classes,
    }
    return emit(result, args.output)


if __name__ == "__main__":
    sys.exit(main())
