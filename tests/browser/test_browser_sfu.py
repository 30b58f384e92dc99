"""Rooms past the mesh, in real JupyterLab pages and a real Janus that the extension
starts and supervises: with ``mesh_max_peers = 2`` the third join moves the room to the
SFU, every page then holds one publisher and one subscriber connection and decodes the
other two, and the first two see at most 3 s of frozen video across the move. Chromium
has three fake cameras here, so a camera switched mid-call is seen through the SFU. A gate
on the Lab's PATH can keep Janus from starting again: the pages then say so, and nothing
leaks while they and the supervisor keep trying."""

from __future__ import annotations

import functools
import itertools
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import Browser, Playwright

from support import devices, probes
from support.janus import JANUS, JANUS_GATE, loopback_config, needs_janus
from support.kernel_peers import KernelPeers
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import (
    MEDIA_TIMEOUT,
    frames_advance,
    on_the_sfu,
    wait_for_frames_to_advance,
    wait_for_full_mesh,
    wait_for_the_sfu,
)
from support.pages import Participant, chromium_args, launch_chromium
from support.polling import wait_until
from support.probes import voice_flows
from support.timeouts import TIMEOUT

pytestmark = needs_janus

LAB_ARGS = [
    "--NBConference.sfu=janus",
    "--NBConference.mesh_max_peers=2",
    f"--NBConference.janus_rtp_port_range={loopback_config().rtp_port_range}",
]
# The Lab finds `janus` through a gate that fails to start it while the file that
# NBC_JANUS_GONE names exists (in the Lab's own HOME, see janus_gone_marker).
LAB_ENV = {
    "PATH": f"{JANUS_GATE}{os.pathsep}{os.environ.get('PATH', '')}",
    "NBC_REAL_JANUS": JANUS or "janus",
    "NBC_JANUS_GONE": "janus-gone",
}
# The move may freeze a camera this long at most (the promise).
MAX_FREEZE_S = 3.0
# A tile's new size or its hiding reaches the video it receives within this long.
LAYER_WITHIN_S = 2.0
# A Janus killed mid-call: the call is back within this long (the promise).
JANUS_BACK_S = 10.0


# Switching a camera must reach the others within this, through the SFU as on a mesh.
SWITCH_BUDGET_S = 1.0


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium with three fake cameras (support/devices.py says how they differ)."""
    chromium = launch_chromium(playwright, chromium_args(cameras=3))
    try:
        yield chromium
    finally:
        chromium.close()


def open_people(meeting: Meeting, room: str, names: list[str]) -> list[Participant]:
    notebooks = [(name, widget_cells(room, name)) for name in names]
    people = meeting.open(notebooks, init_script=probes.COUNT_CONNECTIONS_JS)
    for person in people:
        wait_for_join(person)
    return people


def kernel_vias(person: Participant) -> bool:
    """The kernel's ``w.stats`` has a record per peer, each through the SFU."""
    vias = person.value("[r.get('via') for r in w.stats.values()]")
    return bool(vias) and set(vias) == {"sfu"}


