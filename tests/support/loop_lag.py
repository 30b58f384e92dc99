"""How long an asyncio loop is held up: a task that asks for short sleeps and measures
how late each one ends. A loop busy with one long callback makes the next tick late by
as much, whatever else it does."""

from __future__ import annotations

import asyncio
import time

TICK = 0.01


class LoopLag:
    """Measures the running loop's stalls from :meth:`start` to :meth:`stop`.

    ``worst`` is the longest a tick of ``TICK`` seconds ended late (seconds), ``ticks``
    how many ticks were measured.
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            asked = time.monotonic()
            await asyncio.sleep(TICK)
            self.worst = max(self.worst, time.monotonic() - asked - TICK)
            self.ticks += 1

    async def stop(self) -> float:
        """Stop measuring; the worst stall seen (seconds)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        return self.worst
