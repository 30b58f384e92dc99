"""What a browser tells its kernel (js/bridge.js's kernelReporter), run in Node: a burst of
changes during a join goes as one report at once and one at the end of the gap, not one
message through the Jupyter server per change."""

from __future__ import annotations

import json

from support.node import module_url, needs_node, run_module

pytestmark = needs_node


def test_a_burst_of_changes_is_two_reports_and_an_unchanged_record_is_not_sent() -> None:
    result = run_module(
        f"""
        import {{ kernelReporter, REPORT_GAP_MS }} from {json.dumps(module_url("bridge.js"))};
        const sent = [];
        const model = {{ send: (content) => sent.push({{ at: Date.now(), ...content }}) }};
        const reporter = kernelReporter(model);
        const started = Date.now();
        const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
        for (let step = 0; step < 20; step += 1) reporter.state({{ status: "connecting", step }});
        const atOnce = sent.map((m) => m.record?.step);
        await sleep(REPORT_GAP_MS + 100);
        const afterGap = sent.map((m) => m.record?.step);
        const gapMs = sent[1] ? sent[1].at - started : null;
        reporter.state({{ status: "connecting", step: 19 }});  // the same record again
        await sleep(REPORT_GAP_MS + 100);
        const unchanged = sent.length;
        reporter.state(null);  // no view any more: said at once
        reporter.state({{ status: "joined", step: 0 }});  // a new view: at once too
        const types = sent.map((m) => m.type);
        reporter.dispose();
        const gap = REPORT_GAP_MS;
        console.log(JSON.stringify({{ atOnce, afterGap, gapMs, unchanged, types, gap }}));
        """
    )
    assert result["atOnce"] == [0], "the first change of a burst goes at once"
    assert result["afterGap"] == [0, 19], "the rest of the burst is one report, its last record"
    assert result["gapMs"] >= result["gap"] - 5
    assert result["unchanged"] == 2, "a record the kernel has already is not sent again"
    assert result["types"][2:] == ["viewer-gone", "viewer"], "a view gone and a new one: at once"
