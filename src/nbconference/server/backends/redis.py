"""The ``redis`` backend: rooms that span Jupyter servers and standalone processes.

Needs ``nbconference[redis]``. Joining (with a room cap that holds across servers),
leaving, and publishing events; the connection to Redis and the presence of this
server's peers are its base (redis_presence.py), with host state over it
(redis_hosts.py, redis_lobby.py); chat histories are redis_chat.py's, and the events' encoding
redis_events.py's.

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
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ...protocol import DEFAULT_CHAT_LIMITS, ChatLimits, encode, utf8_size
from ..limits import RateLimiter
from . import redis_media as media
from . import redis_scripts as lua
from .base import (
    BackendUnavailable,
    EventKind,
    PeerBusy,
    PeerInfo,
    RoomEvent,
    RoomFull,
    RoomMedia,
)
from .redis_chat import RedisChat
from .redis_defaults import REDIS_BYTES_PER_PEER_PER_SECOND, REDIS_MAX_QUEUED_BYTES
from .redis_events import (
    TO_SERVER,
    feed_event,
    joined_event,
    key_frame_event,
    left_event,
    lower_event,
    refused_event,
    relayed,
    signal_event,
    state_event,
)
from .redis_lobby import RedisLobby
from .redis_view import RoomView

log = logging.getLogger("nbconference")


@dataclass(eq=False)
class _PendingJoin:
    echo: asyncio.Future[None]
    admitted: asyncio.Future[None]


class RedisBackend(RedisLobby):
    """Rooms in Redis: membership with a cap that holds across servers, events by pub/sub.

    ``presence_ttl`` (default: the reconnect grace) is how long a member outlives its
    server's last refresh; refreshes run every third of it. Signals to one peer are held
    to ``target_bytes_per_second`` (bursts of two seconds' worth). ``shared_settings``
    (a value for each name of redis_settings.SHARED_SETTINGS) must match those of the
    servers already sharing this Redis, or :meth:`start` raises ReplicasDisagree.
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
        shared_settings: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(url, presence_ttl, prefix, timeout, max_queued_bytes, shared_settings)
        # Signals to one peer may burst to two seconds' worth (and always one message).
        self.target_rate = target_bytes_per_second
        self.target_burst = max(2 * target_bytes_per_second, max_message_bytes + 1024)
        self._budgets: dict[str, RateLimiter] = {}
        self.chats = RedisChat(prefix, self.server_id, chat_limits)
        self._pending: dict[str, _PendingJoin] = {}
        self._leaving: dict[str, asyncio.Future[Any]] = {}
        self._media_read: dict[str, RoomMedia] = {}  # by a first join, until taken

    shares_media = True

    # -- membership --------------------------------------------------------------------

    async def add_peer(self, room: str, peer: PeerInfo, max_peers: int) -> list[PeerInfo]:
        await self._compared(1.0)  # Redis just came back: our settings are compared first
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
            joined = joined_event(self.server_id, room, rec)
            left_head = lua.frame_head("", EventKind.LEFT, room)
            hosts = "1" if peer.get("host") is True else ""
            args = [max_peers, self.ttl_ms, peer_id, rec, view.channel, joined, left_head, hosts]
            self.chats.forget_if_empty(outbox, room)
            stored = outbox.script(lua.JOIN, self._keys(room), args, want_result=True)
            # Read on the same ordered writer right after the join: every message not in
            # it is published after the join, and reaches the new peer live.
            history = self.chats.read(outbox, room)
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
            stored_records, sfu_hash, hosts_hash = result
            records = [json.loads(item) for item in stored_records]
            self.chats.keep(peer_id, await self._wait(history))
            if not view.local:
                view.reset(records)
                self._media_read[room] = media.room_media(sfu_hash)
                self._read_hosts(room, hosts_hash)
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
            frame = signal_event(self.server_id, event.room, event.peer_id, event.to, data)
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
                frame = state_event(
                    self.server_id, event.room, event.peer_id, event.state, event.by
                )
                rec = lua.record(entry[1], self.server_id)
                keys = [lua.records_key(self.prefix, event.room)]
                args = [event.peer_id, rec, lua.room_channel(self.prefix, event.room), frame]
                self._outbox.script(lua.STATE, keys, args, on_failure)
        elif event.kind == EventKind.LOWER:
            self._publish_lower(event, on_failure)
        elif event.kind == EventKind.FEED:
            self._publish_feed(event, on_failure)
        elif event.kind == EventKind.KEY_FRAME:
            self._to_server_of(
                event.to,
                event.room,
                key_frame_event(self.server_id, event.room, event.to),
                on_failure,
            )
        elif event.kind == EventKind.LEFT and event.peer_id in self._local:
            future = self._send_leave(event.room, event.peer_id, on_failure)
            if future is not None:
                self._leaving[event.peer_id] = future
        # 'joined' was announced by the join script itself, atomically with the add.

    def refuse(self, event: RoomEvent, code: str, message: str) -> None:
        if not event.origin or self._outbox is None:
            return
        frame = refused_event(self.server_id, event, code, message)
        channel = lua.server_channel(self.prefix, event.origin)
        self._outbox.publish(channel, frame, self._refusal_failed)

    # -- chat and raised hands -----------------------------------------------------------

    def add_chat(self, room: str, frame: str, on_failure: Callable[[str], None]) -> None:
        if self._outbox is None:
            on_failure("the Redis backend is not running")
            return
        self.chats.add(self._outbox, room, frame, on_failure)

    def chat_history(self, room: str, peer_id: str) -> list[str]:
        return self.chats.take(peer_id)

    def _publish_lower(self, event: RoomEvent, on_failure: Callable[[str], None]) -> None:
        """Lowering the hand of a peer of another server: its server does it."""
        frame = lower_event(self.server_id, event.room, event.peer_id, event.to)
        self._to_server_of(event.to, event.room, frame, on_failure)

    def _to_server_of(
        self, peer_id: str, room: str, frame: str, on_failure: Callable[[str], None]
    ) -> None:
        """Publish ``frame`` to the server of ``peer_id``, a member of ``room`` there."""
        view = self._views.get(room)
        target = view.remote.get(peer_id) if view is not None else None
        if target is None or self._outbox is None:
            on_failure(f"peer '{peer_id}' is not reachable from this server")
            return
        channel = lua.server_channel(self.prefix, target["server"])
        self._outbox.publish(channel, frame, on_failure)

    # -- the SFU plane (redis_media.py) ---------------------------------------------------

    def room_media(self, room: str) -> RoomMedia | None:
        return self._media_read.pop(room, None)

    def record_sfu(self, room: str) -> None:
        if self._outbox is not None:
            keys = [lua.members_key(self.prefix, room), lua.sfu_key(self.prefix, room)]
            self._outbox.script(media.RECORD_SFU, keys, [self.ttl_ms], self._refresh_failed)

    async def pin_janus(self, room: str, url: str, replacing: str = "") -> str:
        outbox, _ = self._running()
        keys = [lua.sfu_key(self.prefix, room)]
        pinned = await self._wait(
            outbox.script(media.PIN, keys, [url, self.ttl_ms, replacing], want_result=True)
        )
        return pinned.decode() if isinstance(pinned, bytes) else str(pinned)

    def _publish_feed(self, event: RoomEvent, on_failure: Callable[[str], None]) -> None:
        """A feed of one of our peers (or its withdrawal), stored and announced at once."""
        if self._outbox is None or event.peer_id not in self._local:
            return
        record = "" if event.data is None else lua.dumps(event.data)
        frame = feed_event(self.server_id, event.room, event.peer_id, record or "null")
        keys = [lua.records_key(self.prefix, event.room), lua.sfu_key(self.prefix, event.room)]
        args = [event.peer_id, record, lua.room_channel(self.prefix, event.room), frame]
        self._outbox.script(media.FEED, keys, [*args, self.ttl_ms], on_failure)

    def _refusal_failed(self, reason: str) -> None:
        log.warning("nbconference: could not report an undelivered signal: %s", reason)

    # -- helpers -----------------------------------------------------------------------

    def _send_leave(
        self, room: str, peer_id: str, on_failure: Callable[[str], None] | None
    ) -> asyncio.Future[Any] | None:
        self._local.pop(peer_id, None)
        self.chats.take(peer_id)
        if self._outbox is None:
            return None
        frame = left_event(self.server_id, room, peer_id)
        channel = lua.room_channel(self.prefix, room)
        done = self._outbox.script(
            lua.LEAVE, self._keys(room), [peer_id, channel, frame], on_failure, want_result=True
        )
        self.chats.forget_if_empty(self._outbox, room)
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

    # -- presence (see RedisPresence) ----------------------------------------------------

    def _refresh_all(self) -> None:
        if self._budgets:
            known = set().union(*(view.remote for view in self._views.values()))
            self._budgets = {pid: b for pid, b in self._budgets.items() if pid in known}
        super()._refresh_all()

    def _on_lost(self, reason: str) -> None:
        super()._on_lost(reason)
        for pending in self._pending.values():
            if not pending.echo.done():
                pending.echo.set_exception(BackendUnavailable(reason))

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
            if kind == EventKind.HOST_REPLY:
                self._host_replied(event)
                return None
            view = self._views.get(room)
            if view is None and kind not in TO_SERVER:
                return None  # a room this server no longer follows
            passed = relayed(event)
            if passed is not None:
                for each in passed:
                    self._sink(each)
                return None
            assert view is not None
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
