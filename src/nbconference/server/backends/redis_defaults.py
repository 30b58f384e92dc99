"""The Redis backend's default bounds, in a module without redis-py, so that the settings
(server/config.py) can name them whether or not the backend is installed."""

from __future__ import annotations

from typing import Final

# Writes waiting for Redis (while it is slow or unreachable): past this many bytes, joins,
# signals and room updates are refused with 'backend-unavailable'.
REDIS_MAX_QUEUED_BYTES: Final = 64 * 1024 * 1024
# Signals one server sends through Redis to any one peer, bytes per second; past it (and
# a burst of two seconds' worth), 'peer-unavailable' before the target server's pub/sub
# buffer in Redis could overflow.
REDIS_BYTES_PER_PEER_PER_SECOND: Final = 2 * 1024 * 1024
