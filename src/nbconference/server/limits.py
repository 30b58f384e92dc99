"""Counters behind the signaling limits: message and join rates per socket, and open
sockets per user or address (which also tell ``nbconference serve --idle-exit`` when the
server is idle)."""

from __future__ import annotations

import time


class RateLimiter:
    """A token bucket: ``rate`` tokens per second with bursts up to ``burst``."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    tokens: float

    def __init__(self, rate: float, burst: float) -> None:
        # Stored as given: every socket's limiter then shares the same number objects.
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def allow(self, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens (one event, or a number of bytes) if there are enough."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


class SocketCounts:
    """Open signaling sockets by key (an authenticated user, or a remote address)."""

    def __init__(self) -> None:
        self._by_key: dict[str, int] = {}
        self.total = 0
        self.idle_since = time.monotonic()

    def admit(self, key: str, cap: int) -> bool:
        """Count one more socket for ``key``, unless it has ``cap`` already (0: no cap)."""
        held = self._by_key.get(key, 0)
        if cap and held >= cap:
            return False
        self._by_key[key] = held + 1
        self.total += 1
        return True

    def release(self, key: str) -> None:
        held = self._by_key.pop(key, 0) - 1
        if held > 0:
            self._by_key[key] = held
        self.total -= 1
        if self.total == 0:
            self.idle_since = time.monotonic()

    def held(self, key: str) -> int:
        return self._by_key.get(key, 0)
