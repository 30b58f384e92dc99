"""Who takes part, in real JupyterLab pages (issue 9): only a browser that shows the widget
joins the call; a widget model with no view in a page asks for no camera and opens no
socket; and one browser is one participant: a second tab showing the same call offers
"Join here" instead of joining twice."""

from __future__ import annotations

import time
from typing import Any

from support import probes
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import wait_for_full_mesh
from support.pages import Participant, run_cell
from support.polling import wait_until
from support.timeouts import TIMEOUT

# Longer than a page needs to ask for media and open its socket once a widget joins
# (well under a second here): what has not started by then was not going to.
SETTLE = 3.0
NOTHING_STARTED = {"getUserMedia": 0, "sockets": 0}
ONE_CALL_STARTED = {"getUserMedia": 1, "sockets": 1}


def instance_id(person: Participant, variable: str = "w") -> str:
    value: str = person.value(f"{variable}.instance_id")
    return value


def keep_tracks(person: Participant) -> None:
    """Hold on to the page's camera and microphone tracks, to see them end later (the
    conference empties its stream when it leaves)."""
    person.js(f"() => {{ window.__kept = {probes.CONFERENCE_JS}.localStream.getTracks(); }}")


def kept_tracks(person: Participant) -> list[dict[str, Any]]:
    tracks: list[dict[str, Any]] = person.js(
        "() => window.__kept.map((t) => ({ kind: t.kind, state: t.readyState }))"
    )
    return tracks


# How many tracks a widget's conference in this page holds (0 once it let them go).
LOCAL_TRACKS_JS = (
    "(id) => globalThis.__nbconference.conferences.get(id).localStream.getTracks().length"
)


def test_a_widget_nobody_shows_starts_nothing(meeting: Meeting) -> None:
    """``w2`` is made but not shown: no camera, no socket, and its kernel says idle, while
    ``w`` in the same page joins. Two rooms, so that the one-call-per-browser lock cannot
    be what keeps ``w2`` out."""
    shown, hidden = meeting.room("shown"), meeting.room("hidden")
    cells = [
        *widget_cells(shown, "ada"),
        f"w2 = ConferenceWidget(room={hidden!r}, name='ada', prejoin=False)",
    ]
    notebook = meeting.notebook("hidden", cells)
    ada = meeting.visit(notebook, "ada", run_all=True, init_script=probes.COUNT_STARTS_JS)
    wait_for_join(ada)
    hidden_id = wait_until(lambda: instance_id(ada, "w2"), TIMEOUT, "w2 to exist")
    # The page has w2's model (ipywidgets creates every model in every front end) ...
    wait_until(lambda: hidden_id in probes.registry(ada), TIMEOUT, "w2's model in the page")
    time.sleep(SETTLE)
    # ... and started the call of the shown widget only.
    assert probes.starts(ada) == ONE_CALL_STARTED
    assert probes.registry(ada)[hidden_id] == "idle"
    assert ada.value("[w2.status, w2.viewers, w2.peer_id]") == ["idle", [], ""]
    assert ada.value("w.status") == "joined"
    assert len(probes.roots(ada)) == 1


def test_a_page_that_shows_no_output_starts_nothing(meeting: Meeting) -> None:
    """A second page of a notebook whose widget runs elsewhere gets the widget's model
    from the kernel, but shows no output of it: it asks for no camera and opens no socket.
    It is another browser, so the one-call-per-browser lock cannot be what keeps it out."""
    room = meeting.room()
    notebook = meeting.notebook("shared", widget_cells(room, "ada"))
    ada = meeting.visit(notebook, "ada", run_all=True)
    wait_for_join(ada)
    widget = instance_id(ada)

    # Non-collaborative Lab: the second page loads the notebook without its outputs,
    # and connects to the same kernel (the session is the notebook's).
    other = meeting.visit(notebook, "other", init_script=probes.COUNT_STARTS_JS)
    assert other.kernel_id == ada.kernel_id
    wait_until(lambda: widget in probes.registry(other), TIMEOUT, "the model in the 2nd page")
    time.sleep(SETTLE)
    assert probes.starts(other) == NOTHING_STARTED
    assert probes.registry(other) == {widget: "idle"}
    assert probes.roots(other) == []
    # The kernel still has one viewer: nobody else joined as it.
    viewers = ada.value("[v['id'] for v in w.viewers]")
    assert viewers == [ada.peer_id], viewers


