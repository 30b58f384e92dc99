"""A member toggling its camera or its hand in a burst, and what another member of the
room receives of it: the helpers of the state-coalescing tests (memory and Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

from .client import Client
from .traffic import big_signal, drain

# Within the default message burst (1000), so none of them is rate-limited.
TOGGLES = 1000


async def toggle(client: Client, field: str, times: int = TOGGLES) -> None:
    """Send ``times`` states flipping ``field``, starting with off (a no-op when it is off
    already) and ending with on (``times`` is even), written back to back as a loop in a
    notebook would."""
    assert times % 2 == 0
    await asyncio.gather(
        *(client.send({"type": "state", "state": {field: n % 2 == 1}}) for n in range(times))
    )


def states_of(frames: list[dict[str, Any]], peer_id: str) -> list[dict[str, Any]]:
    """The ``peer-state`` frames about ``peer_id`` in ``frames``; nothing else may be
    there but signals and chat (which these tests send)."""
    others = [f for f in frames if f["type"] not in ("peer-state", "signal", "chat")]
    assert not others, others[:3]
    return [f for f in frames if f["type"] == "peer-state" and f["id"] == peer_id]


def shown(state: dict[str, Any], field: str) -> bool:
    """Whether ``field`` is on in ``state`` (a raised hand is its stamp, a number)."""
    value = state.get(field)
    if field == "hand":
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value is True


async def fill_until_refused(sender: Client, victim: Client, most: int = 400) -> int:
    """Send large signals to ``victim`` (which does not read) until its server refuses
    one as ``peer-unavailable``: the kernel's buffers and its mailbox are full. How many
    were accepted."""
    for seq in range(most):
        await sender.send(big_signal(victim.id, 0, seq))
        if seq % 16 == 15:
            replies = await drain(sender, quiet=0.2)
            if replies:
                assert all(r.get("code") == "peer-unavailable" for r in replies), replies
                return seq + 1 - len(replies)
    raise AssertionError(f"{most} signals of 64 KiB never filled the victim's mailbox")
