"""The tiles' pure rules, run in Node straight from js/: the quality grade of a link
(js/quality.js), how the meters report grades (js/meters.js), who keeps the speaker ring
(js/speaker.js) and what an unreachable peer's tile says (js/mesh.js)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.node import module_url, needs_node, run_module

pytestmark = needs_node


def run_js(body: str) -> Any:
    """Run an ES module body that may use ``quality``, ``meters``, ``speaker`` and ``mesh``;
    returns its ``result`` as JSON."""
    imports = "".join(
        f"import * as {name} from {json.dumps(module_url(name + '.js'))};\n"
        for name in ("quality", "meters", "speaker", "mesh")
    )
    return run_module(f"{imports}{body}\nconsole.log(JSON.stringify(result));")


def grade(judge_video: bool = True, **record: Any) -> Any:
    inputs = {"rtt_ms": None, "loss_pct": None, "fps_in": None, "connection": "connected"}
    inputs.update(record)
    return run_js(
        f"const result = quality.assessLink({json.dumps(inputs)}, {json.dumps(judge_video)});"
    )


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"rtt_ms": 20, "loss_pct": 0, "fps_in": 30}, "good"),
        ({"rtt_ms": 299, "loss_pct": 1.9, "fps_in": 15}, "good"),
        ({"rtt_ms": 300, "loss_pct": 0, "fps_in": 30}, "fair"),
        ({"rtt_ms": 20, "loss_pct": 2, "fps_in": 30}, "fair"),
        ({"rtt_ms": 20, "loss_pct": 0, "fps_in": 14}, "fair"),
        ({"rtt_ms": 600, "loss_pct": 0, "fps_in": 30}, "poor"),
        ({"rtt_ms": 20, "loss_pct": 10, "fps_in": 30}, "poor"),
        ({"rtt_ms": 20, "loss_pct": 0, "fps_in": 7}, "poor"),
        ({"rtt_ms": 20, "connection": "disconnected"}, "poor"),
        ({"connection": "failed"}, "poor"),
    ],
)
def test_the_worst_measure_decides_the_grade(record: dict[str, Any], expected: str) -> None:
    assert grade(**record)["quality"] == expected


def test_grade_says_why_and_ignores_what_is_not_measured() -> None:
    assert grade(rtt_ms=700, loss_pct=3, fps_in=10) == {
        "quality": "poor",
        "reasons": ["slow round trip"],
    }
    assert grade(rtt_ms=20, loss_pct=0, fps_in=30)["reasons"] == []
    # Nothing to judge yet, or not connected yet: no grade at all.
    assert grade() is None
    assert grade(rtt_ms=5, connection="connecting") is None
    # A camera that is off (or still ramping up) does not count against the link.
    assert grade(judge_video=False, rtt_ms=20, loss_pct=0, fps_in=1)["quality"] == "good"


def test_meters_report_every_sample_and_each_change_of_grade() -> None:
    # One fake link whose round trip turns slow from the third sample on: four stats
    # samples, but only two grades (good, then poor), and no speaker without any audio.
    result = run_js(
        """
        let samples = 0;
        const report = () => {
          samples += 1;
          const rtt = samples <= 2 ? 0.02 : 0.7;
          return new Map([
            ["t", { id: "t", type: "transport", timestamp: samples, selectedCandidatePairId: "p" }],
            ["p", { id: "p", type: "candidate-pair", timestamp: samples,
                    currentRoundTripTime: rtt, localCandidateId: "l", remoteCandidateId: "r" }],
          ]);
        };
        const link = {
          id: "a", closed: false, state: { camera: true }, audio: null, video: null,
          pc: { connectionState: "connected", getStats: async () => report() },
        };
        const seen = { stats: [], grades: [], speakers: [] };
        await new Promise((done) => {
          const stop = meters.startMeters(
            {
              links: () => new Map([["a", link]]),
              intervalSeconds: () => 0.1,
              selfId: () => "me",
              microphoneOn: () => false,
            },
            {
              onStats: (stats) => {
                seen.stats.push(stats.a.quality);
                if (seen.stats.length === 4) {
                  stop();
                  done();
                }
              },
              onGrades: (grades) => seen.grades.push(grades.get("a").quality),
              onSpeaker: (id) => seen.speakers.push(id),
            },
          );
        });
        const result = seen;
        """
    )
    assert result == {
        "stats": ["good", "good", "poor", "poor"],
        "grades": ["good", "poor"],
        "speakers": [],
    }


def test_speaker_ring_goes_to_the_loudest_and_is_held() -> None:
    # (ms, levels) samples; each line of the result is the speaker after that sample.
    samples = [
        (0, {"a": 0.005, "b": 0.002}),  # all under the threshold: nobody
        (250, {"a": 0.3, "b": 0.1}),  # a is loudest
        (500, {"a": 0.0, "b": 0.2}),  # b louder, but a holds the ring
        (1000, {"a": 0.0, "b": 0.2}),  # still held
        (1250, {"a": 0.0, "b": 0.2}),  # a's hold is over: b
        (1500, {"a": 0.5, "b": 0.0}),  # a louder, but b holds
        (2000, {"a": 0.0, "b": 0.0}),  # silence: b still held
        (2250, {"a": 0.0, "b": 0.0}),  # b's hold over, nobody speaks: nobody
    ]
    result = run_js(
        f"""
        let current = null;
        const result = [];
        for (const [now, levels] of {json.dumps(samples)}) {{
          current = speaker.nextSpeaker(current, new Map(Object.entries(levels)), now);
          result.push(current?.id ?? null);
        }}
        result.push(speaker.SPEAKING_LEVEL, speaker.SPEAKER_HOLD_MS);
        """
    )
    *speakers, level, hold = result
    assert (level, hold) == (0.01, 1000)
    assert speakers == [None, "a", "a", "a", "b", "b", "b", None]


@pytest.mark.parametrize(
    ("ice_servers", "expected"),
    [
        ([], "there is no network path between you"),
        ([{"urls": "stun:stun.example.org"}], "there is no network path between you"),
        (
            [{"urls": ["stun:t.example.org", "turns:t.example.org"], "username": "u"}],
            "even through the TURN server",
        ),
        ([{"urls": "turn:t.example.org", "username": "u"}], "even through the TURN server"),
    ],
)
def test_an_unreachable_peer_is_explained_by_what_is_configured(
    ice_servers: list[dict[str, Any]], expected: str
) -> None:
    text = run_js(f"const result = mesh.noPathMessage('Ada', {json.dumps(ice_servers)});")
    assert text.startswith("Cannot connect to Ada") and expected in text, text
    assert ("c.NBConference.turn_urls" in text) == (not expected.startswith("even")), text