def test_the_third_join_moves_the_room_to_the_sfu_where_a_hosts_mute_holds(
    meeting: Meeting,
) -> None:
    room = meeting.room()
    ada, bob = open_people(meeting, room, ["ada", "bob"])
    wait_for_full_mesh([ada, bob])
    assert [probes.plane(p) for p in (ada, bob)] == ["mesh", "mesh"]
    assert [probes.connected_connections(p) for p in (ada, bob)] == [1, 1]
    for person in (ada, bob):
        probes.start_freeze_monitor(person)

    (cy,) = open_people(meeting, room, ["cy"])
    people = [ada, bob, cy]
    wait_for_the_sfu(people)
    for person in people:
        for other in [p for p in people if p is not person]:
            wait_for_frames_to_advance(person, other.peer_id)
        # The kernel hears which plane carries each peer.
        wait_until(
            functools.partial(kernel_vias, person),
            10,
            f"{person.name}'s w.stats to say every peer comes through the SFU",
        )

    freezes = {
        (ada.name, bob.name): probes.worst_freeze(ada, bob.peer_id),
        (bob.name, ada.name): probes.worst_freeze(bob, ada.peer_id),
    }
    print(f"longest freeze across the move: {freezes}")
    stories = {p.name: probes.freeze_story(p) for p in (ada, bob)}
    print(f"what the freeze monitors saw (page ms): {stories}")
    assert all(seconds <= MAX_FREEZE_S for seconds in freezes.values()), (freezes, stories)
    # Still exactly one publisher and one subscriber each: no mesh link came back.
    assert [probes.connected_connections(p) for p in people] == [2, 2, 2]

    # A host's mute holds on the SFU (Janus' moderate): Cy's voice stops reaching both
    # others until Cy's own button brings it back. Ada's kernel acts as the server's
    # owner, a host by right.
    others = [ada, bob]
    for other in others:
        wait_until(lambda o=other: voice_flows(o, cy), TIMEOUT, f"Cy's voice at {other.name}'s")
    ada.run(f"await w.mute({cy.peer_id!r}, microphone=True)")
    for other in others:
        wait_until(
            lambda o=other: not voice_flows(o, cy), TIMEOUT, f"Cy's voice to stop at {other.name}'s"
        )
    assert not any(voice_flows(o, cy, over=1.5) for o in others)
    cy.page.locator('.nbc-button[data-action="microphone"]').click()
    for other in others:
        wait_until(
            lambda o=other: voice_flows(o, cy), TIMEOUT, f"Cy's voice back at {other.name}'s"
        )


def receives_the_top_layer(
    receiver: Participant, sender: Participant, samples: list[dict[str, float]]
) -> float:
    """The height of ``sender``'s top camera layer once ``receiver`` decodes it, while the
    sender publishes two layers (the most it sends of a 360 p camera); raises with what it
    saw until then."""
    sent = probes.layers_sent(sender)
    received = samples[-1]["height"] if samples else 0
    if len(sent) >= 2 and received == sent[-1]["height"]:
        return float(received)
    raise AssertionError(f"{receiver.name} receives {received} high; {sender.name} sends {sent}")


def lowered_at(samples: list[dict[str, float]], since: float, below: float) -> float | None:
    """When, after ``since``, the first frame under ``below`` high was decoded."""
    for before, sample in itertools.pairwise(samples):
        fresh = sample["frames"] > before["frames"]
        if sample["at"] >= since and fresh and 0 < sample["height"] < below:
            return sample["at"]
    return None


def stopped_at(samples: list[dict[str, float]], since: float, quiet_ms: float) -> float | None:
    """When, after ``since``, the last new frame was decoded, once none came for
    ``quiet_ms`` (``since`` itself when none came after it)."""
    last = since
    for before, sample in itertools.pairwise(samples):
        if sample["at"] >= since and sample["frames"] > before["frames"]:
            last = sample["at"]
    return last if samples and samples[-1]["at"] - last >= quiet_ms else None


