"""Hands received media to the kernel peer's iterators and callbacks.

Each iterator gets a small bounded queue; when a consumer falls behind, its oldest item
is dropped, so a slow notebook cell sees the freshest frames and memory stays flat.
Items are converted (decoded picture to numpy) only when somebody wants them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

log = logging.getLogger("nbconference")

T = TypeVar("T")


class Subscription(Generic[T]):
    """One consumer: an async iterator over items, optionally from one peer only."""

    def __init__(self, fanout: Fanout[T], peer: str | None, maxsize: int) -> None:
        self.peer = peer
        self._fanout = fanout
        self._queue: asyncio.Queue[T | None] = asyncio.Queue(maxsize)
        self.ended = False

    def offer(self, item: T) -> None:
        if self.ended:
            return
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(item)

    def end(self) -> None:
        """No more items: the iterator stops once the queued ones are consumed."""
        if not self.ended:
            self.ended = True
            if self._queue.empty():
                self._queue.put_nowait(None)  # wakes a consumer waiting on the empty queue

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        item = None if self.ended and self._queue.empty() else await self._queue.get()
        if item is None:
            self._fanout.unsubscribe(self)
            raise StopAsyncIteration
        return item

    def close(self) -> None:
        """Stop receiving (iterating afterwards ends at once)."""
        self._fanout.unsubscribe(self)
        self.end()


class Fanout(Generic[T]):
    """Items of one kind (camera frames, screen frames, audio) from every peer.

    ``on_change`` is told whenever who is wanted may have changed (a subscription or a
    callback came or went), so that peers are asked for just what is consumed.
    """

    def __init__(self, maxsize: int, on_change: Callable[[], object] | None = None) -> None:
        self._maxsize = maxsize
        self._on_change = on_change
        self._subscriptions: list[Subscription[T]] = []
        self._callbacks: list[Callable[[T], object]] = []
        self._ended = False

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def wanted(self, peer: str) -> bool:
        """Whether anyone would receive an item from ``peer`` (skip converting if not)."""
        return bool(self._callbacks) or any(
            s.peer is None or s.peer == peer for s in self._subscriptions
        )

    def subscribe(self, peer: str | None = None) -> Subscription[T]:
        subscription = Subscription(self, peer, self._maxsize)
        if self._ended:
            subscription.end()
        else:
            self._subscriptions.append(subscription)
            self._changed()
        return subscription

    def unsubscribe(self, subscription: Subscription[T]) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
            self._changed()

    def add_callback(self, callback: Callable[[T], object]) -> Callable[[], None]:
        """Call ``callback(item)`` for every item; returns a function that removes it."""
        self._callbacks.append(callback)
        self._changed()

        def remove() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)
                self._changed()

        return remove

    def publish(self, peer: str, item: T) -> None:
        for subscription in self._subscriptions:
            if subscription.peer is None or subscription.peer == peer:
                subscription.offer(item)
        for callback in list(self._callbacks):
            try:
                callback(item)
            except Exception:
                # A failing callback must not stop media for everyone else.
                log.exception("nbconference: media callback %r failed", callback)

    def end_peer(self, peer: str) -> None:
        """``peer`` left: its own iterators end, the others keep going."""
        for subscription in [s for s in self._subscriptions if s.peer == peer]:
            subscription.end()
            self.unsubscribe(subscription)

    def end(self) -> None:
        """We left: every iterator ends."""
        self._ended = True
        for subscription in self._subscriptions:
            subscription.end()
        self._subscriptions.clear()
        self._callbacks.clear()
        self._changed()
