"""The SFU plane of a Redis room, shared by every server of the room (one hash per room):

- ``P:room:R:sfu`` hash: ``plane`` -> ``sfu`` once the room moved to the SFU, ``janus``
  -> the Janus instance (its URL in janus_urls) the room is pinned to, and
  ``feed:<peer id>`` -> the feed that peer publishes there (a shared feed record, see
  :func:`~nbconference.protocol.sfu.parse_shared_feed`).

The hash lives as long as the room's members (the join, leave and refresh scripts of
redis_scripts.py expire it with them, drop a leaving member's feed, and delete it when
the room empties, so that the room starts over as a mesh). A feed is stored and announced
in one script, as the event ``{"o", "k": "feed", "r", "p": <peer id>, "f": <record> |
null}`` on the room's channel, so the stored feeds and the event stream agree: a server
whose first peer joins reads them with its join, and hears every later change.
"""

from __future__ import annotations

from typing import Any

from .base import RoomMedia

FEED_FIELD = "feed:"

RECORD_SFU = """
-- KEYS: members, sfu. ARGV: ttl_ms. The room moved to the SFU (while it has members).
if redis.call('ZCARD', KEYS[1]) > 0 then
  redis.call('HSET', KEYS[2], 'plane', 'sfu')
  redis.call('PEXPIRE', KEYS[2], 3 * tonumber(ARGV[1]))
end
return 1
"""

PIN = """
-- KEYS: sfu. ARGV: url, ttl_ms, replacing. The room's Janus: the one pinned already,
-- else (or when it is ARGV[3], an instance that was lost) ARGV[1], pinned now.
local pin = redis.call('HGET', KEYS[1], 'janus')
if not pin or pin == ARGV[3] then
  redis.call('HSET', KEYS[1], 'janus', ARGV[1])
  pin = ARGV[1]
end
redis.call('PEXPIRE', KEYS[1], 3 * tonumber(ARGV[2]))
return pin
"""

FEED = """
-- KEYS: records, sfu. ARGV: peer id, feed record ('' : withdrawn), channel, event, ttl_ms.
-- Only a member's feed is kept: a peer that left meanwhile publishes nothing.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[2], 'feed:' .. ARGV[1])
else
  redis.call('HSET', KEYS[2], 'feed:' .. ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], 3 * tonumber(ARGV[5]))
end
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1
"""


def room_media(flat: list[Any] | None) -> RoomMedia:
    """The SFU hash as HGETALL returns it (field, value pairs), unchecked: feeds are
    checked where they are used (:func:`parse_shared_feed`)."""
    items = [v.decode() if isinstance(v, bytes) else str(v) for v in flat or []]
    fields = dict(zip(items[::2], items[1::2], strict=True))
    feeds = {k[len(FEED_FIELD) :]: v for k, v in fields.items() if k.startswith(FEED_FIELD)}
    return RoomMedia(fields.get("plane") == "sfu", fields.get("janus", ""), feeds)
