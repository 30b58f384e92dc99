"""Jupyter Notebook 7 runs the widget as JupyterLab does (issue 9): two people, each in a
notebook page of their own (``/notebooks/NAME``), meet; media flows both ways and each
kernel lists the other."""

from __future__ import annotations

from support import probes
from support.meeting import Meeting
from support.mesh import wait_for_full_mesh
from support.polling import wait_until
from support.timeouts import TIMEOUT

LAB_APP = "notebook"
# Notebook 7 itself (7.6, here with jupyter-collaboration installed and real-time
# collaboration off) throws this while loading any notebook: seen with a notebook of one
# print cell and no widget.
KNOWN_PAGE_ERRORS = [
    r"page error: Cannot read properties of undefined \(reading 'schema'\)"
    r" \(in http://[^ ]+/static/notebook/notebook_core\.[0-9a-f]+\.js\)$"
]
APP_NAME_JS = """() => JSON.parse(
  document.getElementById("jupyter-config-data").textContent).appName"""


def test_two_people_meet_in_notebook_7(meeting: Meeting) -> None:
    assert meeting.lab.app == "notebook"
    ada, bob = meeting.join(meeting.room(), ["ada", "bob"])
    # Notebook 7's own page, not Lab's: a single notebook, no Lab shell.
    for person in (ada, bob):
        assert "/notebooks/" in person.page.url, person.page.url
        assert person.js(APP_NAME_JS) == "Jupyter Notebook"
    wait_for_full_mesh([ada, bob])
    for person, other in ((ada, bob), (bob, ada)):
        wait_until(
            lambda person=person, other=other: (
                [(p["id"], p["connection"]) for p in person.value("w.peers")]
                == [(other.peer_id, "connected")]
            ),
            TIMEOUT,
            f"{person.name}'s kernel to list {other.name}",
        )
        assert person.value("[w.status, w.peer_id]") == ["joined", person.peer_id]
        remote = {t["peerId"] for t in probes.tiles(person) if not t["local"]}
        assert remote == {other.peer_id}
