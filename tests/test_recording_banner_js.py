"""The recording banner's rules, run in Node straight from js/ (the banner itself, in every
page, is tests/browser/test_recorder_browser.py): recorders apart from the people whose
tiles show, what the banner says, and how the protocol reads a record's kind."""

from __future__ import annotations

import json
from typing import Any

from support.node import module_url, needs_node, run_module

pytestmark = needs_node


def run_js(body: str) -> Any:
    imports = "".join(
        f"import * as {name.replace('-', '_')} from {json.dumps(module_url(name + '.js'))};\n"
        for name in ("recording-banner", "protocol")
    )
    return run_module(f"{imports}{body}\nconsole.log(JSON.stringify(result));")


def test_recorders_are_told_from_people_and_named_in_the_banner() -> None:
    result = run_js(
        """
        const banner = recording_banner;
        const roster = [
          { id: "a", name: "Ada", kind: "participant" },
          { id: "r1", name: "Grace Hopper", kind: "recorder", verified: true },
          { id: "b", name: "Bob", kind: "participant" },
          { id: "r2", name: "Alan", kind: "recorder", verified: true },
          { id: "r3", name: "Alan", kind: "recorder", verified: true },
        ];
        const { people, recorders } = banner.splitRecorders(roster);
        const result = {
          people: people.map((p) => p.id),
          recorders,
          one: banner.bannerText(recorders.slice(0, 1)),
          several: banner.bannerText(recorders),
          nameless: banner.bannerText([{ id: "x", name: "" }]),
        };
        """
    )
    assert result["people"] == ["a", "b"]
    assert result["recorders"] == [
        {"id": "r1", "name": "Grace Hopper"},
        {"id": "r2", "name": "Alan"},
        {"id": "r3", "name": "Alan"},
    ]
    assert result["one"].startswith("Recording · started by Grace Hopper.")
    assert result["several"].startswith("Recording · started by Grace Hopper and Alan.")
    assert result["nameless"].startswith("Recording · started by someone.")


def test_a_recorder_without_an_identity_is_named_by_its_server_not_its_label() -> None:
    """A recorder's label is its own free text: one the server knows no identity for (a
    kernel that joined with the server's token) is "a kernel on <server>" in the banner."""
    result = run_js(
        """
        const roster = [
          { id: "r1", name: "nothing is saved", kind: "recorder", verified: false },
          { id: "r2", name: "Grace Hopper", kind: "recorder" },
        ];
        const { recorders } = recording_banner.splitRecorders(roster, "hub.example.org");
        const result = {
          recorders,
          text: recording_banner.bannerText(recorders),
          default: recording_banner.splitRecorders(roster).recorders[0].name,
        };
        """
    )
    assert result["recorders"] == [
        {"id": "r1", "name": "a kernel on hub.example.org"},
        {"id": "r2", "name": "a kernel on hub.example.org"},
    ]
    assert result["text"].startswith("Recording · started by a kernel on hub.example.org.")
    assert "nothing is saved" not in result["text"]
    assert result["default"] == "a kernel on this server"  # Node has no page location


def test_a_record_is_a_recorder_only_when_it_says_so_exactly() -> None:
    result = run_js(
        """
        const read = (kind) => protocol.readServerFrame({
          type: "peer-joined",
          peer: { id: "p", name: "", state: {}, user: null, color: null,
                  ...(kind === undefined ? {} : { kind }) },
        })?.peer?.kind;
        const result = [undefined, "recorder", "participant", "RECORDER", 7].map(read);
        """
    )
    assert result == ["participant", "recorder", "participant", "participant", "participant"]
