"""Breakout rooms as the page keeps them (js/breakout.js), run in Node: our group and the
countdown from the server's frames, what the banner says, and nothing left once the
breakout ends or the call is left."""

from __future__ import annotations

import json

from support.node import module_url, needs_node, run_module

pytestmark = needs_node


def test_the_page_follows_its_group_and_counts_down() -> None:
    result = run_module(
        f"""
        import * as b from {json.dumps(module_url("breakout.js"))};
        import * as h from {json.dumps(module_url("hands.js"))};
        let changes = 0;
        const watch = new b.BreakoutWatch(() => (changes += 1));
        const groups = {{ "group-a": ["me", "you"], "group-b": ["them"] }};
        const before = watch.snapshot();
        const room = "lab.breakout.group-a";
        watch.moved({{ type: "moved", room, group: "group-a", main: "lab" }});
        const help = [{{ id: "them", name: "Them", group: "group-b", hand: 5 }}];
        watch.heard({{ type: "breakouts", main: "lab", groups, seconds_left: 462, help }});
        const inGroup = watch.snapshot();
        const said = b.breakoutText(inGroup, inGroup.endsAt - 462000);
        const main = {{ ...inGroup, group: "" }};
        const saidInMain = b.breakoutText(main, inGroup.endsAt - 61000);
        watch.moved({{ type: "moved", room: "lab", group: "", main: "lab" }});
        const back = watch.snapshot();
        watch.heard({{ type: "breakouts", main: "lab", groups, seconds_left: 30, help }});
        const watching = watch.snapshot();
        // In the main room, who asks for help joins the queue of raised hands.
        const snapshot = {{
          local: {{ id: "me", name: "Me", hand: 0 }},
          peers: [{{ id: "you", name: "You", hand: 9 }}],
          breakout: watching,
        }};
        const queue = h.handQueue(snapshot).map((r) => [r.id, r.name, r.group ?? null]);
        const inGroup2 = h.handQueue({{ ...snapshot, breakout: {{ ...watching, group: "g" }} }});
        watch.heard({{ type: "breakouts", main: "lab", groups: {{}}, seconds_left: 0, help: [] }});
        const over = watch.snapshot();
        watch.heard({{ type: "breakouts", main: "lab", groups, seconds_left: 30, help: [] }});
        watch.clear();
        console.log(JSON.stringify({{
          before, inGroup, said, saidInMain, back, watching: watching.group, over, queue,
          inGroup2: inGroup2.map((r) => r.id),
          cleared: watch.snapshot(), changes,
          clocks: [b.countdown(0), b.countdown(-5), b.countdown(59001), b.countdown(3725000)],
        }}));
        """
    )
    assert result["before"] is None
    assert result["inGroup"]["group"] == "group-a" and result["inGroup"]["main"] == "lab"
    assert result["inGroup"]["groups"] == {"group-a": ["me", "you"], "group-b": ["them"]}
    assert result["inGroup"]["help"] == [
        {"id": "them", "name": "Them", "group": "group-b", "hand": 5}
    ]
    assert result["said"] == "In group-a (breakout, 7:42 left) · Breakout groups are not recorded."
    assert result["saidInMain"] == (
        "2 breakout groups are meeting: 1:01 left; everyone comes back when it ends."
    )
    assert result["back"] is None  # back in the main room, the breakout over
    assert result["watching"] == ""  # a main-room page sees the countdown too
    assert result["over"] is None and result["cleared"] is None
    assert result["queue"] == [
        ["them", "Them (in group-b, asks for help)", "group-b"],
        ["you", "You", None],
    ]
    assert result["inGroup2"] == ["you"]  # in a group, its own hands only
    assert result["changes"] == 6
    assert result["clocks"] == ["0:00", "0:00", "1:00", "1:02:05"]