def test_a_tile_picks_its_simulcast_layer_and_a_hidden_tile_gets_no_video(
    meeting: Meeting,
) -> None:
    room = meeting.room()
    ada, bob, cy = open_people(meeting, room, ["ada", "bob", "cy"])
    wait_until(functools.partial(on_the_sfu, ada, [bob, cy]), MEDIA_TIMEOUT, "ada on the SFU")
    probes.start_layer_monitor(ada, bob.peer_id)

    def samples() -> list[dict[str, float]]:
        return probes.layer_samples(ada, bob.peer_id)

    # A large tile: the top layer bob's browser sends (the whole 360 p of the camera on a
    # quiet machine; Chromium sends less while its CPU or bandwidth estimate holds it back,
    # and nothing can forward more than that).
    probes.size_tile(ada, bob.peer_id, 640, 360)
    top = wait_until(
        lambda: receives_the_top_layer(ada, bob, samples()),
        MEDIA_TIMEOUT,
        "ada to receive the top of bob's two camera layers in a large tile",
    )
    # A small tile: a lower layer, within 2 s.
    since = probes.size_tile(ada, bob.peer_id, 96, 54)
    lowered = wait_until(lambda: lowered_at(samples(), since, top), MEDIA_TIMEOUT, "a lower layer")
    # Hidden: no more frames, within 2 s.
    hidden = probes.size_tile(ada, bob.peer_id, hidden=True)
    stopped = wait_until(
        lambda: stopped_at(samples(), hidden, 1500), MEDIA_TIMEOUT, "bob's frames to stop"
    )
    # ... because the SFU no longer sends it: its line carries nothing.
    wait_until(
        lambda: not probes.sfu_carries(ada, bob.peer_id, "camera"),
        LAYER_WITHIN_S,
        "ada's subscriber connection to drop bob's camera",
    )
    figures = {"layer_down_s": (lowered - since) / 1000, "stopped_s": (stopped - hidden) / 1000}
    print(f"simulcast through the SFU: {figures}")
    assert figures["layer_down_s"] <= LAYER_WITHIN_S, figures
    assert figures["stopped_s"] <= LAYER_WITHIN_S, figures
    # Shown again: its video comes back (on a line of its own again).
    probes.size_tile(ada, bob.peer_id, 640, 360)
    wait_for_frames_to_advance(ada, bob.peer_id)


def lab_janus(meeting: Meeting) -> psutil.Process:
    """The Janus that the Lab's extension started and supervises."""
    children = psutil.Process(meeting.lab.process.pid).children(recursive=True)
    found = [p for p in children if p.name() == "janus"]
    assert len(found) == 1, [p.name() for p in children]
    return found[0]


def test_a_janus_killed_mid_call_comes_back_and_so_does_the_call(meeting: Meeting) -> None:
    room = meeting.room()
    people = open_people(meeting, room, ["ada", "bob", "cy"])
    wait_for_the_sfu(people)
    janus = lab_janus(meeting)
    killed_at = time.monotonic()
    janus.send_signal(signal.SIGKILL)
    # The supervisor starts another; the server tells each room its feeds are gone, and
    # every page publishes and subscribes again by itself.
    wait_until(lambda: lab_janus(meeting).pid != janus.pid, 10, "a new Janus")
    for person in people:
        for other in [p for p in people if p is not person]:
            wait_until(
                lambda p=person, o=other: (
                    probes.sfu_carries(p, o.peer_id, "camera") and frames_advance(p, o.peer_id, 0.3)
                ),
                JANUS_BACK_S - (time.monotonic() - killed_at),
                f"{person.name} to decode {other.name} through the new Janus",
                interval=0,
            )
    back = time.monotonic() - killed_at
    print(f"the call came back {back:.1f} s after Janus was killed")
    assert back <= JANUS_BACK_S
    assert [probes.connected_connections(p) for p in people] == [2, 2, 2]


# The SDP session version of the page's SFU publisher connection: a new offer raises it.
PUBLISHER_VERSION_JS = f"""
() => {{
  const pc = {probes.CONFERENCE_JS}.sfu.publisher.pc;
  return Number(/^o=\\S+ \\S+ (\\d+)/m.exec(pc.currentLocalDescription.sdp)?.[1] ?? -1);
}}
"""


