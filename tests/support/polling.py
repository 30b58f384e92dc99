"""Waiting for a condition: the one polling helper, for plain and for asyncio tests.

Both say what was last seen when they give up, so a timeout reads as a finding rather
than as "timed out".
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
# NBC_TEST_TRACE=1 prints how long each wait took (run pytest with -s to see it).
TRACE = os.environ.get("NBC_TEST_TRACE") == "1"


class GiveUp(Exception):
    """Raised by a probe to end the wait at once (e.g. the server died)."""


def trace(what: str, since: float) -> None:
    """With NBC_TEST_TRACE=1, print how long ``what`` took since ``since`` (monotonic)."""
    if TRACE:
        print(f"[{time.monotonic() - since:5.1f} s] {what}", file=sys.stderr)


def _timed_out(what: str, timeout: float, last: object, error: BaseException | None) -> str:
    detail = f"{error!r}" if error is not None else f"last seen: {last!r}"
    return f"timed out after {timeout:g} s waiting for {what}; {detail}"


def wait_until(
    probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.1
) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds.

    An exception from the probe counts as "not yet" (and is reported if time runs out),
    except :class:`GiveUp`, which ends the wait at once.
    """
    started = time.monotonic()
    deadline = started + timeout
    while True:
        error: BaseException | None = None
        try:
            value = probe()
        except GiveUp:
            raise
        except Exception as exc:
            value, error = None, exc
        if value:
            trace(what, started)
            return value
        if time.monotonic() > deadline:
            raise AssertionError(_timed_out(what, timeout, value, error))
        time.sleep(interval)


async def eventually(
    probe: Callable[[], T | Awaitable[T | None] | None],
    timeout: float,
    what: str,
    interval: float = 0.05,
) -> T:
    """:func:`wait_until` for asyncio tests: ``probe`` may be sync or async."""
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    deadline = loop.time() + timeout
    while True:
        error: BaseException | None = None
        try:
            value = probe()
            if inspect.isawaitable(value):
                value = await value
        except GiveUp:
            raise
        except Exception as exc:
            value, error = None, exc
        if value:
            trace(what, started)
            return value  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(_timed_out(what, timeout, value, error))
        await asyncio.sleep(interval)


async def holds(
    probe: Callable[[], object], duration: float, what: str, interval: float = 0.1
) -> None:
    """Check that ``probe`` stays truthy for ``duration`` seconds, failing the moment it is
    not; the event loop runs meanwhile. For what must *not* happen within a time."""
    loop = asyncio.get_running_loop()
    end = loop.time() + duration
    while True:
        if not probe():
            raise AssertionError(
                f"{what}: no longer true after {duration - (end - loop.time()):.1f} s"
            )
        if loop.time() >= end:
            return
        await asyncio.sleep(min(interval, max(0.0, end - loop.time())))