def test_join_here_moves_the_call_between_tabs_of_one_browser(meeting: Meeting) -> None:
    """Two tabs of one browser show the same widget: the second offers "Join here" and
    starts nothing; clicking it moves the call there, and the first tab lets its camera
    and microphone go; the first tab can take the call back the same way."""
    room = meeting.room()
    notebook = meeting.notebook(
        "tabs",
        [
            "from nbconference import ConferenceWidget\n"
            f"w = ConferenceWidget(room={room!r}, prejoin=False)",
            "w",
        ],
    )
    first = meeting.visit(notebook, "first", run_all=True, init_script=probes.COUNT_STARTS_JS)
    (bob,) = meeting.open([("bob", widget_cells(room, "bob"))])
    wait_for_join(first)
    wait_for_join(bob)
    wait_for_full_mesh([first, bob])
    keep_tracks(first)

    # The same browser (context), so the same counting init script, in a second tab.
    second = meeting.visit(notebook, "second", context=first.context)
    assert second.kernel_id == first.kernel_id
    run_cell(second, 1)
    # The view shows at once; that the call is elsewhere is known a moment later.
    (root,) = wait_until(
        lambda: (r := probes.roots(second)) and r[0]["elsewhere"] and r,
        TIMEOUT,
        "the second tab to know the call is in the first",
    )
    assert root["status"] == "idle", root
    join_here = second.page.locator('.nbc-button[data-action="join"]')
    assert join_here.is_visible() and join_here.inner_text().strip() == "Join here"
    assert "in another tab or cell of this browser" in root["text"], root
    time.sleep(SETTLE)
    assert probes.starts(second) == NOTHING_STARTED
    # The first tab stays in the call, media flowing, and the kernel has one viewer.
    wait_for_full_mesh([first, bob])
    assert first.value("[v['id'] for v in w.viewers]") == [first.peer_id]

    join_here.click()
    wait_for_join(second)
    assert second.peer_id != first.peer_id
    wait_for_full_mesh([second, bob])
    assert probes.starts(second) == ONE_CALL_STARTED
    # The first tab left: idle, offering to join here, its camera and microphone ended.
    wait_until(
        lambda: (r := probes.roots(first))[0]["status"] == "idle" and r[0]["elsewhere"],
        TIMEOUT,
        "the first tab to leave the call",
    )
    assert kept_tracks(first) == [
        {"kind": "audio", "state": "ended"},
        {"kind": "video", "state": "ended"},
    ]
    widget = instance_id(first)
    assert first.js(LOCAL_TRACKS_JS, widget) == 0, "the first tab still holds media"
    assert first.page.locator('.nbc-button[data-action="join"]').inner_text().strip() == (
        "Join here"
    )
    # Bob and the kernel see the second tab only.
    wait_until(
        lambda: [p["id"] for p in bob.value("w.peers")] == [second.peer_id],
        TIMEOUT,
        "bob's kernel to see the second tab only",
    )
    wait_until(
        lambda: (
            first.value("[[v['id'] for v in w.viewers], w.peer_id]")
            == [[second.peer_id], second.peer_id]
        ),
        TIMEOUT,
        "the kernel's viewer to be the second tab",
    )

    # And back: the tab that lost the call can take it again.
    first.page.locator('.nbc-button[data-action="join"]').click()
    old_id = first.peer_id
    assert wait_for_join(first) != old_id
    wait_until(
        lambda: (r := probes.roots(second))[0]["status"] == "idle" and r[0]["elsewhere"],
        TIMEOUT,
        "the second tab to leave the call",
    )
    wait_for_full_mesh([first, bob])
    assert probes.starts(first) == {"getUserMedia": 2, "sockets": 2}


def test_a_tab_stays_in_its_call_through_new_settings_and_holds_the_new_room(
    meeting: Meeting,
) -> None:
    """New settings from the kernel (``w.name``, ``w.room``) make a tab leave and join
    again at once: its own call, just left, must not pass for another tab's. After
    ``w.room = ...`` the tab is in the new room and no longer in the old one: a second tab
    offers "Join here" for the new room and joins the old one."""
    first_room, second_room = meeting.room("first"), meeting.room("second")
    mover = meeting.notebook("mover", widget_cells(first_room, "ada"))
    first = meeting.visit(mover, "first", run_all=True)
    before = wait_for_join(first)

    def rejoined() -> dict[str, Any] | None:
        root: dict[str, Any] = probes.roots(first)[0]
        fresh = root["status"] == "joined" and root["peerId"] not in ("", before)
        return root if fresh else None

    first.run("w.name = 'ada again'")
    wait_until(rejoined, TIMEOUT, "the first tab to join again as a new peer")
    before = wait_for_join(first)
    first.run(f"w.room = {second_room!r}")
    root = wait_until(rejoined, TIMEOUT, "the first tab to join the second room")
    assert second_room in root["text"], root

    # A second tab of the same browser shows a widget of each room.
    cells = [
        "from nbconference import ConferenceWidget",
        f"old = ConferenceWidget(room={first_room!r}, name='ada', prejoin=False)\nold",
        f"new = ConferenceWidget(room={second_room!r}, name='ada', prejoin=False)\nnew",
    ]
    second = meeting.visit(meeting.notebook("other", cells), "second", context=first.context)
    for index in range(len(cells)):
        run_cell(second, index)
    old, new = second.value("[old.instance_id, new.instance_id]")

    def views() -> dict[str, tuple[str, bool]]:
        return {r["instanceId"]: (r["status"], r["elsewhere"]) for r in probes.roots(second)}

    wait_until(
        lambda: views() == {old: ("joined", False), new: ("idle", True)},
        TIMEOUT,
        "the old room joined here and the new one offered (it is the first tab's)",
    )
