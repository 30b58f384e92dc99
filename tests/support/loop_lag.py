"""How long an asyncio loop is held up: a task that asks for short sleeps and measures
how late each one ends. A loop busy with one long callback makes the next tick late by
as much, whatever else it does.

On a shared machine a tick is also late when the process simply does not get a core
(seen: 270 ms for an idle loop at a load average of 40 on two cores), so the probe also
measures the CPU time the loop's thread spent between two ticks: the work that held the
loop, which the machine's load does not add to.
"""

from __future__ import annotations

import asyncio
import time

TICK = 0.01


class LoopLag:
    """Measures the running loop's stalls from :meth:`start` to :meth:`stop`.

    ``worst`` is the longest a tick of ``TICK`` seconds ended late (seconds, wall clock),
    ``worst_held`` the most CPU time the loop's thread spent within one tick and ``held``
    all it spent (seconds), ``ticks`` how many ticks were measured.
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self.worst_held = 0.0
        self.held = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            asked, cpu = time.monotonic(), time.thread_time()
            await asyncio.sleep(TICK)
            self.worst = max(self.worst, time.monotonic() - asked - TICK)
            spent = time.thread_time() - cpu
            self.worst_held = max(self.worst_held, spent)
            self.held += spent
            self.ticks += 1

    async def stop(self) -> float:
        """Stop measuring; the worst lateness seen (seconds)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        return self.worst

    def __str__(self) -> str:
        return (
            f"the loop was held {self.worst_held * 1000:.0f} ms at most (CPU time within"
            f" one tick), {self.held:.2f} s in all over {self.ticks} ticks; ticks ended up"
            f" to {self.worst * 1000:.0f} ms late"
        )
