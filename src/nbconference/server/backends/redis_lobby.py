"""The lobby of a Redis room, shared by the ``nbconference serve`` replicas of one
deployment (see redis_hosts.py for the rest of host state):

- ``P:room:R:lobby`` hash: ``locked`` -> ``1`` while the room is locked, and
  ``w:<peer id>`` -> the entry of each newcomer waiting on some server (its lobby entry,
  with ``server``: the server its socket is connected to). Every change is stored and
  announced in one script, as ``{"o": "", "k": "lobby", "r", "l": 0 | 1, "w": [entry,
  ...]}`` on the room's channel. The hash goes when the room has neither members nor
  waiting newcomers, and lives at most LOBBY_TTL_MS after its last change.

A waiting newcomer is no member: its server may not follow the room's channel. So a
server that does not follow the room reads the lobby before a join, and a host's
``admit`` or ``deny`` (an ``unlock`` too) of a newcomer on another server travels to
that server as a ``host-act``.
"""

from __future__ import annotations

import json
from typing import Any

from . import redis_scripts as lua
from .base import EventKind, SharedLobby
from .redis_hosts import RedisHosts

LOBBY_TTL_MS = 12 * 3600 * 1000

LOBBY = """
-- KEYS: lobby. ARGV: change (lock, unlock, wait, gone, read), channel, lobby head,
-- peer id, entry, ttl_ms. Returns the lobby as HGETALL does; announces any change.
local change = ARGV[1]
if change == 'lock' then
  redis.call('HSET', KEYS[1], 'locked', '1')
elseif change == 'unlock' then
  redis.call('HDEL', KEYS[1], 'locked')
elseif change == 'wait' then
  redis.call('HSET', KEYS[1], 'w:' .. ARGV[4], ARGV[5])
elseif change == 'gone' then
  redis.call('HDEL', KEYS[1], 'w:' .. ARGV[4])
end
local flat = redis.call('HGETALL', KEYS[1])
if change == 'read' then
  return flat
end
if #flat > 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
local locked, waiting = 0, {}
for i = 1, #flat, 2 do
  if flat[i] == 'locked' then
    locked = 1
  elseif string.sub(flat[i], 1, 2) == 'w:' then
    table.insert(waiting, flat[i + 1])
  end
end
local listed = '[' .. table.concat(waiting, ',') .. ']'
redis.call('PUBLISH', ARGV[2], ARGV[3] .. ',"l":' .. locked .. ',"w":' .. listed .. '}')
return flat
"""

FORGET = """
-- KEYS: members, lobby. A room with no member and nobody waiting starts unlocked.
if redis.call('ZCARD', KEYS[1]) > 0 then
  return 0
end
for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
  if string.sub(field, 1, 2) == 'w:' then
    return 0
  end
end
return redis.call('DEL', KEYS[2])
"""


def lobby_key(prefix: str, room: str) -> str:
    return f"{prefix}:room:{room}:lobby"


def shared_lobby(flat: list[Any] | None) -> SharedLobby:
    """The lobby hash as HGETALL returns it."""
    items = [v.decode() if isinstance(v, bytes) else str(v) for v in flat or []]
    locked, waiting = False, []
    for name, value in zip(items[::2], items[1::2], strict=True):
        if name == "locked":
            locked = True
        elif name.startswith("w:"):
            waiting.append(json.loads(value))
    return SharedLobby(locked, waiting)


class RedisLobby(RedisHosts):
    """The lobbies of the rooms of this deployment, as Redis shares them."""

    async def lobby_change(
        self, room: str, change: str, peer_id: str = "", entry: dict[str, Any] | None = None
    ) -> SharedLobby:
        outbox, _ = self._running()
        record = lua.dumps({**entry, "server": self.server_id}) if entry is not None else ""
        head = lua.frame_head("", EventKind.LOBBY, room)
        args = [change, lua.room_channel(self.prefix, room), head, peer_id, record, LOBBY_TTL_MS]
        keys = [lobby_key(self.prefix, room)]
        return shared_lobby(await self._wait(outbox.script(LOBBY, keys, args, want_result=True)))

    def forget_lobby(self, room: str) -> None:
        if self._outbox is None:
            return
        keys = [lua.members_key(self.prefix, room), lobby_key(self.prefix, room)]
        self._outbox.script(FORGET, keys, [], self._refresh_failed)
