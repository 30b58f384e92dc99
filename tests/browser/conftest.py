"""Fixtures for the browser tests: a real JupyterLab, Chromium with fake devices, and
participants (one browser context + one Lab page + one kernel each).

One Playwright and one Chromium serve every module of this package (starting them took
5 to 13 s per module on a loaded 2-core machine); each test still gets fresh browser
contexts, pages and kernels (``meeting``), so no test sees another's state.

Playwright's sync API marks its event loop as running in this thread for as long as it
lives, so nothing here may use asyncio, and the browser is package-scoped: it must be
gone before the asyncio tests of other modules run. The modules here with asyncio tests
(their own async Playwright) therefore run before the others of the package. For the
same reason the asyncio fixtures pytest-jupyter makes autouse are replaced here by plain
ones: these tests run Jupyter in a subprocess and have nothing of it to clean up
in-process.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

from support.coturn import Coturn, running_coturn
from support.lab import JupyterLab, running_lab
from support.meeting import Meeting
from support.pages import launch_chromium

CALL_FAILED = pytest.StashKey[bool]()
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run this package's modules that have asyncio tests first, while the shared sync
    Playwright is not started yet; the order is otherwise kept."""
    asyncio_modules = {
        item.path
        for item in items
        if HERE in item.path.parents and inspect.iscoroutinefunction(getattr(item, "obj", None))
    }
    if not asyncio_modules:
        return
    ours = [i for i, item in enumerate(items) if HERE in item.path.parents]
    block = [items[i] for i in ours]
    block.sort(key=lambda item: item.path not in asyncio_modules)  # stable
    for i, item in zip(ours, block, strict=True):
        items[i] = item


@pytest.fixture
def jp_asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    yield


@pytest.fixture(scope="session")
def default_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with running_lab(tmp_path_factory.mktemp("lab")) as lab:
        yield lab


@pytest.fixture(scope="module")
def jupyter_lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterLab]:
    """JupyterLab for this module: the shared one, or a server of its own when the module
    sets ``LAB_ARGS`` (e.g. ``["--NBConference.reconnect_grace_seconds=3"]``),
    ``LAB_COLLABORATIVE = True`` (real-time collaboration on), ``LAB_ENV`` (a dict of
    environment variables for the server and its kernels) or ``LAB_APP = "notebook"``
    (Jupyter Notebook 7 instead of JupyterLab)."""
    extra_args = getattr(request.module, "LAB_ARGS", ())
    collaborative = getattr(request.module, "LAB_COLLABORATIVE", False)
    env = getattr(request.module, "LAB_ENV", None)
    app = getattr(request.module, "LAB_APP", "jupyterlab")
    if not extra_args and not collaborative and not env and app == "jupyterlab":
        yield request.getfixturevalue("default_lab")
        return
    folder = tmp_path_factory.mktemp("lab")
    with running_lab(folder, extra_args, collaborative, app, env=env) as lab:
        yield lab


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = launch_chromium(playwright)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def meeting(
    browser: Browser, jupyter_lab: JupyterLab, request: pytest.FixtureRequest
) -> Iterator[Meeting]:
    """Opens participants for this test; closes their pages and kernels afterwards.

    A test that passed must also have thrown nothing uncaught in any page, bar errors of
    Jupyter's own the module names in ``KNOWN_PAGE_ERRORS`` (regular expressions).
    """
    known = [re.compile(pattern) for pattern in getattr(request.module, "KNOWN_PAGE_ERRORS", ())]
    current = Meeting(browser, jupyter_lab, request.node.name)
    try:
        yield current
        uncaught = [
            error
            for error in current.uncaught_errors()
            if not any(pattern.search(error) for pattern in known)
        ]
    finally:
        current.close()
    if not request.node.stash.get(CALL_FAILED, False):
        assert not uncaught, "uncaught errors in the pages:\n" + "\n".join(uncaught)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, add the pages' console errors to the report."""
    report = yield
    if call.when == "call":
        item.stash[CALL_FAILED] = report.failed
    current = getattr(item, "funcargs", {}).get("meeting")
    if call.when == "call" and report.failed and isinstance(current, Meeting):
        errors = [e for p in current.participants for e in p.console_errors]
        if errors:
            report.sections.append(("browser console errors", "\n".join(errors[-50:])))
    return report


@pytest.fixture(scope="module")
def coturn() -> Iterator[Coturn]:
    """A real coturn for the module (relay on 127.0.0.1, its own static-auth-secret)."""
    with running_coturn() as server:
        yield server
