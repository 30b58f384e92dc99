"""The first minute after ``%pip install nbconference`` into a running Jupyter (issue 10):
the server has no nbconference endpoint (the extension loads only at start-up, here it is
switched off), so the kernels find or start one local signaling server for this user,
the browsers join through it, and it exits once idle. Where the page cannot reach it, the
widget says exactly what to do and lets the camera go. After a restart, the extension is
used and nothing of the stand-in remains."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from support.lab import JupyterLab, running_lab
from support.meeting import Meeting, wait_for_join, widget_cells
from support.mesh import wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until
from support.processes import process_alive
from support.signal_probe import room_members

WITHOUT_EXTENSION = ["--ServerApp.jpserver_extensions=nbconference=False"]
IDLE_SECONDS = "4"
LAB_ARGS = WITHOUT_EXTENSION
LAB_ENV = {"NBCONFERENCE_LOCAL_IDLE_SECONDS": IDLE_SECONDS}
RUNTIME_FILE = "nbconference-signaling.json"
LOCAL_SIGNALING = "Using a local signaling server. Restart Jupyter to use the built-in one."
TIMEOUT = 60.0

# Every track getUserMedia hands the page, to see later that each was let go.
TRACKS_JS = """
(() => {
  const get = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.__tracks = [];
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await get(constraints);
    window.__tracks.push(...stream.getTracks());
    return stream;
  };
})();
"""


def runtime_record(lab: JupyterLab) -> dict[str, Any] | None:
    path = lab.runtime_dir / RUNTIME_FILE
    try:
        record: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record


@contextlib.contextmanager
def stopping_the_stand_in(lab: JupyterLab) -> Iterator[None]:
    """Whatever local server the test made, it does not outlive the test."""
    try:
        yield
    finally:
        record = runtime_record(lab)
        if record is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(record["pid"], signal.SIGKILL)


def status_text(person: Participant) -> str:
    return str(person.page.locator(".nbc-root .nbc-status").first.inner_text())


def test_three_notebooks_and_a_kernel_peer_meet_through_one_local_server(
    meeting: Meeting, jupyter_lab: JupyterLab
) -> None:
    room = meeting.room()
    with stopping_the_stand_in(jupyter_lab):
        people = meeting.join(room, ["ada", "bob", "cy"])
        wait_for_full_mesh(people)
        record = runtime_record(jupyter_lab)
        assert record is not None and process_alive(record["pid"]), record
        assert oct((jupyter_lab.runtime_dir / RUNTIME_FILE).stat().st_mode & 0o777) == "0o600"
        for person in people:
            others = sorted(p.peer_id for p in people if p is not person)
            wait_until(
                lambda person=person, others=others: (
                    sorted(p["id"] for p in person.value("w.peers")) == others
                ),
                TIMEOUT,
                f"{person.name}'s w.peers",
            )
            assert LOCAL_SIGNALING in status_text(person)
        # One stand-in serves them all: the room lives there, not in Jupyter.
        members = room_members(record["url"], record["token"], room)
        assert sorted(m["id"] for m in members) == sorted(p.peer_id for p in people)

        # A KernelPeer in a fourth kernel finds the same server by itself.
        (kernel,) = meeting.open(
            [
                (
                    "kernel",
                    [
                        "from nbconference import KernelPeer\n"
                        f"kp = await KernelPeer.join({room!r}, name='kernel')\n"
                        "print('kernel peer', kp.id)"
                    ],
                )
            ]
        )
        kernel_id = wait_until(
            lambda: kernel.value("kp.id if kp.status == 'joined' else ''"),
            TIMEOUT,
            "the kernel peer to join",
        )
        assert runtime_record(jupyter_lab) == record, "no second local server"
        wait_until(
            lambda: kernel_id in {p["id"] for p in people[0].value("w.peers")},
            TIMEOUT,
            "ada's kernel to see the kernel peer",
        )

        # Everyone leaves: the stand-in exits after its idle time, and its file goes too.
        kernel.run("await kp.leave()")
        for person in people:
            person.close()
        wait_until(lambda: not process_alive(record["pid"]), 60, "the idle local server to exit")
        assert runtime_record(jupyter_lab) is None


@pytest.fixture
def unreachable_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    """No extension, and a stand-in the page cannot reach: browsers refuse port 6666
    (one of their unsafe ports), which a kernel's Python connects to freely."""
    env = {**LAB_ENV, "NBCONFERENCE_LOCAL_PORT": "6666"}
    folder = tmp_path_factory.mktemp("lab")
    with running_lab(folder, WITHOUT_EXTENSION, env=env) as lab, stopping_the_stand_in(lab):
        yield lab


