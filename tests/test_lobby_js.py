"""The lobby as the page keeps it (js/lobby.js), run in Node: what the lobby frames said,
and a chime once for each person who starts waiting, not again for the same person or
for a frame that only takes someone away."""

from __future__ import annotations

import json

from support.node import module_url, needs_node, run_module

pytestmark = needs_node


def test_the_lobby_rings_once_per_newcomer_and_shows_only_to_a_page_that_may_run_it() -> None:
    result = run_module(
        f"""
        import {{ LobbyWatch }} from {json.dumps(module_url("lobby.js"))};
        let rings = 0, changes = 0;
        const watch = new LobbyWatch(() => (changes += 1), () => (rings += 1));
        const entry = (id) => ({{ id, name: id, username: "", waiting_since: 1 }});
        const frame = (locked, ...ids) => ({{ type: "lobby", locked, waiting: ids.map(entry) }});
        const before = [watch.snapshot(false), watch.snapshot(true)];
        const seen = [];
        for (const f of [frame(true), frame(true, "a"), frame(true, "a"), frame(true, "a", "b"),
                         frame(true, "b"), frame(false)]) {{
          watch.heard(f);
          seen.push({{ rings, waiting: watch.snapshot(false).waiting.map((e) => e.id) }});
        }}
        const locked = watch.snapshot(false).locked;
        watch.clear();
        const after = watch.snapshot(false);
        console.log(JSON.stringify({{ before, seen, locked, changes, after }}));
        """
    )
    assert result["before"] == [None, {"locked": False, "waiting": []}]
    assert result["seen"] == [
        {"rings": 0, "waiting": []},
        {"rings": 1, "waiting": ["a"]},
        {"rings": 1, "waiting": ["a"]},
        {"rings": 2, "waiting": ["a", "b"]},
        {"rings": 2, "waiting": ["b"]},
        {"rings": 2, "waiting": []},
    ]
    assert result["locked"] is False and result["changes"] == 6 and result["after"] is None
