"""The two connections of the ``redis`` backend: one ordered writer, one subscriber.

Both outlive a Redis restart. The writer reports every write it could not make to the
one who asked for it; the subscriber reconnects, resubscribes, and says when it lost
and regained the stream, so the backend can resynchronise what it may have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import ResponseError

from ...protocol import utf8_size
from .base import BackendUnavailable
from .redis_defaults import REDIS_MAX_QUEUED_BYTES

log = logging.getLogger("nbconference")

Failure = Callable[[str], None]


_background: set[asyncio.Task[Any]] = set()


def _spawn(work: Awaitable[Any]) -> None:
    """Run ``work`` in the background, holding the task (the loop only keeps weak ones)."""
    task = asyncio.ensure_future(work)
    _background.add(task)
    task.add_done_callback(_background.discard)


def describe(exc: BaseException) -> str:
    """A short reason for a Redis failure, for users and logs."""
    text = str(exc) or type(exc).__name__
    return f"Redis is unreachable ({text})"


class _Write:
    __slots__ = ("command", "future", "on_failure", "size", "unheard")

    def __init__(
        self,
        command: tuple[Any, ...],
        on_failure: Failure | None,
        future: asyncio.Future[Any] | None,
        unheard: str | None,
    ) -> None:
        self.command = command
        self.on_failure = on_failure
        self.future = future
        self.unheard = unheard
        # What it holds in memory until written, near enough (scripts are shared).
        self.size = 64 + sum(
            utf8_size(arg) if isinstance(arg, str) else len(arg)
            for arg in command[2:]
            if isinstance(arg, str | bytes)
        )

    def fail(self, reason: str) -> None:
        if self.on_failure is not None:
            self.on_failure(reason)
        if self.future is not None and not self.future.done():
            self.future.set_exception(BackendUnavailable(reason))

    def finish(self, result: Any) -> None:
        if isinstance(result, Exception):
            self.fail(f"Redis refused a write ({result})")
        elif self.unheard is not None and result == 0:
            # PUBLISH counts its receivers: nobody listening means nobody got it.
            self.fail(self.unheard)
        elif self.future is not None and not self.future.done():
            self.future.set_result(result)


class Outbox:
    """One ordered queue of writes, drained by one task that pipelines them.

    Everything this process writes goes through here, on one connection, so events keep
    the order in which they were handed over. Commands are pipelined on a bare redis-py
    connection: a whole batch is one socket write, and each reply is matched to its
    write; writes whose reply never came are reported failed.
    """

    def __init__(
        self,
        make_connection: Callable[[], Any],
        max_queued: int = 20_000,
        batch_size: int = 512,
        max_queued_bytes: int = REDIS_MAX_QUEUED_BYTES,
    ) -> None:
        self._make_connection = make_connection
        self._connection: Any = None
        self._queue: deque[_Write] = deque()
        self._queued_bytes = 0
        self._max_queued_bytes = max_queued_bytes
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._max_queued = max_queued
        self._batch_size = batch_size
        self._task: asyncio.Task[None] | None = None
        self._busy_since = 0.0
        self._stalled = ""

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._drain())

    def publish(
        self, channel: str, payload: str, on_failure: Failure, unheard: str | None = None
    ) -> None:
        """PUBLISH; ``unheard`` is reported through ``on_failure`` if nobody received it."""
        self._put(_Write(("PUBLISH", channel, payload), on_failure, None, unheard))

    def script(
        self,
        source: str,
        keys: list[str],
        args: list[Any],
        on_failure: Failure | None = None,
        want_result: bool = False,
    ) -> asyncio.Future[Any] | None:
        """EVAL ``source``; the future (if wanted) fails with BackendUnavailable."""
        future = asyncio.get_running_loop().create_future() if want_result else None
        self._put(_Write(("EVAL", source, len(keys), *keys, *args), on_failure, future, None))
        return future

    def _put(self, write: _Write) -> None:
        if self._task is None or self._task.done():
            write.fail("the Redis backend is not running")
        elif (
            len(self._queue) >= self._max_queued
            or self._queued_bytes + write.size > self._max_queued_bytes
        ):
            write.fail(
                f"Redis is not keeping up ({len(self._queue)} writes, "
                f"{self._queued_bytes} bytes queued)"
            )
        else:
            self._queued_bytes += write.size
            self._queue.append(write)
            self._idle.clear()
            self._wake.set()

    def check_stalled(self, limit: float) -> None:
        """Drop the connection if a batch has waited ``limit`` seconds for its replies."""
        if self._busy_since and time.monotonic() - self._busy_since > limit:
            self._stalled = f"Redis did not answer for {limit:.0f} s"
            if self._connection is not None:
                _spawn(self._connection.disconnect(nowait=True))

    async def flush(self, timeout: float) -> None:
        """Wait until everything queued so far was written (or failed)."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while self._queue:
            self._queue.popleft().fail("the server is shutting down")
        self._queued_bytes = 0
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.disconnect()

    async def _drain(self) -> None:
        while True:
            if not self._queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            count = min(len(self._queue), self._batch_size)
            batch = [self._queue.popleft() for _ in range(count)]
            settled = 0
            self._busy_since = time.monotonic()
            try:
                if self._connection is None:
                    self._connection = self._make_connection()
                connection = self._connection
                packed = connection.pack_commands([write.command for write in batch])
                await connection.send_packed_command(packed, check_health=False)
                for write in batch:
                    try:
                        result = await connection.read_response()
                    except ResponseError as exc:
                        result = exc
                    settled += 1
                    _settle(write, result)
            except asyncio.CancelledError:
                for write in batch[settled:]:
                    write.fail("the server is shutting down")
                raise
            except Exception as exc:
                # Writes answered before the failure went through; the rest may or may
                # not have reached Redis, and their senders are told so.
                reason = self._stalled or describe(exc)
                for write in batch[settled:]:
                    write.fail(reason)
                if self._connection is not None:
                    with contextlib.suppress(Exception):
                        await self._connection.disconnect(nowait=True)
            finally:
                self._busy_since, self._stalled = 0.0, ""
                self._queued_bytes -= sum(write.size for write in batch)


