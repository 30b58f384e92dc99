"""Call statistics and indicators in real JupyterLab pages: the kernel gets a record per
remote peer (``w.stats``, ``w.stats_frame()``, ``w.plot_stats()``), each remote tile shows
the link's quality grade, and the speaker ring follows whoever makes a sound (Chromium's
fake microphone beeps)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until
from support.timeouts import TIMEOUT

GRADES = {"good", "fair", "poor"}
# speaker.js: a speaker keeps the ring at least this long (ms); timers only add to it.
SPEAKER_HOLD_MS = 1000
# How long the rings are watched for the rules above.
WATCH_SECONDS = 4.0

# Every remote camera tile: its peer, grade, the badge's text and what the page's own
# stats record says of that link (the badge must come from the same record).
QUALITY_JS = """
() => {
  const conference = [...globalThis.__nbconference.conferences.values()]
    .find((c) => c.status === "joined");
  return Array.from(document.querySelectorAll(".nbc-tile.nbc-remote")).map((tile) => ({
    peerId: tile.dataset.peerId,
    quality: tile.dataset.quality ?? null,
    badge: tile.querySelector(".nbc-quality")?.getAttribute("aria-label") ?? null,
    recorded: conference?.stats[tile.dataset.peerId]?.quality ?? null,
  }));
}
"""

# Records, from now on, every change of which tiles carry the speaker ring:
# [ms, [peer ids]] entries in window.__nbcSpeaking.
RECORD_SPEAKING_JS = """
() => {
  const speaking = () => Array.from(document.querySelectorAll(".nbc-tile.nbc-speaking"))
    .map((tile) => tile.dataset.peerId);
  const log = [[performance.now(), speaking()]];
  let last = JSON.stringify(log[0][1]);
  new MutationObserver(() => {
    const now = speaking();
    if (JSON.stringify(now) === last) return;
    last = JSON.stringify(now);
    log.push([performance.now(), now]);
  }).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["class"],
  });
  window.__nbcSpeaking = log;
}
"""


def remote_records(person: Participant, others: list[Participant]) -> dict[str, Any] | None:
    """``w.stats`` once it has a record of flowing media for each of ``others``."""
    stats: dict[str, Any] = person.value("w.stats")
    for other in others:
        record = stats.get(other.peer_id) or {}
        flowing = (record.get("bitrate_in_kbps") or 0) > 0 and (record.get("fps_in") or 0) > 0
        if not flowing or record.get("quality") not in GRADES:
            return None
    return stats


def graded_tiles(person: Participant, others: list[Participant]) -> list[dict[str, Any]] | None:
    tiles: list[dict[str, Any]] = person.js(QUALITY_JS)
    if sorted(t["peerId"] for t in tiles) != sorted(o.peer_id for o in others):
        return None
    return tiles if all(t["quality"] in GRADES for t in tiles) else None


def speaking_log(person: Participant) -> list[tuple[float, list[str]]]:
    return [(at, ids) for at, ids in person.js("() => window.__nbcSpeaking")]


def episodes(log: list[tuple[float, list[str]]]) -> list[tuple[str, float]]:
    """(peer id, ms it kept the ring) for every ring seen from start to end.

    The log's first entry is what was on when recording began, not a change: skipped.
    """
    ended: list[tuple[str, float]] = []
    for (start, ids), (end, _) in itertools.pairwise(log[1:]):
        ended.extend((peer, end - start) for peer in ids)
    return ended


def test_kernel_gets_stats_and_tiles_show_quality_and_speaker(meeting: Meeting) -> None:
    room = meeting.room()
    people = meeting.open(
        [
            ("ada", widget_cells(room, "ada")),
            ("bob", widget_cells(room, "bob")),
            ("cy", widget_cells(room, "cy", microphone=False)),
        ]
    )
    for person in people:
        wait_for_join(person)
    ada, bob, cy = people
    wait_for_full_mesh(people)
    ada.js(RECORD_SPEAKING_JS)
    others = [bob, cy]

    # The kernel: a live record per remote peer, the history as a table and a plot.
    stats = wait_until(lambda: remote_records(ada, others), TIMEOUT, "ada's w.stats")
    assert set(stats) == {bob.peer_id, cy.peer_id}
    for record in stats.values():
        assert record["connection"] == "connected"
        assert record["frame_width"] > 0 and record["frame_height"] > 0
        assert record["rtt_ms"] is not None and record["loss_pct"] is not None
        # Pages on one machine, with no TURN server: a direct route on both ends.
        assert record["route"] == record["route_local"] == record["route_remote"] == "host"
        assert record["route_protocol"] == "udp" and record["relay_protocol"] is None
    summary = ada.value(
        "w.stats_frame().groupby('peer_id')"
        "[['bitrate_in_kbps', 'bitrate_out_kbps', 'fps_in']].max().to_dict('index')"
    )
    assert set(summary) >= {bob.peer_id, cy.peer_id}, summary
    for other in others:
        assert all(value > 0 for value in summary[other.peer_id].values()), summary
    names = ada.value("sorted(set(w.stats_frame()['name'].dropna()))")
    assert set(names) >= {other.identity()["display_name"] for other in others}
    ada.run("import matplotlib.pyplot as plt\n_figure = w.plot_stats()")
    kind, lines = ada.value("[type(_figure).__name__, [len(a.get_lines()) for a in _figure.axes]]")
    ada.run("plt.close(_figure)")
    assert kind == "Figure"
    assert lines == [2, 2, 2, 2], "one panel per default metric, one line per remote peer"

    # The tiles: a grade on every remote tile, the one of the page's own stats record.
    tiles = wait_until(lambda: graded_tiles(ada, others), TIMEOUT, "graded tiles on ada's page")
    for tile in tiles:
        assert tile["quality"] == tile["recorded"], tile
        assert tile["badge"].startswith(f"Connection {tile['quality']}"), tile
        assert tile["badge"].endswith("; direct over UDP"), tile

    # The speaker ring: the beeping microphones get it, muted cy never does; one ring at
    # a time, and each kept long enough not to flicker.
    wait_until(lambda: any(ids for _, ids in speaking_log(ada)), TIMEOUT, "a speaker ring")
    time.sleep(WATCH_SECONDS)
    log = speaking_log(ada)
    assert all(len(ids) <= 1 for _, ids in log), log
    ringed = {peer for _, ids in log for peer in ids}
    assert ringed and ringed <= {ada.peer_id, bob.peer_id}, (ringed, cy.peer_id)
    short = [(peer, ms) for peer, ms in episodes(log) if ms < SPEAKER_HOLD_MS - 50]
    assert not short, f"rings shorter than the hold: {short} in {log}"

    # Only cy sounds now: the ring moves to cy, on every page.
    ada.run("w.microphone = False")
    bob.run("w.microphone = False")
    cy.run("w.microphone = True")
    for viewer in (ada, bob):
        viewer.page.locator(f'.nbc-tile.nbc-speaking[data-peer-id="{cy.peer_id}"]').wait_for(
            timeout=TIMEOUT * 1000
        )
    time.sleep(1.5 * SPEAKER_HOLD_MS / 1000)
    silent = f'.nbc-tile.nbc-speaking:not([data-peer-id="{cy.peer_id}"])'
    assert ada.page.locator(silent).count() == 0
    assert bob.page.locator(silent).count() == 0
