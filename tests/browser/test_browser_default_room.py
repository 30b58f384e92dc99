"""The default room follows the notebook (issue 9), in real JupyterLab: a bare
``ConferenceWidget()`` joins the call of the notebook its kernel serves, named so on the
status line; a kernel that serves no notebook gets a room of its own."""

from __future__ import annotations

import re

from support import kernel, probes
from support.meeting import Meeting, wait_for_join
from support.mesh import wait_for_full_mesh
from support.pages import run_cell
from support.polling import wait_until
from support.timeouts import TIMEOUT

CELLS = ["from nbconference import ConferenceWidget\nw = ConferenceWidget(prejoin=False)", "w"]


def test_two_people_meet_in_the_call_of_their_notebook(meeting: Meeting) -> None:
    """Two browsers open one notebook; one makes the widget, each shows it: both are in the
    notebook's own call, with no room given."""
    notebook = meeting.notebook("default-room", CELLS)
    stem = notebook.removesuffix(".ipynb")
    ada = meeting.visit(notebook, "ada", run_all=True)
    wait_for_join(ada)
    # Another browser on the same notebook shares its kernel, and so its widget.
    bob = meeting.visit(notebook, "bob")
    assert bob.kernel_id == ada.kernel_id
    run_cell(bob, 1)
    wait_for_join(bob)
    wait_for_full_mesh([ada, bob])

    ada.run("import os\nfrom nbconference.notebook_room import notebook_room")
    room, label, session, derived = ada.value(
        "[w.room, w.room_label, os.environ['JPY_SESSION_NAME'],"
        " notebook_room(os.environ['JPY_SESSION_NAME'])]"
    )
    # jupyter_server names the notebook's path; the room is made from it, readably.
    assert session.endswith(f"/{notebook}"), session
    assert room == derived
    assert re.fullmatch(rf"{re.escape(stem[:40])}-[0-9a-f]{{12}}", room), room
    assert label == f"the call of {notebook}"
    for person in (ada, bob):
        (root,) = probes.roots(person)
        assert root["text"].startswith(f"In the call of {notebook} as "), root
    wait_until(
        lambda: (
            sorted(v["id"] for v in ada.value("w.viewers")) == sorted([ada.peer_id, bob.peer_id])
        ),
        TIMEOUT,
        "the kernel to list both viewers",
    )


def test_a_kernel_without_a_notebook_gets_a_room_of_its_own(meeting: Meeting) -> None:
    """A kernel started through ``/api/kernels`` (as nbclient or VS Code would) serves no
    notebook: each widget gets a ``call-…`` room of its own, and says how to join it."""
    lab = meeting.lab
    started = lab.api("POST", "api/kernels", {"name": "python3"})
    try:
        rooms = kernel.evaluate(
            lab,
            started["id"],
            "[(w.room, w.instance_id, w.room_label, w.status,"
            " __import__('os').environ.get('JPY_SESSION_NAME'))"
            " for w in (__import__('nbconference').ConferenceWidget(prejoin=False)"
            " for _ in range(2))]",
            timeout=60,
        )
    finally:
        lab.api("DELETE", f"api/kernels/{started['id']}")
    (room, instance, label, status, session), other = rooms
    assert session is None
    assert room == f"call-{instance[:12]}" and re.fullmatch(r"call-[0-9a-f]{12}", room), room
    assert f'room="{room}"' in label, label
    assert status == "idle"
    assert other[0] != room, "two widgets share a room no one chose"