def test_a_camera_switched_on_the_sfu_reaches_the_others_without_a_new_offer(
    meeting: Meeting,
) -> None:
    ada, bob, cy = open_people(meeting, meeting.room(), ["ada", "bob", "cy"])
    for person, others in ((bob, [ada, cy]), (ada, [bob, cy])):
        wait_until(
            functools.partial(on_the_sfu, person, others),
            MEDIA_TIMEOUT,
            f"{person.name} on the SFU",
        )
    assert devices.camera_in_use(ada) == devices.DETAILED_CAMERA
    devices.watch_camera(bob, ada.peer_id)
    wait_until(lambda: devices.watched(bob)["detailed"], MEDIA_TIMEOUT, "bob to see ada's camera")
    version = ada.js(PUBLISHER_VERSION_JS)

    devices.watch_camera(bob, ada.peer_id)
    clicked = devices.choose_camera(ada, devices.PLAIN_CAMERA)
    plain_at = wait_until(
        lambda: devices.watched(bob)["plain"], MEDIA_TIMEOUT, "bob to see ada's other camera"
    )
    switch_s = (plain_at - clicked) / 1000
    print(f"camera switch through the SFU: click to the first frame at bob {switch_s:.3f} s")
    assert switch_s < SWITCH_BUDGET_S, switch_s
    assert ada.js(PUBLISHER_VERSION_JS) == version, "the publisher was not renegotiated"
    assert probes.connected_connections(ada) == 2
    wait_for_frames_to_advance(ada, bob.peer_id)


# A class (the issue's): two pages and 20 KernelPeers, one of which watches everyone.
CLASS_STUDENTS = 19
# What the grid shows of a class at once (js/paging.js PAGE_SIZE).
PAGE_SIZE = 8
STUDENT_SIZE = (160, 120)


def cameras_decoding(person: Participant, over: float = 1.5) -> set[str]:
    """The remote peers whose camera ``person``'s page decodes new frames of now."""
    before = {p: m.camera_frames for p, m in probes.media(person).items()}
    time.sleep(over)
    after = probes.media(person)
    return {p for p, m in after.items() if m.camera_frames > before.get(p, 0)}


def cameras_shown(person: Participant) -> set[str]:
    """The remote cameras the grid shows on its current page."""
    return {
        t["peerId"]
        for t in probes.tiles(person)
        if t["peerId"] and not t["local"] and not t["screen"]
    }


def decodes_its_page(person: Participant, seen: dict[str, set[str]] | None = None) -> bool:
    """Every remote camera on the page decodes, and none off it does (``seen`` keeps the
    last of both, for a failure's message)."""
    shown = cameras_shown(person)
    decoding = cameras_decoding(person)
    if seen is not None:
        seen.update(shown=shown, decoding=decoding)
    return bool(shown) and decoding == shown


