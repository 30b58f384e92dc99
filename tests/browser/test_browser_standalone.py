"""Widgets in JupyterLab using ``nbconference serve`` (``signaling_url`` + ``token``)
instead of the Jupyter server's extension, as on a page without our Jupyter server; also
over ``wss://``, which pages served over https:// need."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright

from support.lab import JupyterLab
from support.meeting import Meeting
from support.mesh import wait_for_full_mesh
from support.pages import CHROMIUM_ARGS, launch_chromium
from support.polling import wait_until
from support.signal_probe import room_members
from support.standalone import ServeProcess
from support.tls import make_certificate


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with ServeProcess(log_dir=tmp_path_factory.mktemp("serve")) as server:
        yield server


def test_two_participants_through_the_standalone_server(
    meeting: Meeting, standalone: ServeProcess
) -> None:
    room = meeting.room()
    ada, bob = meeting.join(
        room, ["ada", "bob"], signaling_url=standalone.url, token=standalone.token
    )
    wait_for_full_mesh([ada, bob])

    for person, other in ((ada, bob), (bob, ada)):
        wait_until(
            lambda person=person, other=other: (
                [p["id"] for p in person.value("w.peers")] == [other.peer_id]
            ),
            30,
            f"{person.name}'s w.peers",
        )
    # The call went through the standalone server, not through Lab's own extension.
    members = room_members(standalone.url, standalone.token, room)
    assert sorted(p["id"] for p in members) == sorted([ada.peer_id, bob.peer_id])
    assert room_members(meeting.lab.signaling_url, meeting.lab.token, room) == []


@pytest.fixture(scope="module")
def standalone_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    folder = tmp_path_factory.mktemp("serve-tls")
    with ServeProcess(tls=make_certificate(folder), log_dir=folder) as server:
        yield server


@pytest.fixture
def trusting_browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium that accepts the test's self-signed certificate."""
    trusting = launch_chromium(playwright, [*CHROMIUM_ARGS, "--ignore-certificate-errors"])
    try:
        yield trusting
    finally:
        trusting.close()


def test_two_participants_over_wss(
    trusting_browser: Browser,
    jupyter_lab: JupyterLab,
    standalone_tls: ServeProcess,
    request: pytest.FixtureRequest,
) -> None:
    assert standalone_tls.url.startswith("wss://")
    meeting = Meeting(trusting_browser, jupyter_lab, request.node.name)
    try:
        room = meeting.room()
        ada, bob = meeting.join(
            room, ["ada", "bob"], signaling_url=standalone_tls.url, token=standalone_tls.token
        )
        wait_for_full_mesh([ada, bob])
        members = room_members(
            standalone_tls.url, standalone_tls.token, room, cafile=standalone_tls.certfile
        )
        assert sorted(p["id"] for p in members) == sorted([ada.peer_id, bob.peer_id])
        uncaught = meeting.uncaught_errors()
        assert not uncaught, "uncaught errors in the pages:\n" + "\n".join(uncaught)
    finally:
        meeting.close()
