"""Autoplay refused for real: a Chromium that requires a user gesture before playing sound,
and a notebook run without one (Lab's own command, called from a script). Chromium lets a
page that captures the microphone play sound anyway, so here the camera and microphone
are refused too, and the participant joins receive-only: the case where a browser really
keeps the others silent. The widget shows "Enable audio"; a click on it starts the voice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright

from support import probes
from support.lab import JupyterLab
from support.meeting import Meeting, widget_cells
from support.pages import CHROMIUM_ARGS, begin_open, kernel_ready, launch_chromium
from support.polling import wait_until

# window.jupyterapp, to run the cells without a click (a click would allow sound).
LAB_ARGS = ["--LabApp.expose_app_in_browser=True"]

# Sound needs a gesture; device prompts are not answered (so refused) rather than faked.
STRICT_AUTOPLAY = [
    *(
        arg
        for arg in CHROMIUM_ARGS
        if not arg.startswith(("--autoplay-policy=", "--use-fake-ui-for-media-stream"))
    ),
    "--autoplay-policy=document-user-activation-required",
]


@pytest.fixture
def strict_browser(playwright: Playwright) -> Iterator[Browser]:
    strict = launch_chromium(playwright, STRICT_AUTOPLAY)
    try:
        yield strict
    finally:
        strict.close()


# Read through the DevTools protocol: Playwright's own evaluate() and locators act as
# user gestures, and a single one would allow sound.
STATE_JS = """(() => {
  const joined = [...(globalThis.__nbconference?.conferences?.values() ?? [])]
    .filter((c) => c.status === "joined");
  const button = document.querySelector('.nbc-root [data-action="enable-audio"]');
  const sinks = joined.flatMap((c) => [...c.audio.sinks.values()]);
  return { joined: joined.length, button: button !== null && !button.hidden,
           sinks: sinks.length, playing: sinks.filter((s) => !s.paused).length,
           gesture: navigator.userActivation.hasBeenActive };
})()"""
RUN_ALL_JS = """(() => {
  const idle = document.querySelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]');
  if (!window.jupyterapp || !idle) return false;
  window.jupyterapp.commands.execute("notebook:run-all-cells");
  return true;
})()"""


def without_gesture(page: Page, expression: str) -> Any:
    cdp = page.context.new_cdp_session(page)
    try:
        reply = cdp.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
    finally:
        cdp.detach()
    return reply["result"].get("value")


def test_blocked_sound_waits_for_a_click_on_enable_audio(
    browser: Browser,
    strict_browser: Browser,
    jupyter_lab: JupyterLab,
    request: pytest.FixtureRequest,
) -> None:
    here = Meeting(browser, jupyter_lab, f"{request.node.name}-a")
    there = Meeting(strict_browser, jupyter_lab, f"{request.node.name}-b")
    try:
        room = here.room()
        (ada,) = here.join(room, ["ada"])
        notebook = jupyter_lab.write_notebook(f"{there.label}-bob.ipynb", widget_cells(room, "bob"))
        bob = begin_open(strict_browser, jupyter_lab, notebook, "bob")
        there.participants.append(bob)
        bob.context.clear_permissions()
        bob.kernel_id = wait_until(lambda: kernel_ready(jupyter_lab, notebook), 120, "bob's kernel")
        wait_until(lambda: without_gesture(bob.page, RUN_ALL_JS), 120, "bob's Run All")

        def bob_state() -> dict[str, Any]:
            state: dict[str, Any] = without_gesture(bob.page, STATE_JS)
            return state

        blocked = wait_until(
            lambda: (s := bob_state())["joined"] and s["sinks"] == 1 and s["button"] and s,
            60,
            "bob to join and say its sound is blocked",
        )
        assert blocked == {
            "joined": 1,
            "button": True,
            "sinks": 1,
            "playing": 0,
            "gesture": False,
        }, blocked
        bob.peer_id = str(bob.value("w.peer_id"))
        assert "receive-only" in str(bob.value("w.media_error"))
        wait_until(
            lambda: getattr(probes.media(ada).get(bob.peer_id), "connection", "") == "connected",
            30,
            "ada to connect to bob",
        )
        assert without_gesture(ada.page, STATE_JS)["button"] is False

        bob.page.locator('.nbc-root [data-action="enable-audio"]').click()
        wait_until(
            lambda: (
                bob_state()
                == {"joined": 1, "button": False, "sinks": 1, "playing": 1, "gesture": True}
            ),
            30,
            "ada's voice to play in bob's page after the click",
        )
        wait_until(
            lambda: probes.media(bob)[ada.peer_id].audio_packets > 0, 30, "ada's voice at bob"
        )
        uncaught = here.uncaught_errors() + there.uncaught_errors()
        assert not uncaught, "uncaught errors in the pages:\n" + "\n".join(uncaught)
    finally:
        here.close()
        there.close()
