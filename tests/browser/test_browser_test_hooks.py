"""The shipped bundle defines its test hooks only on a page that opted in: a user's page
(no ``globalThis.__nbconferenceTest``) is in the call with no testHook and none of the
Conference getters the other browser tests read."""

from __future__ import annotations

from typing import Any

from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import receives_from
from support.pages import Participant, begin_open, finish_open
from support.polling import wait_until
from support.probes import tiles

GETTERS = ["instanceId", "status", "id", "peers", "localStream", "stats", "audio", "signaling"]

HOOKS_JS = """
(getters) => {
  const conferences = [...(globalThis.__nbconference?.conferences?.values() ?? [])];
  return conferences.map((conference) => ({
    getters: getters.filter((name) => name in conference),
    testHook: Object.keys(conference.signaling?.testHook ?? {}).sort(),
  }));
}
"""


def hooks(person: Participant) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = person.js(HOOKS_JS, GETTERS)
    return found


def sees_connected(person: Participant, peer_id: str) -> bool:
    return any(t["peerId"] == peer_id and t["connection"] == "connected" for t in tiles(person))


def test_a_users_page_has_no_test_hooks(meeting: Meeting) -> None:
    room = meeting.room()
    notebook = meeting.notebook("user", widget_cells(room, "user"))
    user = begin_open(meeting.browser, meeting.lab, notebook, "user", test_hooks=False)
    meeting.participants.append(user)
    finish_open(user)
    (tester,) = meeting.open([("tester", widget_cells(room, "tester"))])
    for person in (user, tester):
        wait_for_join(person)
    # The call works between the two pages, hooks or not.
    wait_until(lambda: receives_from(tester, [user.peer_id]), 60.0, "media from the user")
    wait_until(lambda: sees_connected(user, tester.peer_id), 60.0, "the user to see the tester")

    assert hooks(user) == [{"getters": [], "testHook": []}]
    assert hooks(tester) == [{"getters": GETTERS, "testHook": ["drop", "readyState", "sockets"]}]
