"""Which remote cameras one page of the grid shows, and the SFU's layer for a tile: the
pure rules run in Node straight from js/paging.js and js/budget.js."""

from __future__ import annotations

import json
from typing import Any

from support.node import module_url, needs_node, run_module

pytestmark = needs_node


def run_js(module: str, expression: str) -> Any:
    """Evaluate ``expression`` with ``module`` imported as ``m``; returns it as JSON."""
    imports = f"import * as m from {json.dumps(module_url(module))};\n"
    return run_module(f"{imports}console.log(JSON.stringify({expression}));")


def page(ids: list[str], number: int, speaker: str = "", size: int = 3) -> dict[str, Any]:
    result: dict[str, Any] = run_js(
        "paging.js", f"m.pageOf({json.dumps(ids)}, {number}, {json.dumps(speaker)}, {size})"
    )
    return result


def test_a_class_is_shown_one_page_at_a_time_with_a_count_of_the_rest() -> None:
    ids = [f"p{i}" for i in range(7)]
    assert page(ids, 0) == {"shown": ["p0", "p1", "p2"], "page": 0, "pages": 3, "more": 4}
    assert page(ids, 2) == {"shown": ["p6"], "page": 2, "pages": 3, "more": 6}
    # A page past the last (people left meanwhile) is the last one.
    assert page(ids, 9)["page"] == 2
    assert page(["a", "b"], 0) == {"shown": ["a", "b"], "page": 0, "pages": 1, "more": 0}
    assert page([], 0) == {"shown": [], "page": 0, "pages": 1, "more": 0}


def test_the_active_speaker_is_always_on_the_page() -> None:
    ids = [f"p{i}" for i in range(7)]
    assert page(ids, 0, speaker="p5")["shown"] == ["p0", "p1", "p5"]
    assert page(ids, 2, speaker="p0")["shown"] == ["p6", "p0"]
    assert page(ids, 0, speaker="p1")["shown"] == ["p0", "p1", "p2"]
    # We are not on a page of remote cameras: our own voice changes nothing.
    assert page(ids, 0, speaker="me")["shown"] == ["p0", "p1", "p2"]


def test_a_tile_asks_the_sfu_for_the_layer_its_size_needs() -> None:
    heights = [0, 54, 90, 120, 121, 180, 240, 241, 360, 1080]
    layers = run_js("budget.js", f"{json.dumps(heights)}.map((h) => m.substreamFor(h))")
    # A 360 p camera: a browser sends its 180 and 360 p layers (not the 90 p one, too
    # small for libwebrtc); 3/4 of a tile's height is enough.
    assert layers == [None, 1, 1, 1, 1, 1, 1, 2, 2, 2]
    # A 1080 p camera: all three layers, 270, 540 and 1080 p.
    sizes = [100, 360, 361, 720, 721, 2000]
    assert run_js("budget.js", f"{json.dumps(sizes)}.map((h) => m.substreamFor(h, 1080))") == [
        0,
        0,
        1,
        1,
        2,
        2,
    ]