def test_where_no_stand_in_can_help_the_widget_says_what_to_do(
    browser: Browser, unreachable_lab: JupyterLab, request: pytest.FixtureRequest
) -> None:
    meeting = Meeting(browser, unreachable_lab, request.node.name)
    try:
        (ada,) = meeting.open([("ada", widget_cells(meeting.room(), "ada"))], init_script=TRACKS_JS)
        error = wait_until(
            lambda: (
                (s := ada.value("[w.status, w.error]"))[0] == "error" and "restart" in s[1] and s[1]
            ),
            TIMEOUT,
            "the widget to give up with advice",
        )
        assert "restart it" in error and "Hub Control Panel" in error, error
        assert "restart it" in status_text(ada)
        # It stopped: no retries, the camera and microphone are let go, "Try again" offered.
        # The page joins without waiting for its devices, so the browser may hand them
        # over after the widget gave up: they are stopped the moment they come.
        state = wait_until(
            lambda: (
                (
                    found := ada.js(
                        """() => ({
                          tracks: window.__tracks.map((t) => t.readyState),
                          signaling:
                            [...globalThis.__nbconference.conferences.values()][0].signaling,
                        })"""
                    )
                )["tracks"]
                and found
            ),
            TIMEOUT,
            "the browser to hand over the camera and microphone",
        )
        assert set(state["tracks"]) == {"ended"}, state
        assert state["signaling"] is None, state
        retry = ada.page.locator('.nbc-root .nbc-button[data-action="join"]')
        assert retry.is_visible() and retry.inner_text().strip() == "Try again"
        ada.page.wait_for_timeout(3000)
        assert ada.value("w.status") == "error", "no retry by itself"
    finally:
        meeting.close()


def test_after_a_restart_the_extension_is_used_and_the_stand_in_goes(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> None:
    folder = tmp_path_factory.mktemp("lab")
    notebook = "call.ipynb"
    room = "restart-" + os.urandom(3).hex()
    stand_in: dict[str, Any] | None = None
    try:
        with running_lab(folder, WITHOUT_EXTENSION, env=LAB_ENV) as before:
            before.write_notebook(notebook, widget_cells(room, "ada"))
            meeting = Meeting(browser, before, request.node.name)
            try:
                ada = meeting.visit(notebook, "ada", run_all=True)
                wait_for_join(ada)
                assert LOCAL_SIGNALING in status_text(ada)
                stand_in = runtime_record(before)
                assert stand_in is not None
            finally:
                meeting.close()
        # The same server, restarted with the extension (the default once installed).
        with running_lab(folder, env=LAB_ENV) as after:
            meeting = Meeting(browser, after, request.node.name)
            try:
                ada = meeting.visit(notebook, "ada", run_all=True)
                wait_for_join(ada)
                assert LOCAL_SIGNALING not in status_text(ada)
                members = room_members(after.signaling_url, after.token, room)
                assert [m["id"] for m in members] == [ada.peer_id], "the call is on Jupyter's own"
                wait_until(
                    lambda: not process_alive(stand_in["pid"]), 60, "the old stand-in to exit"
                )
                assert runtime_record(after) is None, "nothing of the stand-in remains"
            finally:
                meeting.close()
    finally:
        if stand_in is not None and process_alive(stand_in["pid"]):
            os.kill(stand_in["pid"], signal.SIGKILL)
