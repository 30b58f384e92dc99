"""Participants: one browser context and one JupyterLab page each, with fake devices."""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page, Playwright

from . import kernel
from .identity import PERSON_COOKIE
from .lab import JupyterLab
from .polling import trace, wait_until

CHROMIUM = "/usr/bin/chromium"
# Loading Lab takes ~5 s here, but heavy CPU contention on two cores have
# been seen to stretch it past a minute: a bound, not a wait.
PAGE_TIMEOUT = 120.0
# Fake camera, microphone and screen with no prompts; plain host candidates (no mDNS
# names) so every peer, browser or not, can reach them.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
# Width and height of every page. The widget sends video only to tiles on screen, so a
# test with more tiles than fit must ask for a taller page.
VIEWPORT = (1280, 900)


# Run in every context before the widget's bundle loads: the opt-in to the test hooks
# (js/test-hooks.js), which a user's page never has.
TEST_HOOKS_JS = "globalThis.__nbconferenceTest = true;"

# The page's Jupyter identity, as Lab's own user service reads it.
IDENTITY_JS = """
async () => {
  const config = JSON.parse(document.getElementById("jupyter-config-data").textContent);
  const response = await fetch(config.baseUrl + "api/me", { credentials: "same-origin" });
  return (await response.json()).identity;
}
"""


def chromium_args(cameras: int = 1) -> list[str]:
    """CHROMIUM_ARGS with ``cameras`` fake cameras (``fake_device_0``, ``fake_device_1``
    ...; see support/devices.py for how they differ), and as many fake microphones and
    speakers besides the default ones."""
    if cameras == 1:
        return list(CHROMIUM_ARGS)
    flag = f"--use-fake-device-for-media-stream=device-count={cameras}"
    return [flag if arg == "--use-fake-device-for-media-stream" else arg for arg in CHROMIUM_ARGS]


def launch_chromium(playwright: Playwright, args: list[str] = CHROMIUM_ARGS) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=args)


