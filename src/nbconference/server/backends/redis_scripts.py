"""The Redis side of the ``redis`` backend: key names, event frames and Lua scripts.

Every change to a room's membership runs in one Lua script together with the PUBLISH
that announces it, so the event stream of a room and the stored member list never
disagree: whoever reads a snapshot at some point of the stream knows exactly which
events came before it. Time is Redis's own clock (``TIME``), so servers with skewed
clocks agree on when a presence expires.

Per room ``R`` (prefix ``P``):

- ``P:room:R:members`` sorted set, peer id -> expiry (milliseconds, Redis clock);
- ``P:room:R:peers`` hash, peer id -> record ``{"info": {id, name, state}, "server": id}``;
- ``P:room:R:sfu`` hash, the room's SFU plane, once it moved there (redis_media.py):
  ``plane`` -> ``sfu``, ``janus`` -> the Janus instance it is pinned to, and
  ``feed:<peer id>`` -> each published feed; it goes when the room empties;
- ``P:room:R:hosts`` hash, the room's hosts (redis_hosts.py): ``j:<peer id>`` -> when
  each member joined (Redis clock), ``h:<peer id>`` -> ``1`` for each host; a member's
  fields go with it, and the hash with the last member;
- channel ``P:room:R`` carries ``joined``, ``left``, ``state``, ``feed`` and ``sync``
  events (and the host events of redis_hosts.py);
- channel ``P:server:S`` carries signals for the peers connected to server ``S`` (and
  host requests for them);
- ``P:settings`` (one for all rooms): the settings every server must share
  (redis_settings.py).

Events are JSON objects: ``o`` origin server, ``k`` kind, ``r`` room, ``p`` peer id, and
``rec`` (joined), ``s`` (state), ``t``/``d`` (signal), ``m`` (sync: every record).
"""

from __future__ import annotations

import json
from typing import Any


def members_key(prefix: str, room: str) -> str:
    return f"{prefix}:room:{room}:members"


def records_key(prefix: str, room: str) -> str:
    return f"{prefix}:room:{room}:peers"


def sfu_key(prefix: str, room: str) -> str:
    return f"{prefix}:room:{room}:sfu"


def hosts_key(prefix: str, room: str) -> str:
    return f"{prefix}:room:{room}:hosts"


def room_channel(prefix: str, room: str) -> str:
    return f"{prefix}:room:{room}"


def server_channel(prefix: str, server: str) -> str:
    return f"{prefix}:server:{server}"


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def record(info: dict[str, Any], server: str) -> str:
    return dumps({"info": info, "server": server})


def frame_head(origin: str, kind: str, room: str) -> str:
    """The opening of an event frame, for scripts that complete it by concatenation.

    Server ids, room names and peer ids are all of ``[A-Za-z0-9._-]``, so they need no
    JSON escaping.
    """
    return f'{{"o":"{origin}","k":"{kind}","r":"{room}"'


# Shared prologue: the clock, and the sweep that retires members whose presence expired.
# The sweep announces each departure itself, with origin "" (the store), so every server
# in the room, the sweeping one included, applies it; being one script, it runs once.
# A member swept takes its SFU feed with it (every server drops it on the 'left').
_PROLOGUE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function sweep(members, records, channel, left_head, sfu, hosts)
  local gone = redis.call('ZRANGEBYSCORE', members, '-inf', now)
  for _, pid in ipairs(gone) do
    redis.call('ZREM', members, pid)
    redis.call('HDEL', records, pid)
    redis.call('HDEL', sfu, 'feed:' .. pid)
    redis.call('HDEL', hosts, 'j:' .. pid, 'h:' .. pid)
    redis.call('PUBLISH', channel, left_head .. ',"p":"' .. pid .. '"}')
  end
end
"""

JOIN = (
    _PROLOGUE
    + """
-- KEYS: members, records, sfu, hosts. ARGV: max_peers, ttl_ms, peer id, record, channel,
-- joined frame, left head, '1' if the peer hosts on arrival. Returns {the records already
-- there, the room's SFU hash as field, value pairs, its hosts hash likewise}, or false
-- when full. An empty room starts over as a mesh, with no host.
sweep(KEYS[1], KEYS[2], ARGV[5], ARGV[7], KEYS[3], KEYS[4])
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[3], KEYS[4])
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return false
end
local others = redis.call('HVALS', KEYS[2])
local ttl = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[3])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('HSET', KEYS[4], 'j:' .. ARGV[3], now)
if ARGV[8] == '1' then
  redis.call('HSET', KEYS[4], 'h:' .. ARGV[3], '1')
end
redis.call('PEXPIRE', KEYS[1], 3 * ttl)
redis.call('PEXPIRE', KEYS[2], 3 * ttl)
redis.call('PEXPIRE', KEYS[3], 3 * ttl)
redis.call('PEXPIRE', KEYS[4], 3 * ttl)
redis.call('PUBLISH', ARGV[5], ARGV[6])
return {others, redis.call('HGETALL', KEYS[3]), redis.call('HGETALL', KEYS[4])}
"""
)

REFRESH = (
    _PROLOGUE
    + """
-- KEYS: members, records, sfu, hosts. ARGV: ttl_ms, channel, left head, joined head,
-- sync head,
-- then (peer id, record) pairs of this server's peers in the room.
-- Extends their presence (re-adding, and announcing, any the store lost, e.g. after a
-- Redis restart), retires expired members, and publishes a snapshot of the room.
local ttl = tonumber(ARGV[1])
for i = 6, #ARGV, 2 do
  if redis.call('ZADD', KEYS[1], now + ttl, ARGV[i]) == 1 then
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    redis.call('HSETNX', KEYS[4], 'j:' .. ARGV[i], now)
    redis.call('PUBLISH', ARGV[2], ARGV[4] .. ',"rec":' .. ARGV[i + 1] .. '}')
  end
end
sweep(KEYS[1], KEYS[2], ARGV[2], ARGV[3], KEYS[3], KEYS[4])
redis.call('PEXPIRE', KEYS[1], 3 * ttl)
redis.call('PEXPIRE', KEYS[2], 3 * ttl)
redis.call('PEXPIRE', KEYS[3], 3 * ttl)
redis.call('PEXPIRE', KEYS[4], 3 * ttl)
local records = redis.call('HVALS', KEYS[2])
redis.call('PUBLISH', ARGV[2], ARGV[5] .. ',"m":[' .. table.concat(records, ',') .. ']}')
return #records
"""
)

LEAVE = """
-- KEYS: members, records, sfu, hosts. ARGV: peer id, channel, left frame.
-- Announces the departure only if the peer was still there (a sweep may have been first).
-- Its SFU feed and host fields go with it, and the room's SFU and hosts hashes with the
-- last member.
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], 'feed:' .. ARGV[1])
  redis.call('HDEL', KEYS[4], 'j:' .. ARGV[1], 'h:' .. ARGV[1])
  if redis.call('ZCARD', KEYS[1]) == 0 then
    redis.call('DEL', KEYS[3], KEYS[4])
  end
  redis.call('PUBLISH', ARGV[2], ARGV[3])
  return 1
end
return 0
"""

STATE = """
-- KEYS: records. ARGV: peer id, record, channel, state frame.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return 1
end
return 0
"""