def _settle(write: _Write, result: Any) -> None:
    try:
        write.finish(result)
    except Exception:
        log.exception("nbconference: reporting a Redis write failed")


MessageHandler = Callable[[str, bytes], Awaitable[None] | None]


class Subscriber:
    """One pub/sub connection that reconnects and resubscribes after a Redis restart.

    ``on_message(channel, data)`` may return an awaitable: reading pauses until it is
    done, which lets the backend line the stream up with a join it is completing.
    ``on_ready`` is called each time every channel is subscribed (again), ``on_lost``
    when the connection dropped: messages published in between were missed.
    """

    def __init__(
        self,
        client: Any,
        on_message: MessageHandler,
        on_ready: Callable[[], None],
        on_lost: Callable[[str], None],
    ) -> None:
        self._client = client
        self._on_message = on_message
        self._on_ready = on_ready
        self._on_lost = on_lost
        self._wanted: set[str] = set()
        self._confirmed: set[str] = set()
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._pubsub: Any = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        self.last_error = "not connected yet"
        self._dropped = ""
        self.last_heard = time.monotonic()

    def start(self, channels: set[str]) -> None:
        self._wanted |= channels
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def check_alive(self, silence: float) -> None:
        """Drop a connection that heard nothing for ``silence`` seconds, so it reconnects.

        The backend publishes a heartbeat to its own channel, so a quiet connection is a
        dead one (a network that drops packets without resetting the connection).
        """
        if self._pubsub is None or time.monotonic() - self.last_heard < silence:
            return
        self._dropped = f"Redis is unreachable (nothing heard for {silence:.0f} s)"
        connection = self._pubsub.connection
        if connection is not None:
            _spawn(connection.disconnect(nowait=True))

    async def subscribe(self, channel: str, timeout: float) -> None:
        """Subscribe and wait until Redis confirmed it, or raise BackendUnavailable."""
        self._wanted.add(channel)
        if channel in self._confirmed:
            return
        waiter = self._waiters.get(channel)
        if waiter is None:
            waiter = self._waiters[channel] = asyncio.get_running_loop().create_future()
            # Without a connection, the next (re)connection subscribes to every wanted channel.
            async with self._lock:
                if self._pubsub is not None:
                    with contextlib.suppress(Exception):
                        await self._pubsub.subscribe(channel)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except asyncio.TimeoutError:
            raise BackendUnavailable(self.last_error) from None

    def unsubscribe(self, channel: str) -> None:
        self._wanted.discard(channel)
        self._confirmed.discard(channel)
        waiter = self._waiters.pop(channel, None)
        if waiter is not None and not waiter.done():
            waiter.cancel()
        if self._pubsub is not None:
            _spawn(self._send_unsubscribe(channel))

    async def _send_unsubscribe(self, channel: str) -> None:
        async with self._lock:
            if self._pubsub is not None and channel not in self._wanted:
                with contextlib.suppress(Exception):
                    await self._pubsub.unsubscribe(channel)

    async def _run(self) -> None:
        delay = 0.05
        while True:
            pubsub = self._client.pubsub()
            try:
                async with self._lock:
                    await pubsub.subscribe(*sorted(self._wanted))
                    self._pubsub = pubsub
                    self.last_heard = time.monotonic()
                await self._read(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = self._dropped or describe(exc)
            finally:
                self._dropped = ""
                self._pubsub = None
                self._confirmed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            if self.ready.is_set():
                self.ready.clear()
                delay = 0.05
                log.warning("nbconference: lost Redis pub/sub: %s; reconnecting", self.last_error)
                self._on_lost(self.last_error)
            await asyncio.sleep(delay)
            delay = min(1.0, delay * 2)

    async def _read(self, pubsub: Any) -> None:
        while True:
            response = await pubsub.parse_response(block=True)
            self.last_heard = time.monotonic()
            kind = response[0]
            if kind == b"message":
                waiter = self._on_message(response[1].decode(), response[2])
                if waiter is not None:
                    await waiter
            elif kind == b"subscribe":
                self._confirm(response[1].decode())

    def _confirm(self, channel: str) -> None:
        if channel not in self._wanted:
            return
        self._confirmed.add(channel)
        waiter = self._waiters.pop(channel, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if not self.ready.is_set() and self._wanted <= self._confirmed:
            self.ready.set()
            log.info("nbconference: Redis pub/sub connected")
            self._on_ready()
