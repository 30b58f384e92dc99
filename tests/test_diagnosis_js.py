"""The pure part of a browser's connection check (js/diagnosis.js), run in Node: which
TURN URLs are tried, each link's route and quality taken from the last stats sample, the
advice for each thing that fails, and the report's fields. The checks themselves, in
Chromium against a real coturn, are tests/browser/test_browser_diagnose.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nbconference import protocol
from nbconference.diagnostics import diagnosis_record
from support.node import module_url, needs_node, run_module

pytestmark = needs_node

TURN_URL = "turn:turn.example.org:3478?transport=udp"
# Everything fine: a secure page, devices allowed and present, signaling and TURN answer.
FINE: dict[str, Any] = {
    "secure_context": True,
    "permissions": {"camera": "granted", "microphone": "granted"},
    "devices": {
        "in_use": [{"kind": "camera", "label": "USB camera"}],
        "counts": {"camera": 1, "microphone": 2, "speaker": 1},
    },
    "signaling": {"rtt_ms": 3.2},
    "turn": [
        {
            "url": TURN_URL,
            "ok": True,
            "protocol": "udp",
            "relay_protocol": "udp",
            "ms": 41,
            "error_code": None,
            "error": "",
        },
    ],
    "links": [],
}


def call(function: str, *args: Any) -> Any:
    """``function(...args)`` of js/diagnosis.js, its result as JSON."""
    arguments = ", ".join(json.dumps(arg) for arg in args)
    return run_module(
        f"""
        import * as d from {json.dumps(module_url("diagnosis.js"))};
        console.log(JSON.stringify(d.{function}({arguments})));
        """
    )


def test_each_turn_url_is_tried_alone_with_its_credentials_and_stun_is_not() -> None:
    servers = [
        {"urls": "stun:stun.example.org:3478"},
        {
            "urls": [TURN_URL, "turns:turn.example.org:5349?transport=tcp", "stun:x:1"],
            "username": "1700000000:ada",
            "credential": "c2VjcmV0",
        },
    ]
    assert call("turnTargets", servers) == [
        {"url": TURN_URL, "username": "1700000000:ada", "credential": "c2VjcmV0"},
        {
            "url": "turns:turn.example.org:5349?transport=tcp",
            "username": "1700000000:ada",
            "credential": "c2VjcmV0",
        },
    ]


def test_nothing_failing_gives_no_advice() -> None:
    assert call("adviceFor", FINE) == []


def test_a_page_not_in_the_call_is_not_told_the_signaling_server_is_down() -> None:
    not_measured = run_module(
        f"""
        import {{ SIGNALING_NOT_MEASURED }} from {json.dumps(module_url("diagnosis.js"))};
        console.log(JSON.stringify(SIGNALING_NOT_MEASURED));
        """
    )
    assert call("adviceFor", {**FINE, "signaling": {"error": not_measured}}) == []


def failing(**changes: Any) -> dict[str, Any]:
    return {**FINE, **changes}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"secure_context": False},
            "This page is not a secure context, so the browser gives it no camera or "
            "microphone: open Jupyter over https, or at localhost.",
        ),
        (
            {"permissions": {"camera": "denied", "microphone": "prompt"}},
            "The camera is blocked for this site: allow it in the browser (the camera icon "
            "in the address bar, or the site's settings), then reload the page.",
        ),
        (
            {"devices": {"in_use": [], "counts": {"camera": 0, "microphone": 1, "speaker": 0}}},
            "No camera was found: plug one in, or close the program that holds it.",
        ),
        (
            {"signaling": {"error": "no answer within 5 s"}},
            "The signaling server cannot be reached (no answer within 5 s): nobody can join "
            "the call from here until it can.",
        ),
        (
            {
                "turn": [
                    {
                        **FINE["turn"][0],
                        "ok": False,
                        "protocol": None,
                        "ms": None,
                        "error_code": 401,
                        "error": "Unauthorized",
                    }
                ]
            },
            f"The TURN server {TURN_URL} refused our credentials (401): its "
            "static-auth-secret and c.NBConference.turn_secret differ.",
        ),
        (
            {
                "turn": [
                    {
                        **FINE["turn"][0],
                        "ok": False,
                        "protocol": None,
                        "ms": None,
                        "error_code": None,
                        "error": "no relay within 5 s",
                    }
                ]
            },
            f"The TURN server {TURN_URL} cannot be reached (no relay within 5 s): check "
            "that it runs and that this network lets its port through.",
        ),
        (
            {"links": [{"id": "p2", "name": "Bob", "connection": "failed", "problem": ""}]},
            "There is no network path to Bob: its link failed.",
        ),
        (
            {
                "links": [
                    {
                        "id": "p2",
                        "name": "Bob",
                        "connection": "checking",
                        "problem": "Cannot connect to Bob: there is no network path.",
                    }
                ]
            },
            "Cannot connect to Bob: there is no network path.",
        ),
    ],
)
def test_each_failure_gets_its_sentence(changes: dict[str, Any], expected: str) -> None:
    assert call("adviceFor", failing(**changes)) == [expected]


def test_a_link_is_read_from_the_last_stats_sample_and_the_roster() -> None:
    stats = {
        "p2": {"route": "relay", "route_protocol": "udp", "relay_protocol": "udp",
               "local_address_type": "private", "remote_address_type": "public",
               "rtt_ms": 12.5, "fps_in": 24, "loss_pct": 0.5, "quality": "good",
               "connection": "connected", "bitrate_in_kbps": 900},
    }  # fmt: skip
    peers = [
        {"id": "p2", "name": "Bob", "connection": "connected", "problem": ""},
        {"id": "p3", "name": "Cy", "connection": "checking", "problem": ""},
    ]
    assert call("linkChecks", stats, peers) == [
        {"id": "p2", "name": "Bob", "connection": "connected", "route": "relay",
         "route_protocol": "udp", "relay_protocol": "udp", "local_address_type": "private",
         "remote_address_type": "public", "rtt_ms": 12.5, "fps_in": 24, "loss_pct": 0.5,
         "quality": "good", "problem": ""},
        {"id": "p3", "name": "Cy", "connection": "checking", "route": None,
         "route_protocol": None, "relay_protocol": None, "local_address_type": None,
         "remote_address_type": None, "rtt_ms": None, "fps_in": None, "loss_pct": None,
         "quality": None, "problem": ""},
    ]  # fmt: skip


def test_the_report_has_the_agreed_fields_and_the_kernel_keeps_every_value() -> None:
    found = failing(
        signaling={"error": "not connected to the signaling server"},
        links=call("linkChecks", {}, [{"id": "p2", "name": "Bob", "connection": "failed"}]),
    )
    report = call("diagnosisReport", found, 1_700_000_000_123)
    assert tuple(report) == protocol.DIAGNOSIS_FIELDS
    assert report["finished_at"] == 1_700_000_000.123
    assert len(report["advice"]) == 2
    # What the kernel makes of it (diagnostics.py) loses nothing a browser said.
    record = diagnosis_record(report, "id-a", "Ada")
    assert record == {"id": "id-a", "name": "Ada", **report}


def test_the_panel_lines_say_what_failed() -> None:
    report = call(
        "diagnosisReport",
        failing(
            turn=[{**FINE["turn"][0], "ok": False, "error_code": 401, "error": "Unauthorized"}]
        ),
        0,
    )
    lines = {line["label"]: line for line in call("summaryLines", report)}
    assert lines[f"TURN {TURN_URL}"] == {
        "label": f"TURN {TURN_URL}",
        "text": "401 Unauthorized",
        "ok": False,
    }
    assert lines["Signaling"] == {"label": "Signaling", "text": "round trip 3.2 ms", "ok": True}
