"""Host state of a Redis room, shared by the ``nbconference serve`` replicas of one
deployment (they trust each other: only they hold the Redis):

- ``P:room:R:hosts`` hash: ``j:<peer id>`` -> when each member joined (Redis clock, set
  by the join script), ``h:<peer id>`` -> ``1`` for each host. The join, leave and
  refresh scripts of redis_scripts.py keep it to the room's members; it goes with the
  last one. Every change of hosts is stored and announced in one script, as the event
  ``{"o": "", "k": "hosts", "r", "h": [<peer id>, ...]}`` on the room's channel (origin
  ``""``: every server applies it, the one that ran the script included);
- ``P:room:R:ban:<username>``: a host's ban, expiring with it;
- a host's request about a peer of another server goes to that server's channel as
  ``{"o", "k": "host-act", "r", "t": <peer id>, "i": <ticket>, "q": <what>}``; that
  server carries it out and answers on the asker's channel with ``{"o", "k":
  "host-reply", "r", "i", "c": <error code> | "", "m": <message>}``;
- ``{"o", "k": "end", "r", "n": <close reason>}`` on the room's channel ends the call on
  every server; ``{"o", "k": "breakout", "r", "g": {group: [peer id, ...]} | null, "s":
  <seconds>}`` starts (or ends) a breakout there; ``{"o", "k": "frame", "r", "f":
  <frame>}`` hands a frame (``muted``) to the peers of every other server of the room.

Whether a server acts on these events is the registry's decision (hosts_across.py): a
Jupyter server sharing Redis with other users' servers does not.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from ...protocol import ErrorCode
from . import redis_scripts as lua
from .base import BackendUnavailable, EventKind, RoomEvent
from .redis_presence import RedisPresence

PROMOTE = """
-- KEYS: hosts. ARGV: channel, hosts head, then the candidates (verified members).
-- With no host in the room, the candidate that joined first hosts it.
local flat = redis.call('HGETALL', KEYS[1])
local joined = {}
for i = 1, #flat, 2 do
  local field = flat[i]
  if string.sub(field, 1, 2) == 'h:' then
    return 0
  elseif string.sub(field, 1, 2) == 'j:' then
    joined[string.sub(field, 3)] = tonumber(flat[i + 1])
  end
end
local best, at = nil, nil
for i = 3, #ARGV do
  local t = joined[ARGV[i]]
  if t and (at == nil or t < at) then
    best, at = ARGV[i], t
  end
end
if not best then
  return 0
end
redis.call('HSET', KEYS[1], 'h:' .. best, '1')
redis.call('PUBLISH', ARGV[1], ARGV[2] .. ',"h":["' .. best .. '"]}')
return 1
"""

MAKE_HOST = """
-- KEYS: hosts. ARGV: peer id, channel, hosts head. 0 when the peer is no member.
if redis.call('HEXISTS', KEYS[1], 'j:' .. ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'h:' .. ARGV[1], '1')
local hosts = {}
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 2) == 'h:' then
    table.insert(hosts, '"' .. string.sub(field, 3) .. '"')
  end
