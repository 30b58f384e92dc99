"""The ``redis`` backend: rooms that span Jupyter servers and standalone processes.

Needs ``nbconference[redis]``. Each process has a random server id, one ordered writer
(every event it publishes keeps its order) and one subscriber (its own signal channel,
plus the channel of every room it has peers in). Presence is an expiry time per member
that each server extends every few seconds; a server that dies stops extending it, and
the next sweep by any live server of the room announces its peers' departure, once.

The backend mirrors the members of other servers (``RoomView.remote``) from the same
event stream the registry sees. Snapshots published by the periodic refresh sit at a
known point of that stream, so a server that missed messages (Redis restarted, the
connection dropped) can tell what changed meanwhile and repair its view.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ...protocol import DEFAULT_CHAT_LIMITS, ChatLimits, encode, utf8_size
from ..limits import RateLimiter
from . import redis_chat
from . import redis_scripts as lua
from .base import (
    Backend,
    BackendUnavailable,
    EventKind,
    EventSink,
    PeerBusy,
    PeerInfo,
    RoomEvent,
    RoomFull,
)
from .redis_defaults import REDIS_BYTES_PER_PEER_PER_SECOND, REDIS_MAX_QUEUED_BYTES
from .redis_link import Outbox, Subscriber
from .redis_view import RoomView

log = logging.getLogger("nbconference")


@dataclass(eq=False)
class _PendingJoin:
    echo: asyncio.Future[None]
    admitted: asyncio.Future[None]


class RedisBackend(Backend):
    """Rooms in Redis: membership with a cap that holds across servers, events by pub/sub.

    ``presence_ttl`` (default: the reconnect grace) is how long a member outlives its
    server's last refresh; refreshes run every third of it.
    """

    def __init__(
        self,
        url: str,
        presence_ttl: float = 15.0,
        prefix: str = "nbconference",
        timeout: float = 5.0,
        max_queued_bytes: int = REDIS_MAX_QUEUED_BYTES,
        target_bytes_per_second: float = REDIS_BYTES_PER_PEER_PER_SECOND,
        max_message_bytes: int = 64 * 1024,
        chat_limits: ChatLimits = DEFAULT_CHAT_LIMITS,
    ) -> None:
        self.url = url
        self.chat_limits = chat_limits
        self._histories: dict[str, list[str]] = {}  # read with a join, until taken
        self.max_queued_bytes = max_queued_bytes
        # Signals to one peer may burst to two seconds' worth (and always one message).
        self.target_rate = target_bytes_per_second
        self.target_burst = max(2 * target_bytes_per_second, max_message_bytes + 1024)
        self._budgets: dict[str, RateLimiter] = {}
        self._stream_lost = False
        self.server_id = secrets.token_hex(8)
        self.prefix = prefix
        self.ttl_ms = max(1000, int(presence_ttl * 1000))
        self.refresh_seconds = min(5.0, self.ttl_ms / 3000)
        self.timeout = timeout
        self._own_channel = lua.server_channel(prefix, self.server_id)
        self._views: dict[str, RoomView] = {}
        self._local: dict[str, tuple[str, PeerInfo]] = {}
        self._pending: dict[str, _PendingJoin] = {}
        self._leaving: dict[str, asyncio.Future[Any]] = {}
        self._sink: EventSink = lambda event: None
        self._client: Any = None
        self._writer_pool: Any = None
        self._outbox: Outbox | None = None
        self._subscriber: Subscriber | None = None
        self._refresher: asyncio.Task[None] | None = None

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

    async def stop(self) -> None:
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

    # -- membership --------------------------------------------------------------------

    async def add_peer(self, room: str, peer: PeerInfo, max_peers: int) -> list[PeerInfo]:
        outbox, subscriber = self._running()
        peer_id = str(peer["id"])
        view = self._views.get(room)
        if view is None:
            view = self._views[room] = RoomView(
                room, lua.room_channel(self.prefix, room), self.server_id
            )
        view.joining += 1
        loop = asyncio.get_running_loop()
        pending = _PendingJoin(loop.create_future(), loop.create_future())
        self._pending[peer_id] = pending
        try:
            if not subscriber.ready.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(subscriber.ready.wait(), 1.0)
                if not subscriber.ready.is_set():
                    raise BackendUnavailable(subscriber.last_error)
            # Subscribed first, so no event published after our snapshot can be missed.
            await subscriber.subscribe(view.channel, self.timeout)
            rec = lua.record(peer, self.server_id)
            joined = lua.frame_head(self.server_id, EventKind.JOINED, room) + f',"rec":{rec}}}'
            left_head = lua.frame_head("", EventKind.LEFT, room)
            args = [max_peers, self.ttl_ms, peer_id, rec, view.channel, joined, left_head]
            self._forget_chat_if_empty(room)
            stored = outbox.script(lua.JOIN, self._keys(room), args, want_result=True)
            # Read on the same ordered writer right after the join: every message not in
            # it is published after the join, and reaches the new peer live.
            history = outbox.script(
                redis_chat.HISTORY, [redis_chat.chat_key(self.prefix, room)], [], want_result=True
            )
            assert history is not None
            history.add_done_callback(_retrieve)
            try:
                result = await self._wait(stored)
            except BackendUnavailable:
                # The script may have run, or may yet run (a reply that came too late, a
                # connection dropped after the write): take the join back, in case. The
                # leave is queued behind it on the same ordered writer, so it reaches
                # Redis after it, and announces a departure only if the peer is there.
                self._send_leave(room, peer_id, None)
                raise
            if result is None:
                raise RoomFull(room)
            try:
                await asyncio.wait_for(asyncio.shield(pending.echo), self.timeout)
            except (asyncio.TimeoutError, BackendUnavailable):
                # The join is stored but we cannot follow the room: take it back.
                self._send_leave(room, peer_id, None)
                raise BackendUnavailable("lost the Redis event stream while joining") from None
            records = [json.loads(item) for item in result]
            frames = await self._wait(history)
            self._histories[peer_id] = [
                f.decode() if isinstance(f, bytes) else str(f) for f in frames or []
            ]
            if not view.local:
                view.reset(records)
            view.local.add(peer_id)
            self._local[peer_id] = (room, peer)
            return [r["info"] for r in records]
        finally:
            view.joining -= 1
            del self._pending[peer_id]
            _retrieve(pending.echo)  # a join that failed early never awaited it
            # Resolved on the next loop turn: after the registry, which awaits us
            # directly, has admitted the peer, so later events of the room find it there.
            loop.call_soon(_resolve, pending.admitted)
            self._close_view_if_unused(room, view)

    async def remove_peer(self, room: str, peer_id: str) -> None:
        done = self._leaving.pop(peer_id, None)
        if peer_id in self._local:
            done = self._send_leave(room, peer_id, None)
        view = self._views.get(room)
        if view is not None:
            view.local.discard(peer_id)
            self._close_view_if_unused(room, view)
        if done is not None:
            await self._wait(done)

    def publish(self, event: RoomEvent, on_failure: Callable[[str], None]) -> None:
        if event.kind == EventKind.SIGNAL:
            view = self._views.get(event.room)
            target = view.remote.get(event.to) if view is not None else None
            if target is None or self._outbox is None:
                on_failure(f"peer '{event.to}' is not reachable from this server")
                return
            data = event.data_json or encode(event.data or {})
            frame = lua.frame_head(self.server_id, EventKind.SIGNAL, event.room)
            frame += f',"p":"{event.peer_id}","t":"{event.to}","d":{data}}}'
            budget = self._budgets.get(event.to)
            if budget is None:
                budget = self._budgets[event.to] = RateLimiter(self.target_rate, self.target_burst)
            if not budget.allow(utf8_size(frame)):
                # Past this, the target server's pub/sub buffer in Redis could overflow,
                # and Redis would then drop that server's whole event stream.
                raise PeerBusy(
                    f"too much for peer '{event.to}' through Redis just now "
                    f"(over {self.target_rate:.0f} bytes per second); retry later"
                )
            self._outbox.publish(
                lua.server_channel(self.prefix, target["server"]),
                frame,
                on_failure,
                unheard=f"the server of peer '{event.to}' is not connected to Redis",
            )
        elif event.kind == EventKind.STATE:
            entry = self._local.get(event.peer_id)
            if entry is not None and self._outbox is not None:
                frame = lua.frame_head(self.server_id, EventKind.STATE, event.room)
                frame += f',"p":"{event.peer_id}","s":{lua.dumps(event.state)}'
                frame += f',"b":"{event.by}"}}' if event.by else "}"
                rec = lua.record(entry[1], self.server_id)
                keys = [lua.records_key(self.prefix, event.room)]
                args = [event.peer_id, rec, lua.room_channel(self.prefix, event.room), frame]
                self._outbox.script(lua.STATE, keys, args, on_failure)
        elif event.kind == EventKind.LOWER:
            self._publish_lower(event, on_failure)
        elif event.kind == EventKind.LEFT and event.peer_id in self._local:
            future = self._send_leave(event.room, event.peer_id, on_failure)
            if future is not None:
                self._leaving[event.peer_id] = future
        # 'joined' was announced by the join script itself, atomically with the add.

    def refuse(self, event: RoomEvent, code: str, message: str) -> None:
        if not event.origin or self._outbox is None:
            return
        frame = encode(
            {
                "o": self.server_id,
                "k": EventKind.REFUSED,
                "r": event.room,
                "p": event.peer_id,
                "t": event.to,
                "c": code,
                "m": message,
            }
        )
        channel = lua.server_channel(self.prefix, event.origin)
        self._outbox.publish(channel, frame, self._refusal_failed)

    # -- chat and raised hands -----------------------------------------------------------

    def add_chat(self, room: str, frame: str, on_failure: Callable[[str], None]) -> None:
        if self._outbox is None:
            on_failure("the Redis backend is not running")
            return
        event = lua.frame_head(self.server_id, EventKind.CHAT, room) + f',"f":{lua.dumps(frame)}}}'
        limits = self.chat_limits
        args = [
            frame,
            lua.room_channel(self.prefix, room),
            event,
            limits.chat_history_messages,
            limits.chat_history_bytes,
            redis_chat.HISTORY_TTL_MS,
        ]
        keys = [redis_chat.chat_key(self.prefix, room)]
        self._outbox.script(redis_chat.ADD, keys, args, on_failure)

    def chat_history(self, room: str, peer_id: str) -> list[str]:
        return self._histories.pop(peer_id, [])

    def _forget_chat_if_empty(self, room: str) -> None:
        if self._outbox is not None:
            keys = [lua.members_key(self.prefix, room), redis_chat.chat_key(self.prefix, room)]
            self._outbox.script(redis_chat.FORGET_IF_EMPTY, keys, [])

    def _publish_lower(self, event: RoomEvent, on_failure: Callable[[str], None]) -> None:
        """Lowering the hand of a peer of another server: its server does it."""
        view = self._views.get(event.room)
        target = view.remote.get(event.to) if view is not None else None
        if target is None or self._outbox is None:
            on_failure(f"peer '{event.to}' is not reachable from this server")
            return
        frame = lua.frame_head(self.server_id, EventKind.LOWER, event.room)
        frame += f',"p":"{event.peer_id}","t":"{event.to}"}}'
        channel = lua.server_channel(self.prefix, target["server"])
        self._outbox.publish(channel, frame, on_failure)

    def _refusal_failed(self, reason: str) -> None:
        log.warning("nbconference: could not report an undelivered signal: %s", reason)

    # -- helpers -----------------------------------------------------------------------

    def _running(self) -> tuple[Outbox, Subscriber]:
        if self._outbox is None or self._subscriber is None:
            raise BackendUnavailable("the Redis backend is not started")
        return self._outbox, self._subscriber

    def _keys(self, room: str) -> list[str]:
        return [lua.members_key(self.prefix, room), lua.records_key(self.prefix, room)]

    async def _wait(self, future: Awaitable[Any] | None) -> Any:
        assert future is not None
        try:
            return await asyncio.wait_for(future, self.timeout + 1)
        except asyncio.TimeoutError:
            raise BackendUnavailable("Redis did not answer in time") from None

    def _send_leave(
        self, room: str, peer_id: str, on_failure: Callable[[str], None] | None
    ) -> asyncio.Future[Any] | None:
        self._local.pop(peer_id, None)
        self._histories.pop(peer_id, None)
        if self._outbox is None:
            return None
        frame = lua.frame_head(self.server_id, EventKind.LEFT, room) + f',"p":"{peer_id}"}}'
        channel = lua.room_channel(self.prefix, room)
        done = self._outbox.script(
            lua.LEAVE, self._keys(room), [peer_id, channel, frame], on_failure, want_result=True
        )
        self._forget_chat_if_empty(room)
        if done is not None:
            # Not always awaited (a join taken back); a failure is reported elsewhere.
            done.add_done_callback(_retrieve)
        return done

    def _close_view_if_unused(self, room: str, view: RoomView) -> None:
        if view.in_use() or self._views.get(room) is not view:
            return
        del self._views[room]
        if self._subscriber is not None:
            self._subscriber.unsubscribe(view.channel)

    # -- presence ----------------------------------------------------------------------

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            self._refresh_all()

    def _refresh_all(self) -> None:
        """Extend our peers' presence, sweep expired members, publish room snapshots."""
        if self._outbox is None or self._subscriber is None:
            return
        if self._budgets:
            known = set().union(*(view.remote for view in self._views.values()))
            self._budgets = {pid: b for pid, b in self._budgets.items() if pid in known}
        heartbeat = lua.frame_head(self.server_id, "beat", "") + "}"
        self._outbox.publish(self._own_channel, heartbeat, self._refresh_failed)
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
        for pending in self._pending.values():
            if not pending.echo.done():
                pending.echo.set_exception(BackendUnavailable(reason))

    def _announce_lost(self) -> None:
        """Tell every room we have peers in that signals to them may have been lost.

        Redis drops a subscriber whose output buffer overflows (client-output-buffer-limit
        pubsub), and whatever it held for us is gone, though PUBLISH had counted us as a
        receiver: the senders must hear of it from us."""
        if self._outbox is None:
            return
        for room, view in self._views.items():
            if view.local:
                frame = lua.frame_head(self.server_id, EventKind.LOST, room)
                frame += f',"m":{lua.dumps(sorted(view.local))}}}'
                self._outbox.publish(view.channel, frame, self._refresh_failed)

    # -- the event stream --------------------------------------------------------------

    def _on_message(self, channel: str, data: bytes) -> Awaitable[None] | None:
        try:
            event = json.loads(data)
            kind, room = event["k"], event["r"]
            if event["o"] == self.server_id:
                # Our own events were applied here already; a join echo marks a snapshot.
                if kind == EventKind.JOINED:
                    return self._joined_echo(event["rec"]["info"]["id"])
                if kind != "sync":
                    return None
            if kind == EventKind.SIGNAL:
                self._sink(
                    RoomEvent(
                        EventKind.SIGNAL,
                        room,
                        event["p"],
                        to=event["t"],
                        data=event["d"],
                        origin=event["o"],
                    )
                )
                return None
            if kind == EventKind.LOWER:
                self._sink(RoomEvent(EventKind.LOWER, room, event["p"], to=event["t"]))
                return None
            if kind == EventKind.REFUSED:
                reason = {"code": event["c"], "message": event["m"]}
                self._sink(
                    RoomEvent(EventKind.REFUSED, room, event["p"], to=event["t"], data=reason)
                )
                return None
            view = self._views.get(room)
            if view is None:
                return None
            if kind == "sync":
                patience = self.ttl_ms / 1000
                for repair in view.sync(event["m"], time.monotonic(), patience):
                    self._sink(repair)
                return None
            if kind == EventKind.JOINED:
                change = view.joined(event["rec"])
            elif kind == EventKind.LEFT:
                change = view.left(event["p"])
            elif kind == EventKind.STATE:
                change = view.state(event["p"], event["s"])
                if change is not None and event.get("b"):
                    change = replace(change, by=str(event["b"]))
            elif kind == EventKind.CHAT:
                self._sink(RoomEvent(EventKind.CHAT, room, data_json=str(event["f"])))
                return None
            elif kind == EventKind.LOST:
                for peer_id in event["m"]:
                    self._sink(RoomEvent(EventKind.LOST, room, peer_id))
                return None
            else:
                return None
            if change is not None:
                self._sink(change)
        except Exception:
            log.exception("nbconference: bad event on %s: %.200r", channel, data)
        return None

    def _joined_echo(self, peer_id: str) -> Awaitable[None] | None:
        pending = self._pending.get(peer_id)
        if pending is None:
            return None
        _resolve(pending.echo)
        return self._hold_until(pending.admitted)

    async def _hold_until(self, admitted: asyncio.Future[None]) -> None:
        """Hold the stream until the registry admitted the joining peer (see add_peer)."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(admitted), self.timeout)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if future.done() and not future.cancelled():
        future.exception()
