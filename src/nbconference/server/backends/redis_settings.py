"""The settings that decide a room's media, agreed between the servers that share Redis.

A room of the Redis backend spans servers, and each of them decides on its own when the
room moves to the SFU (``mesh_max_peers``), how many may enter (``max_peers_per_room``),
which Janus it is pinned to (``sfu``, ``janus_urls`` and their secrets) and whether its
peers relay (``ice_transport_policy``). Servers that disagree would move one room at
different sizes, or pin it to a Janus another cannot reach. So:

- ``P:settings`` (string, prefix ``P``) holds these settings as JSON, the Janus secrets
  only as fingerprints. The first server to start with Redis sets it; every later one
  compares its own with it, and refuses to start (:class:`ReplicasDisagree`) naming each
  setting that differs and both values.
- Each server renews the key with its presence (every third of the presence TTL, at
  most every 5 s), and it expires one TTL after the last server stopped renewing it. A
  deployment changes these settings by restarting all of its servers: once none is
  left for a TTL, the next server's settings are the new record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

# The settings every server of a Redis deployment must share (SignalingSettings' names).
SHARED_SETTINGS: Final = (
    "sfu",
    "janus_urls",
    "mesh_max_peers",
    "max_peers_per_room",
    "ice_transport_policy",
    "janus_api_secret",
    "janus_admin_key",
)
# Recorded and compared only as fingerprints: a secret never goes to Redis.
SECRET_SETTINGS: Final = frozenset({"janus_api_secret", "janus_admin_key"})

AGREE = """
-- KEYS: settings. ARGV: our settings (JSON), ttl_ms. The recorded settings: ours when
-- none were recorded (recorded now); renewed when they are ours.
local recorded = redis.call('GET', KEYS[1])
if not recorded then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return ARGV[1]
end
if recorded == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return recorded
"""


class ReplicasDisagree(Exception):
    """This server's shared settings differ from those the servers sharing Redis use."""


def settings_key(prefix: str) -> str:
    return f"{prefix}:settings"


def fingerprint(secret: str) -> str:
    """A short digest of ``secret`` that tells two secrets apart without holding either
    ('' when there is none)."""
    if not secret:
        return ""
    digest = hashlib.sha256(b"nbconference shared setting\0" + secret.encode())
    return "sha256:" + digest.hexdigest()[:16]


def shared_record(settings: Mapping[str, Any]) -> str:
    """The record of ``settings`` (a value for each of SHARED_SETTINGS) kept in Redis."""
    shown = {
        name: fingerprint(str(settings[name])) if name in SECRET_SETTINGS else settings[name]
        for name in SHARED_SETTINGS
    }
    return json.dumps(shown, sort_keys=True, separators=(",", ":"))


def differences(ours: str, recorded: str) -> list[str]:
    """Each setting that differs between two records, with both values (ours first)."""
    mine, theirs = json.loads(ours), _loads(recorded)
    found = []
    for name in sorted(set(mine) | set(theirs)):
        here, there = mine.get(name), theirs.get(name)
        if here == there:
            continue
        if name in SECRET_SETTINGS:
            found.append(
                f"{name} differs (fingerprint {here or 'none'} here, {there or 'none'} recorded)"
            )
        else:
            found.append(f"{name} is {json.dumps(here)} here, {json.dumps(there)} recorded")
    return found


def disagreement(ours: str, recorded: str, redis_url: str, key: str) -> str:
    """The message that refuses a server whose record ``ours`` is not ``recorded``."""
    parts = urlsplit(redis_url)
    where = f"{parts.hostname}:{parts.port or 6379}" if parts.hostname else parts.path
    listed = "; ".join(differences(ours, recorded))
    return (
        "nbconference: this server's settings differ from those of the servers already "
        f"sharing Redis at {where} (recorded in {key!r}): {listed}. Every server sharing "
        "Redis must use the same values for these. To change them on purpose, stop every "
        "server, wait for the record to expire (reconnect_grace_seconds after the last one "
        "stopped), and start them all with the new settings (see docs/deployment.md)."
    )


def _loads(recorded: str) -> dict[str, Any]:
    try:
        value = json.loads(recorded)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
