"""The route of a link (js/stats.js), from getStats() entries as Chromium reports them:
the selected pair's two candidate types, its protocol, and how a relayed end reaches the
TURN server; and the words the quality badge says it in."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.node import module_url, needs_node, run_module

pytestmark = needs_node


def route_of(local: dict[str, Any] | None, remote: dict[str, Any] | None) -> Any:
    """The route fields of reduceStats over a report with one selected pair between
    candidates ``local`` and ``remote`` (None: that entry is missing), and their words."""
    entries: list[dict[str, Any]] = [
        {"id": "t", "type": "transport", "timestamp": 1, "selectedCandidatePairId": "p"},
        # A pair that is not the selected one must not count.
        {"id": "q", "type": "candidate-pair", "timestamp": 1, "localCandidateId": "x"},
        {"id": "x", "type": "local-candidate", "candidateType": "host", "protocol": "tcp"},
        {"id": "p", "type": "candidate-pair", "timestamp": 1, "nominated": True,
         "state": "succeeded", "localCandidateId": "l", "remoteCandidateId": "r"},
    ]  # fmt: skip
    if local is not None:
        entries.append({"id": "l", "type": "local-candidate", **local})
    if remote is not None:
        entries.append({"id": "r", "type": "remote-candidate", **remote})
    return run_module(
        f"""
        import {{ reduceStats, describeRoute }} from {json.dumps(module_url("stats.js"))};
        const report = new Map({json.dumps([[e["id"], e] for e in entries])});
        const {{ record }} = reduceStats(report, null, null, "connected");
        const keys = ["route", "route_local", "route_remote", "route_protocol", "relay_protocol"];
        const fields = Object.fromEntries(keys.map((key) => [key, record[key]]));
        console.log(JSON.stringify({{ ...fields, words: describeRoute(record) }}));
        """
    )


@pytest.mark.parametrize(
    ("local", "remote", "expected"),
    [
        (
            {"candidateType": "host", "protocol": "udp"},
            {"candidateType": "host", "protocol": "udp"},
            ("host", "host", "host", "udp", None, "direct over UDP"),
        ),
        (
            {"candidateType": "host", "protocol": "udp"},
            {"candidateType": "prflx", "protocol": "udp"},
            ("prflx", "host", "prflx", "udp", None, "direct through a NAT over UDP"),
        ),
        (
            {"candidateType": "srflx", "protocol": "tcp"},
            {"candidateType": "prflx", "protocol": "tcp"},
            ("srflx", "srflx", "prflx", "tcp", None, "direct through a NAT over TCP"),
        ),
        (
            {"candidateType": "relay", "protocol": "udp", "relayProtocol": "tcp"},
            {"candidateType": "host", "protocol": "udp"},
            (
                "relay",
                "relay",
                "host",
                "udp",
                "tcp",
                "relayed through the TURN server (reached over TCP)",
            ),
        ),
        (
            {"candidateType": "host", "protocol": "udp"},
            {"candidateType": "relay", "protocol": "udp"},
            ("relay", "host", "relay", "udp", None, "relayed through the TURN server"),
        ),
        (None, None, (None, None, None, None, None, "")),
    ],
)
def test_the_route_is_the_selected_pairs(
    local: dict[str, Any] | None, remote: dict[str, Any] | None, expected: tuple[Any, ...]
) -> None:
    result = route_of(local, remote)
    keys = ("route", "route_local", "route_remote", "route_protocol", "relay_protocol", "words")
    assert tuple(result[key] for key in keys) == expected, result
