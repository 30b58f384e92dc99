"""The front end's test hooks (SignalingSession.testHook, Conference's read-only getters)
exist only on a page that opted in before the modules loaded, run in Node straight from
js/: without ``globalThis.__nbconferenceTest = true`` none of them is defined."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support.node import module_url, needs_node, run_module
from support.pages import TEST_HOOKS_JS

pytestmark = needs_node

# Conference's getters for browser tests (tests/support/probes.py reads them).
GETTERS = ["instanceId", "status", "id", "peers", "localStream", "stats", "audio", "signaling"]

# Imports after the opt-in (if any) has run: module evaluation reads it once.
HOOKS_SEEN = """
const { SignalingSession } = await import(%(signaling)s);
const { Conference } = await import(%(conference)s);
const target = { url: "ws://127.0.0.1:9/", shown: "ws://127.0.0.1:9/", hint: "" };
const session = new SignalingSession(target, {});
const hook = session.testHook;
console.log(JSON.stringify({
  testHook: "testHook" in session,
  hookKeys: hook ? Object.keys(hook).sort() : null,
  getters: %(getters)s.filter((name) => name in Conference.prototype),
}));
"""


def hooks_seen(opt_in: str) -> Any:
    script = HOOKS_SEEN % {
        "signaling": json.dumps(module_url("signaling.js")),
        "conference": json.dumps(module_url("conference.js")),
        "getters": json.dumps(GETTERS),
    }
    return run_module(opt_in + "\n" + script)


def test_no_test_hooks_without_the_opt_in() -> None:
    seen = hooks_seen("")
    assert seen == {"testHook": False, "hookKeys": None, "getters": []}, (
        "a page that did not opt in (a user's) must get no test hooks"
    )


@pytest.mark.parametrize(
    "opt_in", ["globalThis.__nbconferenceTest = false;", 'globalThis.__nbconferenceTest = "1";']
)
def test_only_true_opts_in(opt_in: str) -> None:
    assert hooks_seen(opt_in)["getters"] == []


def test_the_opt_in_defines_every_hook() -> None:
    seen = hooks_seen(TEST_HOOKS_JS)
    assert seen == {
        "testHook": True,
        "hookKeys": ["drop", "readyState", "sockets"],
        "getters": GETTERS,
    }