@dataclass
class Participant:
    """One person in a conference: a Lab page on ``notebook`` with its own kernel."""

    name: str
    lab: JupyterLab
    notebook: str
    context: BrowserContext
    page: Page
    console_errors: list[str] = field(default_factory=list)
    kernel_id: str = ""
    peer_id: str = ""
    # Another tab of an existing participant's browser: closing it closes the tab only.
    shares_context: bool = False

    def run(self, code: str, timeout: float = 30.0) -> str:
        """Run ``code`` in this participant's kernel; returns its stdout."""
        return kernel.execute(self.lab, self.kernel_id, code, timeout)

    def value(self, expression: str, timeout: float = 30.0) -> Any:
        """The JSON value of a Python expression in this participant's kernel."""
        return kernel.evaluate(self.lab, self.kernel_id, expression, timeout)

    def js(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def identity(self) -> dict[str, Any]:
        """Who Jupyter says this page's user is (``/api/me``): the name others see."""
        identity: dict[str, Any] = self.js(IDENTITY_JS)
        return identity

    def close(self) -> None:
        """Close the page as a user closing the tab would (no goodbye from the page), and
        its browser unless it is a second tab."""
        with contextlib.suppress(Error):
            if self.shares_context:
                self.page.close()
            else:
                self.context.close()


def new_page(
    browser: Browser,
    name: str,
    init_script: str | None = None,
    person: tuple[str, str] | None = None,
    context: BrowserContext | None = None,
    viewport: tuple[int, int] = VIEWPORT,
    test_hooks: bool = True,
) -> tuple[BrowserContext, Page, list[str]]:
    """A page collecting console errors, in a fresh context (own cookies and storage)
    unless ``context`` is given (another tab of the same browser).

    ``init_script`` runs in the page before any of Lab's own scripts. ``person`` is
    ``(server URL, name)``: the cookie that ``support.identity.NamedPeople`` reads.
    ``test_hooks=False`` leaves out the opt-in to the widget's test hooks, as a user's
    browser would.
    """
    if context is None:
        width, height = viewport
        context = browser.new_context(viewport={"width": width, "height": height})
        context.grant_permissions(["camera", "microphone"])
        if test_hooks:
            context.add_init_script(TEST_HOOKS_JS)
        if init_script:
            context.add_init_script(init_script)
        if person:
            url, who = person
            context.add_cookies([{"name": PERSON_COOKIE, "value": who, "url": url}])
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"[{name}] console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"[{name}] page error: {exc}{_origin(exc)}"))
    return context, page, errors


def _origin(error: Error) -> str:
    """Which script threw ``error`` (the top frame of its stack), to tell Jupyter's own
    errors from the widget's."""
    found = re.search(r"(https?://[^\s()]+?\.js)", error.stack or "")
    return f" (in {found.group(1)})" if found else ""


def kernel_ready(lab: JupyterLab, notebook: str) -> str | None:
    session = lab.session_for(notebook)
    if session is None:
        return None
    info = lab.kernel(session["kernel"]["id"])
    if info.get("execution_state") == "idle" and info.get("connections", 0) >= 1:
        return str(info["id"])
    return None


def _run_all_cells(page: Page) -> bool:
    """Click Run → Run All Cells once the item is enabled; False to try again."""
    page.locator(".jp-NotebookPanel .jp-Cell .jp-InputPrompt").first.click()
    page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
    item = page.locator('.lm-Menu-item:has(.lm-Menu-itemLabel:text-is("Run All Cells"))')
    item.wait_for(state="visible", timeout=5000)
    if "lm-mod-disabled" in (item.get_attribute("class") or ""):
        page.keyboard.press("Escape")
        return False
    item.click()
    return True


def in_the_way(page: Page) -> str:
    """What a JupyterLab dialog over the page says, so that a click it blocks fails with
    the dialog's words rather than only a timeout."""
    dialogs = page.locator(".jp-Dialog")
    texts = [text.strip() for text in dialogs.all_inner_texts() if text.strip()]
    return "; ".join(f"a dialog says {text!r}" for text in texts) or "no dialog is open"


def run_cell(participant: Participant, index: int, attempts: int = 3) -> None:
    """Run one cell (0-based ``index``) as a person would: select it, press Shift+Enter.

    Checked by its prompt, which shows ``[*]`` or a count once the cell runs; a key press
    that reached nothing (the page still settling) is tried again.
    """
    cell = participant.page.locator(".jp-NotebookPanel .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    ran = prompt.filter(has_text=re.compile(r"\[[0-9*]+\]"))
    for attempt in range(attempts):
        try:
            prompt.click()
        except Error as error:
            raise AssertionError(
                f"cannot click cell {index}: {in_the_way(participant.page)}"
            ) from error
        participant.page.keyboard.press("Shift+Enter")
        try:
            ran.wait_for(timeout=5000)
            return
        except Error:
            if attempt == attempts - 1:
                raise


def begin_open(
    browser: Browser,
    lab: JupyterLab,
    notebook: str,
    name: str | None = None,
    timeout: float = PAGE_TIMEOUT,
    init_script: str | None = None,
    person: str | None = None,
    context: BrowserContext | None = None,
    viewport: tuple[int, int] = VIEWPORT,
    test_hooks: bool = True,
) -> Participant:
    """Start loading ``notebook`` in a new page; :func:`finish_open` waits for it.

    Starting several pages before waiting on any lets their loads overlap. ``person``
    names the user (with ``support.identity.NamedPeople``); ``context`` opens the page
    as another tab of an existing participant's browser. ``test_hooks=False``: a page as
    a user's browser has it, without the widget's test hooks.
    """
    name = name or notebook.removesuffix(".ipynb")
    who = (lab.url, person) if person else None
    shared = context is not None
    context, page, errors = new_page(browser, name, init_script, who, context, viewport, test_hooks)
    participant = Participant(name, lab, notebook, context, page, errors)
    participant.shares_context = shared
    workspace = re.sub(r"[^A-Za-z0-9-]", "-", f"{name}-{time.monotonic_ns()}")
    try:
        page.goto(
            lab.notebook_url(notebook, workspace), wait_until="commit", timeout=timeout * 1000
        )
    except BaseException:
        participant.close()
        raise
    return participant


def finish_open(
    participant: Participant, run_all: bool = True, timeout: float = PAGE_TIMEOUT
) -> None:
    """Wait for the notebook's cells and an idle kernel, then run all cells.

    Clicking Run All the moment the toolbar says Idle is not reliable with several Lab
    pages on two cores (cells may run twice): wait until the server reports the kernel
    connected and idle, focus a cell, and check the menu item is enabled first.
    """
    page, lab, notebook = participant.page, participant.lab, participant.notebook
    started = time.monotonic()
    try:
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=timeout * 1000)
        trace(f"{notebook} shows its cells", started)
        participant.kernel_id = wait_until(
            lambda: kernel_ready(lab, notebook), timeout, f"the kernel of {notebook} idle"
        )
        page.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(
            timeout=timeout * 1000
        )
        if run_all:
            wait_until(lambda: _run_all_cells(page), timeout, "Run All Cells to be enabled", 0.5)
    except BaseException:
        participant.close()
        raise


def open_notebook(
    browser: Browser,
    lab: JupyterLab,
    notebook: str,
    name: str | None = None,
    run_all: bool = True,
    timeout: float = PAGE_TIMEOUT,
) -> Participant:
    """Open ``notebook`` in a new Lab page, wait for an idle kernel and run all cells."""
    participant = begin_open(browser, lab, notebook, name, timeout)
    finish_open(participant, run_all, timeout)
    return participant
