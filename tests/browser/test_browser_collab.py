"""Several people around one notebook (issue 9), in JupyterLab with real-time
collaboration and named Jupyter users (``support.identity.NamedPeople``): every browser
that shows the widget is in the call as its own person, the kernel holds one picture of
the room, and a person's buttons are theirs alone."""

from __future__ import annotations

from typing import Any

from support import probes
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until
from support.timeouts import TIMEOUT

LAB_COLLABORATIVE = True
LAB_ARGS = [
    "--ServerApp.identity_provider_class=support.identity.NamedPeople",
    "--NBConference.reconnect_grace_seconds=3",
]

# Ada Lovelace, Grace Hopper and Alan Turing, as support/identity.py names them.
NAMES = {"ada": "Ada Lovelace", "grace": "Grace Hopper", "alan": "Alan Turing"}
GRACE_COLOUR = "rgb(21, 101, 192)"  # #1565c0


def kernel_picture(person: Participant) -> dict[str, Any]:
    """What the kernel behind ``person``'s notebook says of the room."""
    picture: dict[str, Any] = person.value(
        "{'viewers': sorted(v['id'] for v in w.viewers),"
        " 'peers': sorted(p['id'] for p in w.peers),"
        " 'names': {r['id']: r['name'] for r in w.viewers + w.peers},"
        " 'cameras': {r['id']: r['camera'] for r in w.viewers + w.peers},"
        " 'peer_id': w.peer_id, 'status': w.status}"
    )
    return picture


def tile_names(person: Participant) -> dict[str, str]:
    return {t["peerId"]: t["name"] for t in probes.tiles(person) if not t["screen"]}


def test_three_people_in_one_call_each_as_themselves(meeting: Meeting) -> None:
    room = meeting.room()
    shared = meeting.notebook("pair", widget_cells(room, "label"))
    solo = meeting.notebook("solo", widget_cells(room, "label"))
    ada = meeting.visit(shared, "ada", run_all=True, person="ada")
    wait_for_join(ada)
    # Grace opens the same notebook: the output, and so the widget, reach her page through
    # the shared document; she runs nothing.
    grace = meeting.visit(shared, "grace", person="grace")
    wait_for_join(grace)
    alan = meeting.visit(solo, "alan", run_all=True, person="alan")
    wait_for_join(alan)
    people = [ada, grace, alan]
    wait_for_full_mesh(people)
    ids = {p.name: p.peer_id for p in people}
    assert len(set(ids.values())) == 3

    # Every tile shows who it is: the Jupyter user, not the label the notebook gave.
    for person in people:
        expected = {ids[n]: NAMES[n] for n in ids if n != person.name}
        expected[ids[person.name]] = f"{NAMES[person.name]} (you)"
        wait_until(
            lambda person=person, expected=expected: tile_names(person) == expected,
            TIMEOUT,
            f"{person.name}'s tiles to name everyone",
        )

    # The shared kernel: its viewers are Ada and Grace, its peers Alan; the same each read.
    viewers, others = sorted([ids["ada"], ids["grace"]]), [ids["alan"]]
    wait_until(
        lambda: (p := kernel_picture(ada))["viewers"] == viewers and p["peers"] == others,
        TIMEOUT,
        "the shared kernel's picture",
    )
    for _ in range(3):
        picture = kernel_picture(grace)
        assert picture["viewers"] == viewers and picture["peers"] == others, picture
        assert picture["peer_id"] == "" and picture["status"] == "joined", picture
    assert picture["names"][ids["grace"]] == "Grace Hopper"
    assert picture["names"][ids["alan"]] == "Alan Turing"
    wait_until(
        lambda: kernel_picture(alan)["peers"] == viewers, TIMEOUT, "Alan's kernel to see both"
    )

    # Cameras come on a moment after the join (a page joins before its camera is up).
    try:
        wait_until(
            lambda: all(kernel_picture(ada)["cameras"].get(ids[n]) is True for n in ids),
            TIMEOUT,
            "every camera on in Ada's kernel",
        )
    except AssertionError as exc:
        exc.add_note(f"Ada's kernel: {kernel_picture(ada)['cameras']} (ids {ids})")
        for person in people:
            notices = person.page.locator(".nbc-notice").all_inner_texts()
            exc.add_note(f"{person.name}'s page: notices {notices}, tiles {probes.tiles(person)}")
        raise
    # Grace's camera button turns off Grace's camera, nobody else's.
    grace.page.locator('.nbc-button[data-action="camera"]').click()
    for person in (ada, alan):
        wait_until(
            lambda person=person: kernel_picture(person)["cameras"][ids["grace"]] is False,
            TIMEOUT,
            f"{person.name}'s kernel to see Grace's camera off",
        )
    cameras = kernel_picture(ada)["cameras"]
    assert cameras[ids["ada"]] is True and cameras[ids["alan"]] is True, cameras
    assert probes.live_camera_tracks(ada) == 1 and probes.live_camera_tracks(grace) == 0
    # With her camera off, Alan sees her initials in her colour.
    grace_tile = wait_until(
        lambda: next(
            (t for t in probes.tiles(alan) if t["peerId"] == ids["grace"] and t["camera"]),
            None,
        ),
        TIMEOUT,
        "Alan's tile of Grace to show her camera off",
    )
    assert grace_tile["avatar"] == "GH" and grace_tile["avatarColor"] == GRACE_COLOUR

    # Grace closes her tab: both kernels drop her within 5 s of the server noticing.
    grace.close()
    wait_until(
        lambda: kernel_picture(ada)["viewers"] == [ids["ada"]], 8, "the shared kernel to drop Grace"
    )
    wait_until(
        lambda: kernel_picture(alan)["peers"] == [ids["ada"]], 8, "Alan's kernel to drop Grace"
    )
    assert kernel_picture(ada)["peer_id"] == ids["ada"], "one viewer again: its id"