end
redis.call('PUBLISH', ARGV[2], ARGV[3] .. ',"h":[' .. table.concat(hosts, ',') .. ']}')
return 1
"""

BAN = """
-- KEYS: ban. ARGV: ms.
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
return 1
"""

BAN_LEFT = """
-- KEYS: ban. Milliseconds left (negative: none).
return redis.call('PTTL', KEYS[1])
"""

PUBLISH = """
-- ARGV: channel, frame. How many servers heard it.
return redis.call('PUBLISH', ARGV[1], ARGV[2])
"""


def ban_key(prefix: str, room: str, username: str) -> str:
    # A username may hold any character: it is the last part of the key, never parsed.
    return f"{prefix}:room:{room}:ban:{username}"


def hosts_of(flat: list[Any] | None) -> list[str]:
    """The hosts in a hosts hash as HGETALL returns it (field, value pairs)."""
    items = [v.decode() if isinstance(v, bytes) else str(v) for v in flat or []]
    return [field[2:] for field in items[::2] if field.startswith("h:")]


class RedisHosts(RedisPresence):
    """The host state of the rooms this server follows, as Redis shares it."""

    shares_hosts = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hosts_read: dict[str, list[str]] = {}  # by a first join, until taken
        # Host requests sent to another server, by ticket, until it answers.
        self._acts: dict[str, asyncio.Future[tuple[str, str]]] = {}

    def room_hosts(self, room: str) -> list[str] | None:
        return self._hosts_read.pop(room, None)

    def promote(self, room: str, candidates: list[str]) -> None:
        if self._outbox is None:
            return
        head = lua.frame_head("", EventKind.HOSTS, room)
        args = [lua.room_channel(self.prefix, room), head, *candidates]
        keys = [lua.hosts_key(self.prefix, room)]
        self._outbox.script(PROMOTE, keys, args, self._refresh_failed)

    async def make_host(self, room: str, peer_id: str) -> bool:
        outbox, _ = self._running()
        head = lua.frame_head("", EventKind.HOSTS, room)
        args = [peer_id, lua.room_channel(self.prefix, room), head]
        keys = [lua.hosts_key(self.prefix, room)]
        return bool(await self._wait(outbox.script(MAKE_HOST, keys, args, want_result=True)))

    async def ban(self, room: str, username: str, seconds: float) -> None:
        outbox, _ = self._running()
        keys = [ban_key(self.prefix, room, username)]
        await self._wait(outbox.script(BAN, keys, [int(seconds * 1000)], want_result=True))

    async def ban_left(self, room: str, username: str) -> float:
        outbox, _ = self._running()
        keys = [ban_key(self.prefix, room, username)]
        left = await self._wait(outbox.script(BAN_LEFT, keys, [], want_result=True))
        return max(0.0, int(left) / 1000)

    async def end_call(self, room: str, reason: str) -> None:
        await self._to_room(room, EventKind.END, f',"n":{lua.dumps(reason)}}}')

    async def breakout_event(
        self, room: str, groups: dict[str, list[str]] | None, seconds: float
    ) -> None:
        await self._to_room(room, EventKind.BREAKOUT, f',"g":{lua.dumps(groups)},"s":{seconds}}}')

    async def _to_room(self, room: str, kind: str, tail: str) -> None:
        """Publish an event of ``kind`` (its fields: ``tail``) on the room's channel."""
        outbox, _ = self._running()
        frame = lua.frame_head(self.server_id, kind, room) + tail
        channel = lua.room_channel(self.prefix, room)
        await self._wait(outbox.script(PUBLISH, [], [channel, frame], want_result=True))

    def room_frame(self, room: str, frame: str) -> None:
        if self._outbox is None:
            return
        event = lua.frame_head(self.server_id, EventKind.FRAME, room) + f',"f":{lua.dumps(frame)}}}'
        self._outbox.publish(lua.room_channel(self.prefix, room), event, self._refresh_failed)

    async def host_act(
        self, room: str, to: str, what: dict[str, Any], server: str = ""
    ) -> tuple[str, str]:
        """Have the server of ``to`` (or ``server``) carry out ``what``; its answer,
        ``(code, message)`` (code ``""``: done). BackendUnavailable when it cannot be
        asked or does not answer."""
        outbox, _ = self._running()
        if not server:
            view = self._views.get(room)
            target = view.remote.get(to) if view is not None else None
            if target is None:
                return ErrorCode.UNKNOWN_PEER, f"no peer '{to[:40]}' in room '{room}'"
            server = str(target["server"])
        ticket = secrets.token_hex(8)
        answer: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()
        self._acts[ticket] = answer

        def failed(reason: str) -> None:
            if not answer.done():
                answer.set_exception(BackendUnavailable(reason))

        frame = lua.frame_head(self.server_id, EventKind.HOST_ACT, room)
        frame += f',"t":"{to}","i":"{ticket}","q":{lua.dumps(what)}}}'
        channel = lua.server_channel(self.prefix, server)
        unheard = f"the server of peer '{to}' is not connected to Redis"
        outbox.publish(channel, frame, failed, unheard=unheard)
        try:
            return await asyncio.wait_for(answer, self.timeout)
        except asyncio.TimeoutError:
            raise BackendUnavailable(f"the server of peer '{to}' did not answer in time") from None
        finally:
            self._acts.pop(ticket, None)

    def host_reply(self, event: RoomEvent, code: str, message: str) -> None:
        if self._outbox is None or not event.origin:
            return
        frame = lua.frame_head(self.server_id, EventKind.HOST_REPLY, event.room)
        frame += f',"i":"{event.by}","c":"{code}","m":{lua.dumps(message)}}}'
        channel = lua.server_channel(self.prefix, event.origin)
        self._outbox.publish(channel, frame, self._refresh_failed)

    def _host_replied(self, event: dict[str, Any]) -> None:
        answer = self._acts.get(str(event["i"]))
        if answer is not None and not answer.done():
            answer.set_result((str(event["c"]), str(event["m"])))

    def _read_hosts(self, room: str, flat: list[Any] | None) -> None:
        """What the join of our first peer in ``room`` read of its hosts."""
        self._hosts_read[room] = hosts_of(flat)
