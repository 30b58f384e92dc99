"""The route of a link (js/stats.js), from getStats() entries as Chromium reports them:
the selected pair's two candidate types, its protocol, how a relayed end reaches the
TURN server and what kind of address each end has (js/addresses.js: never the address);
and the words the quality badge says it in."""

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
        const keys = ["route", "route_local", "route_remote", "route_protocol", "relay_protocol",
                      "local_address_type", "remote_address_type"];
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


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "host"),
        ("::1", "host"),
        ("[::1]", "host"),
        ("localhost", "host"),
        ("0d3f9a2c-6d1e-4c1b-8f0e-2a9a6e5b7c11.local", "mdns"),
        ("0D3F9A2C-6D1E-4C1B-8F0E-2A9A6E5B7C11.LOCAL", "mdns"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.20", "private"),
        ("169.254.10.1", "private"),
        ("100.64.0.1", "private"),
        ("fd00::2", "private"),
        ("fc12:3456::1", "private"),
        ("fe80::fc:ff:fe00:1", "private"),
        ("::ffff:192.168.0.4", "private"),
        ("172.32.0.1", "public"),
        ("100.128.0.1", "public"),
        ("192.0.2.2", "public"),
        ("8.8.8.8", "public"),
        ("2001:db8::1", "public"),
        ("::ffff:8.8.4.4", "public"),
        ("", None),
        (None, None),
        ("999.1.1.1", None),
        ("turn.example.org", None),
    ],
)
def test_address_types(address: str | None, kind: str | None) -> None:
    result = run_module(
        f"""
        import {{ addressType }} from {json.dumps(module_url("addresses.js"))};
        console.log(JSON.stringify(addressType({json.dumps(address)})));
        """
    )
    assert result == kind, address


def test_the_route_names_the_kind_of_each_address_and_not_the_address() -> None:
    local = {"candidateType": "host", "protocol": "udp", "address": "192.168.1.20"}
    remote = {"candidateType": "host", "protocol": "udp", "address": "5b1e.local"}
    result = route_of(local, remote)
    assert (result["local_address_type"], result["remote_address_type"]) == ("private", "mdns")
    # Chromium before 2021 called it `ip`.
    older = route_of({"candidateType": "srflx", "ip": "203.0.113.9"}, {"candidateType": "relay"})
    assert (older["local_address_type"], older["remote_address_type"]) == ("public", None)
    assert "192.168" not in json.dumps(result) and "203.0" not in json.dumps(older)