def test_a_class_of_twenty_kernel_peers_pages_through_the_sfu(meeting: Meeting) -> None:
    """Each page decodes the cameras its grid shows (one page of 8, with a "+N" count of the
    rest), and turning the page moves the video to the next 8; a watching KernelPeer
    decodes all 21 others; the students, who read nothing, decode nothing."""
    room = meeting.room()
    ada, bob = open_people(meeting, room, ["ada", "bob"])
    kernels = KernelPeers(meeting.lab.signaling_url, meeting.lab.token, room)
    try:
        watcher = kernels.join("watcher", size=STUDENT_SIZE, fps=10)
        kernels.on_frame("watcher")
        started = time.monotonic()
        students = [
            kernels.join(f"student{i:02}", size=STUDENT_SIZE, fps=10, colour=(40, 10 * i, 90))
            for i in range(CLASS_STUDENTS)
        ]
        print(f"{CLASS_STUDENTS} students joined in {time.monotonic() - started:.1f} s")
        everyone = {ada.peer_id, bob.peer_id, watcher, *students}

        def watched() -> set[str]:
            return {r["from"] for r in kernels.reported() if r.get("frame") == "watcher"}

        names = {v: k for k, v in kernels.ids.items()} | {bob.peer_id: "bob", ada.peer_id: "ada"}
        try:
            wait_until(lambda: watched() >= everyone - {watcher}, 60, "the watcher to see all 21")
        except AssertionError as failed:
            missing = sorted(names.get(p, p) for p in everyone - {watcher} - watched())
            raise AssertionError(f"{failed}; not seen: {missing}") from None
        print(f"the watcher decoded all 21 {time.monotonic() - started:.1f} s after the first")

        more = f"+{len(everyone) - 1 - PAGE_SIZE}"  # the remote cameras off the page
        for person in (ada, bob):
            wait_until(
                lambda p=person: (
                    p.js("() => document.querySelector('.nbc-more')?.textContent") == more
                ),
                30,
                f"{person.name}'s grid to page the class ({more})",
            )
            wait_until(
                functools.partial(decodes_its_page, person),
                MEDIA_TIMEOUT,
                f"{person.name} to decode the cameras on the page, and no other",
            )
            assert len(cameras_shown(person)) == PAGE_SIZE
            assert probes.connected_connections(person) == 2

        # ada turns the page: the next cameras come, the first page's stop.
        first_page = cameras_shown(ada)
        turned = time.monotonic()
        ada.page.click(".nbc-pager [data-action='page-next']")
        seen: dict[str, set[str]] = {}
        try:
            wait_until(
                lambda: (
                    cameras_shown(ada) not in (first_page, set()) and decodes_its_page(ada, seen)
                ),
                MEDIA_TIMEOUT,
                "ada's second page to decode",
            )
        except AssertionError as failed:
            told = {k: sorted(names.get(p, p) for p in v) for k, v in seen.items()}
            raise AssertionError(f"{failed}; last: {told}") from None
        print(f"the second page decoded {time.monotonic() - turned:.1f} s after the turn")
        assert not cameras_shown(ada) & first_page - {bob.peer_id}  # the speaker may stay

        for name in ("student00", f"student{CLASS_STUDENTS - 1:02}"):
            stats = kernels.stats(name)
            assert stats["media"] == "sfu"
            assert sum(stats["received"].values()) == 0, stats
    finally:
        kernels.close()


# What every page says while the server's Janus is down (js/view.js SFU_AWAY).
SFU_AWAY = "The media server is not reachable"
# Janus gone for good: how the Lab's supervisor says each start that failed.
WILL_NOT_START = "Janus will not start"
# Growth tolerated between the two samples of the Lab process (a thread of asyncio's child
# watcher may be alive at that moment); a leak per failed start grows by one per start,
# and at least two fall between the samples.
LAB_NOISE = 1


def failed_starts(meeting: Meeting) -> int:
    """How many starts of Janus the Lab's supervisor has logged as failed."""
    return meeting.lab.log_path.read_text(errors="replace").count(WILL_NOT_START)


@dataclass(frozen=True)
class Sample:
    """What might leak while Janus is gone."""

    live: list[int]  # each page's connections not closed
    made: list[int]  # each page's connections made so far
    fds: int  # the Lab's open file descriptors
    threads: int  # the Lab's threads
    janus: list[int]  # the Lab's janus children (pids)
    zombies: list[int]  # the Lab's children that died unreaped
    failed_starts: int  # the starts of Janus the Lab has logged as failed


def sample(meeting: Meeting, people: list[Participant]) -> Sample:
    lab = psutil.Process(meeting.lab.process.pid)
    children = lab.children(recursive=True)
    return Sample(
        live=[probes.live_connections(p) for p in people],
        made=[probes.made_connections(p) for p in people],
        fds=lab.num_fds(),
        threads=lab.num_threads(),
        janus=[c.pid for c in children if c.name() == "janus"],
        zombies=[c.pid for c in children if c.status() == psutil.STATUS_ZOMBIE],
        failed_starts=failed_starts(meeting),
    )


def back_and_quiet(person: Participant, others: list[Participant]) -> bool:
    """On the SFU again, decoding the others, with no notice shown (else it says why not)."""
    shown = probes.notices(person)
    if not on_the_sfu(person, others) or shown:
        live = probes.live_connections(person)
        raise AssertionError(f"notices {shown}, {live} live connections")
    return True


