"""The connection of one server to Redis, and the presence of its peers there.

Each process has a random server id, one ordered writer (every event it publishes keeps
its order) and one subscriber (its own signal channel, plus the channel of every room it
has peers in). Presence is an expiry time per member that each server extends every few
seconds; a server that dies stops extending it, and the next sweep by any live server of
the room announces its peers' departure, once. The same refresh publishes a snapshot of
each room, at a known point of its event stream (see redis.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from abc import abstractmethod
from collections.abc import Awaitable, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import redis_scripts as lua
from . import redis_settings as shared
from .base import Backend, BackendUnavailable, EventKind, EventSink, PeerInfo
from .redis_events import heartbeat, lost_event
from .redis_link import Outbox, Subscriber
from .redis_view import RoomView

log = logging.getLogger("nbconference")

# How soon a server that could not compare its settings with Redis's record tries again.
AGREE_RETRY_SECONDS = 0.2


class RedisPresence(Backend):
    """The base of :class:`~.redis.RedisBackend`: connecting, refreshing the presence of
    this server's peers, and what to do when the event stream was lost or came back."""

    def __init__(
        self,
        url: str,
        presence_ttl: float,
        prefix: str,
        timeout: float,
        max_queued_bytes: int,
        shared_settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.url = url
        # The settings all servers sharing this Redis must agree on (redis_settings.py);
        # None: not checked. ``refused`` says why joins fail when they did not agree.
        self._shared = shared.shared_record(shared_settings) if shared_settings else ""
        self._agreed = False
        self._agree_late = False  # Redis was unreachable when we started
        self.refused = ""
        self.max_queued_bytes = max_queued_bytes
        self._stream_lost = False
        self.server_id = secrets.token_hex(8)
        self.prefix = prefix
        self.ttl_ms = max(1000, int(presence_ttl * 1000))
        self.refresh_seconds = min(5.0, self.ttl_ms / 3000)
        self.timeout = timeout
        self._own_channel = lua.server_channel(prefix, self.server_id)
        self._views: dict[str, RoomView] = {}
        self._local: dict[str, tuple[str, PeerInfo]] = {}
        self._sink: EventSink = lambda event: None
        self._client: Any = None
        self._writer_pool: Any = None
        self._outbox: Outbox | None = None
        self._subscriber: Subscriber | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._agreeing: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self, sink: EventSink) -> None:
        """Connect; a Redis that is down now is retried, and joins fail until it is up."""
        self._sink = sink
        # No retries inside redis-py: a failed write is reported, never replayed twice.
        options: dict[str, Any] = {
            "retry": Retry(NoBackoff(), 0),
            "socket_connect_timeout": self.timeout,
            "protocol": 2,
        }
        self._client = aioredis.from_url(self.url, socket_timeout=self.timeout, **options)
        # The writer's replies are awaited without a per-read timer (they cost more than
        # the write); a stalled batch is caught by check_stalled from the refresh loop.
        self._writer_pool = aioredis.ConnectionPool.from_url(self.url, **options)
        self._outbox = Outbox(
            self._writer_pool.make_connection, max_queued_bytes=self.max_queued_bytes
        )
        self._outbox.start()
        self._subscriber = Subscriber(
            self._client, self._on_message, self._on_reconnected, self._on_lost
        )
        self._subscriber.start({self._own_channel})
        self._refresher = asyncio.get_running_loop().create_task(self._refresh_forever())
        try:
            # Short: a Jupyter server must not hang at start because Redis is down.
            await asyncio.wait_for(self._subscriber.ready.wait(), min(self.timeout, 2.0))
        except asyncio.TimeoutError:
            log.warning(
                "nbconference: %s; joins fail until it is reachable",
                self._subscriber.last_error,
            )
            self._compare_later()
            return
        try:
            await self._agree()
        except shared.ReplicasDisagree:
            await self.stop()
            raise
        except BackendUnavailable as error:
            log.warning("nbconference: could not compare settings in Redis yet: %s", error)
            self._compare_later()

    async def _agree(self) -> None:
        """Record our shared settings in Redis, or compare them with those recorded there
        (ReplicasDisagree, also kept in ``refused``, when they differ)."""
        if not self._shared or self._agreed or self._outbox is None:
            return
        key = shared.settings_key(self.prefix)
        args = [self._shared, self.ttl_ms]
        recorded = await self._wait(
            self._outbox.script(shared.AGREE, [key], args, want_result=True)
        )
        recorded = recorded.decode() if isinstance(recorded, bytes) else str(recorded)
        if recorded != self._shared:
            self.refused = shared.disagreement(self._shared, recorded, self.url, key)
            raise shared.ReplicasDisagree(self.refused)
        self._agreed, self._agree_late = True, False

    def _compare_later(self) -> None:
        self._agree_late = True
        self._agreeing = asyncio.get_running_loop().create_task(self._agree_once_reachable())

    async def _compared(self, patience: float) -> None:
        """Wait (at most ``patience`` seconds) for a comparison still under way."""
        if self._agreeing is not None and not self._agreeing.done():
            await asyncio.wait({self._agreeing}, timeout=patience)

    async def _agree_once_reachable(self) -> None:
        """The comparison for a server that could not make it at start (Redis was
        unreachable): it cannot refuse to start any more, so it refuses every join until
        it compared, and for good (saying why) if the settings differ."""
        while self._agree_late:
            try:
                await self._agree()
            except shared.ReplicasDisagree as error:
                self._agree_late = False
                log.error("%s", error)
            except BackendUnavailable as error:
                log.debug("nbconference: could not compare settings in Redis yet: %s", error)
                await asyncio.sleep(AGREE_RETRY_SECONDS)

    async def stop(self) -> None:
        if self._agreeing is not None:
            self._agreeing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._agreeing
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        if self._outbox is not None:
            await self._outbox.flush(self.timeout)
            await self._outbox.close()
        if self._subscriber is not None:
            await self._subscriber.close()
        if self._client is not None:
            await self._client.aclose()
        if self._writer_pool is not None:
            await self._writer_pool.disconnect()
        self._views.clear()
        self._local.clear()

    @abstractmethod
    def _on_message(self, channel: str, data: bytes) -> Awaitable[None] | None:
        """An event on one of our channels; an awaitable holds the stream until done."""

    def _running(self) -> tuple[Outbox, Subscriber]:
        if self.refused:
            raise BackendUnavailable(self.refused)
        if self._agree_late:
            # No room of ours until we know we agree with the servers sharing Redis.
            raise BackendUnavailable("comparing settings with the servers sharing Redis")
        if self._outbox is None or self._subscriber is None:
            raise BackendUnavailable("the Redis backend is not started")
        return self._outbox, self._subscriber

    def _keys(self, room: str) -> list[str]:
        return [
            lua.members_key(self.prefix, room),
            lua.records_key(self.prefix, room),
            lua.sfu_key(self.prefix, room),
            lua.hosts_key(self.prefix, room),
        ]

    async def _wait(self, future: Awaitable[Any] | None) -> Any:
        assert future is not None
        try:
            return await asyncio.wait_for(future, self.timeout + 1)
        except asyncio.TimeoutError:
            raise BackendUnavailable("Redis did not answer in time") from None

    # -- presence ----------------------------------------------------------------------

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            self._refresh_all()

    def _refresh_all(self) -> None:
        """Extend our peers' presence, sweep expired members, publish room snapshots."""
        if self._outbox is None or self._subscriber is None:
            return
        self._outbox.publish(self._own_channel, heartbeat(self.server_id), self._refresh_failed)
        if self._agreed:
            # Renewed with our presence: it expires once no server of ours is left.
            key = shared.settings_key(self.prefix)
            renew = [self._shared, self.ttl_ms]
            self._outbox.script(shared.AGREE, [key], renew, self._refresh_failed)
        self._subscriber.check_alive(max(3 * self.refresh_seconds, 2 * self.timeout))
        self._outbox.check_stalled(self.timeout)
        for room, view in self._views.items():
            peers = [self._local[pid][1] for pid in view.local if pid in self._local]
            if not peers:
                continue
            args: list[Any] = [self.ttl_ms, view.channel, lua.frame_head("", EventKind.LEFT, room)]
            args += [lua.frame_head(self.server_id, EventKind.JOINED, room)]
            args += [lua.frame_head(self.server_id, "sync", room)]
            for info in peers:
                args += [info["id"], lua.record(info, self.server_id)]
            self._outbox.script(lua.REFRESH, self._keys(room), args, self._refresh_failed)

    def _refresh_failed(self, reason: str) -> None:
        log.debug("nbconference: presence refresh failed: %s", reason)

    def _on_reconnected(self) -> None:
        # Redis may have restarted empty: put our peers back at once, not in a few seconds.
        # The refresh's snapshots repair our view of every room.
        self._refresh_all()
        if self._stream_lost:
            self._stream_lost = False
            self._announce_lost()

    def _on_lost(self, reason: str) -> None:
        self._stream_lost = True

    def _announce_lost(self) -> None:
        """Tell every room we have peers in that signals to them may have been lost.

        Redis drops a subscriber whose output buffer overflows (client-output-buffer-limit
        pubsub), and whatever it held for us is gone, though PUBLISH had counted us as a
        receiver: the senders must hear of it from us."""
        if self._outbox is None:
            return
        for room, view in self._views.items():
            if view.local:
                frame = lost_event(self.server_id, room, sorted(view.local))
                self._outbox.publish(view.channel, frame, self._refresh_failed)
