"""The chat history of a Redis room: one list per room, trimmed by count and by bytes.

- ``P:room:R:chat`` list of encoded ``chat`` frames, oldest first.

A message is added and announced in one script (so the history and the room's event
stream agree), as the event ``{"o", "k": "chat", "r", "f": "<frame>"}`` on the room's
channel. The history goes when the room empties: the leave that empties it, and a join
that finds only expired members, delete it. Its expiry (``HISTORY_TTL_MS``, renewed by
every message) only bounds what a crashed deployment leaves behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ...protocol import ChatLimits
from . import redis_scripts as lua
from .redis_events import chat_event
from .redis_link import Outbox

HISTORY_TTL_MS = 24 * 3600 * 1000


def chat_key(prefix: str, room: str) -> str:
    return f"{prefix}:room:{room}:chat"


ADD = """
-- KEYS: chat list. ARGV: frame, channel, event, max messages, max bytes, ttl ms.
local max_messages = tonumber(ARGV[4])
if max_messages > 0 then
  redis.call('RPUSH', KEYS[1], ARGV[1])
  redis.call('LTRIM', KEYS[1], -max_messages, -1)
  local items = redis.call('LRANGE', KEYS[1], 0, -1)
  local total, keep = 0, #items
  for i = #items, 1, -1 do
    total = total + string.len(items[i])
    if total > tonumber(ARGV[5]) then
      keep = #items - i
      break
    end
  end
  if keep == 0 then
    redis.call('DEL', KEYS[1])
  else
    if keep < #items then
      redis.call('LTRIM', KEYS[1], -keep, -1)
    end
    redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[6]))
  end
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
"""

HISTORY = """
-- KEYS: chat list.
return redis.call('LRANGE', KEYS[1], 0, -1)
"""

FORGET_IF_EMPTY = """
-- KEYS: members, chat list. Deletes the history of a room with no live member.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf') == 0 then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""


class RedisChat:
    """The chat histories of the rooms of one server: adding a message, the history each
    joining peer is to receive, and deleting it with the room."""

    def __init__(self, prefix: str, server_id: str, limits: ChatLimits) -> None:
        self.prefix = prefix
        self.server_id = server_id
        self.limits = limits
        self._histories: dict[str, list[str]] = {}  # read with a join, until taken

    def add(self, outbox: Outbox, room: str, frame: str, on_failure: Callable[[str], None]) -> None:
        """Keep ``frame`` in the room's history and announce it on the room's channel."""
        limits = self.limits
        args = [
            frame,
            lua.room_channel(self.prefix, room),
            chat_event(self.server_id, room, frame),
            limits.chat_history_messages,
            limits.chat_history_bytes,
            HISTORY_TTL_MS,
        ]
        outbox.script(ADD, [chat_key(self.prefix, room)], args, on_failure)

    def read(self, outbox: Outbox, room: str) -> asyncio.Future[Any]:
        """Queue a read of the room's history. Queued on the ordered writer right after a
        join, it holds every message not published after that join."""
        history = outbox.script(HISTORY, [chat_key(self.prefix, room)], [], want_result=True)
        assert history is not None
        return history

    def keep(self, peer_id: str, frames: list[Any] | None) -> None:
        """Hold the history read for ``peer_id`` until the registry takes it."""
        self._histories[peer_id] = [
            f.decode() if isinstance(f, bytes) else str(f) for f in frames or []
        ]

    def take(self, peer_id: str) -> list[str]:
        return self._histories.pop(peer_id, [])

    def forget_if_empty(self, outbox: Outbox, room: str) -> None:
        """Delete the room's history if no member of it is alive."""
        keys = [lua.members_key(self.prefix, room), chat_key(self.prefix, room)]
        outbox.script(FORGET_IF_EMPTY, keys, [])