def all_say_janus_is_away(people: list[Participant]) -> bool:
    return all(any(SFU_AWAY in n for n in probes.notices(p)) for p in people)


def test_with_janus_gone_for_good_the_pages_say_so_and_nothing_leaks(meeting: Meeting) -> None:
    people = open_people(meeting, meeting.room(), ["ada", "bob", "cy"])
    wait_for_the_sfu(people)
    assert not any(SFU_AWAY in n for p in people for n in probes.notices(p))
    # The gate on the Lab's PATH (LAB_ENV) fails every start of Janus from now on.
    gone = Path(meeting.lab.root_dir.parent / "home" / LAB_ENV["NBC_JANUS_GONE"])
    in_call = sample(meeting, people)
    gone.touch()
    try:
        janus = lab_janus(meeting)
        failed_before = failed_starts(meeting)
        janus.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        wait_until(lambda: all_say_janus_is_away(people), 5, "every page to say so")
        said_s = time.monotonic() - killed_at
        # The supervisor tries again 0.5 s, 1.5 s, 3.5 s, 7.5 s and 15.5 s after the kill
        # (the backoff doubles up to 8 s): sample after the second failed start, and just
        # before the fifth, where the marker goes and the fifth start succeeds.
        wait_until(
            lambda: failed_starts(meeting) >= failed_before + 2, 5, "two failed starts of Janus"
        )
        first = sample(meeting, people)
        fourth_at = wait_until(
            lambda: failed_starts(meeting) >= failed_before + 4 and time.monotonic(),
            10,
            "four failed starts",
        )
        # Meanwhile the message stays, with nothing to click.
        while time.monotonic() < fourth_at + 6.5:
            assert all_say_janus_is_away(people), [probes.notices(p) for p in people]
            time.sleep(0.5)
        second = sample(meeting, people)
        apart_s = time.monotonic() - killed_at
        shown = [probes.notices(p) for p in people]
        print(
            f"with Janus gone: said in {said_s:.1f} s; from {first} to {second} at {apart_s:.1f} s"
        )
        print(f"what the pages show: {shown[0]}")
    finally:
        gone.unlink(missing_ok=True)
    assert all(notices == shown[0] and len(notices) == 1 for notices in shown), shown
    # The pages kept trying (a connection made each time) and closed what they gave up.
    made = zip(first.made, second.made, strict=True)
    assert all(after - before >= 3 for before, after in made), (first, second)
    assert all(n <= 2 for n in first.live + second.live), (first, second)
    # And so did the Lab: its starts failed in between, its descriptors and threads did
    # not grow with them, and no janus is left over (one may be failing to start).
    assert second.failed_starts - first.failed_starts >= 2, (first, second)
    assert second.fds - first.fds <= LAB_NOISE, (first, second)
    assert second.threads - first.threads <= LAB_NOISE, (first, second)
    assert len(second.janus) <= 1 and not second.zombies, second
    # The marker gone, the next start succeeds and the call comes back by itself.
    wait_until(lambda: len(sample(meeting, people).janus) == 1, 10, "Janus to start again")
    back_at = time.monotonic()
    for person in people:
        others = [p for p in people if p is not person]
        wait_until(
            functools.partial(back_and_quiet, person, others),
            JANUS_BACK_S,
            f"{person.name} back on the SFU, saying nothing",
        )
    print(f"the call came back {time.monotonic() - back_at:.1f} s after Janus did")
    back = sample(meeting, people)
    print(f"the Lab in the call before and after: {in_call} {back}")
    # One connection to the new Janus, whatever the number of pages that asked at once.
    assert back.fds - in_call.fds <= LAB_NOISE, (in_call, back)
    assert [probes.live_connections(p) for p in people] == [2, 2, 2]
