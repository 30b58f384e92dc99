"""What each link may send, the pure rules run in Node straight from js/budget.js: the
room-size budget, the receiver's request rounded to a scale step, our screen share, the
active speaker, and the CPU step-down (frame rate first on cameras, resolution on
screens; down quickly, up slowly)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.node import module_url, needs_node, run_module

pytestmark = needs_node


def run_js(body: str) -> Any:
    """Run an ES module body that may use ``budget``; returns its ``result`` as JSON."""
    imports = f"import * as budget from {json.dumps(module_url('budget.js'))};\n"
    return run_module(f"{imports}{body}\nconsole.log(JSON.stringify(result));")


def camera(**inputs: Any) -> dict[str, Any]:
    given = {
        "peers": 1,
        "sourceHeight": 360,
        "shown": None,
        "cpuLevel": 0,
        "sharing": False,
        "speaking": False,
        **inputs,
    }
    plan: dict[str, Any] = run_js(f"const result = budget.cameraPlan({json.dumps(given)});")
    return plan


def test_the_room_budget_falls_as_the_room_grows_and_rises_as_it_shrinks() -> None:
    heights = run_js("const result = [2, 3, 4, 5, 6, 7, 8, 6, 4].map((n) => budget.roomHeight(n));")
    assert heights == [360, 360, 360, 270, 270, 180, 180, 270, 360]
    # Each link of a room of n has n - 1 peers.
    assert [camera(peers=n - 1)["height"] for n in (4, 5, 7)] == [360, 270, 180]
    assert camera(peers=5)["limit"] == "room" and camera(peers=1)["limit"] is None
    assert camera(peers=5)["scaleResolutionDownBy"] == pytest.approx(360 / 270, abs=1e-3)


def test_a_link_sends_what_its_receiver_shows() -> None:
    # Nothing shown: nothing encoded for that link.
    paused = camera(shown=0, peers=3)
    assert paused["active"] is False and paused["height"] == 0
    assert paused["limit"] == "receiver"
    # A tile 186 px high in a room of 6: 360 / 1.5 = 240 is the smallest step >= 186, and
    # under the room's 270.
    tile = camera(shown=186, peers=5)
    assert (tile["height"], tile["scaleResolutionDownBy"], tile["limit"]) == (240, 1.5, "receiver")
    # A tile larger than the room allows: the room decides.
    assert (camera(shown=315, peers=5)["height"], camera(shown=315, peers=5)["limit"]) == (
        270,
        "room",
    )
    # A thumbnail gets a thumbnail, and the bitrate of one.
    thumb = camera(shown=40, peers=1)
    assert thumb["height"] == 45 and thumb["maxBitrate"] < camera(peers=1)["maxBitrate"]


def test_screen_share_and_speaker_change_the_camera_budget() -> None:
    sharing = camera(peers=2, sharing=True)
    assert (sharing["height"], sharing["limit"]) == (180, "screen")
    # The active speaker gets the next larger row: 270 in a room of 8, 360 in one of 6.
    assert camera(peers=7, speaking=True)["height"] == 270
    assert camera(peers=5, speaking=True)["height"] == 360
    assert camera(peers=5, speaking=True, shown=100)["height"] == 120


def test_cpu_steps_take_frame_rate_first_on_cameras_and_resolution_on_screens() -> None:
    levels = [camera(cpuLevel=level) for level in range(6)]
    assert [p["maxFramerate"] for p in levels] == [None, 20, 15, 10, 10, 10]
    assert [p["height"] for p in levels] == [360, 360, 360, 360, 240, 180]
    assert [p["limit"] for p in levels] == [None, "cpu", "cpu", "cpu", "cpu", "cpu"]
    screens = run_js(
        "const result = [0, 1, 2, 9].map((cpuLevel) => "
        "budget.screenPlan({ shown: null, cpuLevel, sourceHeight: 720 }));"
    )
    assert {s["maxFramerate"] for s in screens} == {15}
    assert {s["degradationPreference"] for s in screens} == {"maintain-resolution"}
    assert [s["height"] for s in screens] == [720, 480, 360, 360]
    hidden = run_js(
        "const result = budget.screenPlan({ shown: 0, cpuLevel: 0, sourceHeight: 720 });"
    )
    assert hidden["active"] is False and hidden["limit"] == "receiver"


def test_bitrate_per_link_follows_the_room_and_the_picture() -> None:
    rates = run_js(
        "const result = [[1], [2], [3], [7], [10], [3, 270], [7, 180], [1, 90]]"
        ".map((args) => budget.videoBitrateFor(...args));"
    )
    assert rates == [1_200_000, 1_200_000, 800_000, 342_857, 250_000, 450_000, 250_000, 80_000]


def test_the_governor_steps_down_fast_and_up_slowly() -> None:
    # One sample a second: cpu for 5 s, calm for 11 s, cpu for 3 s, calm for 25 s.
    trace = run_js(
        """
        const g = new budget.CpuGovernor(budget.CAMERA_CPU_STEPS.length);
        const result = [];
        let t = 0;
        const run = (cpu, seconds) => {
          const levels = [];
          for (let i = 0; i < seconds; i++, t += 1000) {
            g.sample(cpu, t);
            levels.push(g.level);
          }
          result.push(levels);
        };
        run(true, 5);
        run(false, 11);
        run(true, 3);
        run(false, 25);
        """
    )
    busy, calm, busy_again, calm_again = trace
    assert busy == [0, 0, 1, 1, 2], "a step down after 2 s of cpu, then every 2 s"
    assert calm == [2] * 10 + [1], "a step up only after 10 s without cpu"
    assert busy_again == [1, 1, 2]
    # cpu came back right after a step up: the next step up waits twice as long.
    assert calm_again == [2] * 20 + [1] * 5


def test_the_reason_a_link_is_limited_prefers_what_was_measured() -> None:
    cases = [
        ["room", "bandwidth"],
        ["room", "cpu"],
        [None, "cpu"],
        [None, "none"],
        ["receiver", None],
    ]
    reasons = run_js(f"const result = {json.dumps(cases)}.map(([p, m]) => budget.sendLimit(p, m));")
    assert reasons == ["bandwidth", "room", "cpu", None, "receiver"]
