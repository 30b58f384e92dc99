"""A set of participants on one Lab: notebooks with a widget cell, opened and joined."""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Sequence

from playwright.sync_api import Browser, BrowserContext, Error

from . import probes
from .lab import JupyterLab
from .pages import VIEWPORT, Participant, begin_open, finish_open
from .polling import wait_until

JOIN_TIMEOUT = 60.0


# What a participant's kernel tells its browsers about where to join, and how it found out.
KERNEL_WORD = (
    "{**{k: v for k, v in w.signaling_message().items() if k != 'token'}, "
    "'planning': w._planning is not None}"
)


def widget_cells(room: str, name: str, **options: object) -> list[str]:
    """The notebook a participant runs: make the widget, show it.

    The widget joins with no click (``prejoin=False``) unless ``options`` say otherwise:
    the tests of the pre-join panel pass ``prejoin=True``."""
    options = {"prejoin": False, **options}
    arguments = ", ".join(f"{key}={value!r}" for key, value in options.items())
    arguments = f", {arguments}" if arguments else ""
    return [
        "from nbconference import ConferenceWidget",
        f"w = ConferenceWidget(room={room!r}, name={name!r}{arguments})\nw",
    ]


class Meeting:
    """Opens participants for one test and closes every page and kernel afterwards.

    ``viewport`` is the size of every page it opens (see :data:`support.pages.VIEWPORT`).
    """

    def __init__(
        self,
        browser: Browser,
        lab: JupyterLab,
        label: str,
        viewport: tuple[int, int] = VIEWPORT,
    ) -> None:
        self.browser = browser
        self.lab = lab
        self.viewport = viewport
        self.label = re.sub(r"[^A-Za-z0-9-]", "-", label)[:40]
        self.participants: list[Participant] = []

    def room(self, suffix: str = "") -> str:
        """A room name no other test uses (ghost peers of another test stay out)."""
        stem = f"{self.label}-{suffix}" if suffix else self.label
        return f"{stem[:56]}-{secrets.token_hex(3)}"

    def open(
        self,
        notebooks: Sequence[tuple[str, Sequence[str]]],
        run_all: bool = True,
        init_script: str | None = None,
    ) -> list[Participant]:
        """Write and open ``(name, cells)`` notebooks, loading the pages side by side."""
        opened: list[Participant] = []
        for name, cells in notebooks:
            notebook = self.lab.write_notebook(f"{self.label}-{name}.ipynb", cells)
            participant = begin_open(
                self.browser,
                self.lab,
                notebook,
                name,
                init_script=init_script,
                viewport=self.viewport,
            )
            self.participants.append(participant)
            opened.append(participant)
        for participant in opened:
            finish_open(participant, run_all)
        return opened

    def notebook(self, name: str, cells: Sequence[str]) -> str:
        """Write a notebook of this test's own; returns its file name."""
        return self.lab.write_notebook(f"{self.label}-{name}.ipynb", cells)

    def visit(
        self,
        notebook: str,
        name: str,
        run_all: bool = False,
        person: str | None = None,
        context: BrowserContext | None = None,
        init_script: str | None = None,
    ) -> Participant:
        """Open ``notebook`` (written already) as ``name``: a new browser, or another tab
        of ``context``; ``person`` is who Jupyter says they are (NamedPeople)."""
        participant = begin_open(
            self.browser,
            self.lab,
            notebook,
            name,
            init_script=init_script,
            person=person,
            context=context,
            viewport=self.viewport,
        )
        self.participants.append(participant)
        finish_open(participant, run_all)
        return participant

    def join(self, room: str, names: Sequence[str], **options: object) -> list[Participant]:
        """Open one page per name, each showing a widget for ``room``; wait until joined."""
        people = self.open([(name, widget_cells(room, name, **options)) for name in names])
        for person in people:
            wait_for_join(person)
        return people

    def uncaught_errors(self) -> list[str]:
        """Errors thrown uncaught in any page so far (ResizeObserver noise aside)."""
        for person in self.participants:
            # Playwright's sync API delivers page events only while it is called.
            with contextlib.suppress(Error):
                person.page.wait_for_timeout(50)
        return [
            error
            for person in self.participants
            for error in person.console_errors
            if " page error: " in error and "ResizeObserver" not in error
        ]

    def close(self) -> None:
        for participant in self.participants:
            participant.close()
        self.participants.clear()
        with contextlib.suppress(OSError):
            self.lab.shutdown_sessions()


def wait_for_join(participant: Participant, timeout: float = JOIN_TIMEOUT) -> str:
    """Wait for the widget to say it joined; remembers and returns its peer id."""
    try:
        participant.peer_id = wait_until(
            lambda: probes.joined_peer_id(participant), timeout, f"{participant.name} to join"
        )
    except AssertionError as exc:
        with contextlib.suppress(Error):
            exc.add_note(f"widgets on the page: {probes.roots(participant)}")
        with contextlib.suppress(Exception):
            # Where the kernel told the browsers to join (the token left out).
            word = participant.value(KERNEL_WORD, timeout=10)
            exc.add_note(f"the kernel's word on signaling: {word}")
        exc.add_note("\n".join(participant.console_errors[-20:]))
        raise
    return participant.peer_id
