"""The SFU plane the settings ask for: over the Janus that the extension or ``nbconference
serve`` starts for itself, or over the existing instances of ``janus_urls``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .config import JanusConfig
from .plane import RoomPeers, start_sfu
from .pool import JanusPool, open_instances
from .supervisor import JanusProcess

if TYPE_CHECKING:
    from ..config import SignalingSettings
    from ..peer import Peer
    from ..rooms import RoomRegistry


def wants_own_janus(settings: SignalingSettings) -> bool:
    """``sfu = "janus"`` with no ``janus_urls``: we start and supervise Janus ourselves."""
    return settings.sfu == "janus" and not settings.janus_urls


async def start_own_janus(settings: SignalingSettings) -> JanusProcess | None:
    """Start the supervised Janus the settings ask for (None when they ask for none).

    Raises :class:`JanusMissing` (naming the apt package) when ``janus`` is not installed."""
    if not wants_own_janus(settings):
        return None
    config = JanusConfig(
        rtp_port_range=settings.janus_rtp_port_range,
        ice_enforce_list=settings.janus_ice_enforce_list,
        nat_1_1_mapping=settings.janus_nat_1_1_mapping,
    )
    process = JanusProcess(config)
    await process.start()
    return process


def local_peers(registry: RoomRegistry) -> RoomPeers:
    """Our peers in a room, as the plane asks for them."""

    def peers(room: str) -> list[Peer]:
        return [p for p in registry.local.values() if p.room == room]

    return peers


async def start_plane(registry: RoomRegistry, process: JanusProcess) -> JanusPool:
    """Put the SFU plane over ``process`` into ``registry``: its rooms then carry the SFU
    frames (without it they are answered ``sfu-unavailable``)."""
    config = process.config
    peers = local_peers(registry)
    plane = await start_sfu(
        process.url,
        config.api_secret,
        config.admin_key,
        registry.limits.max_peers_per_room,
        registry._deliver_event,
        peers,
    )
    registry.sfu = JanusPool([plane], peers)
    return registry.sfu


async def start_janus(registry: RoomRegistry, settings: SignalingSettings) -> JanusProcess | None:
    """The SFU plane of ``settings`` into ``registry`` (nothing when ``sfu`` is ''): over
    the existing instances of ``janus_urls`` (see :func:`.pool.open_instances`: JanusUnusable
    when none can be used), else over a Janus of our own, which is returned (the caller
    stops it)."""
    if settings.sfu != "janus":
        return None
    # Joins wait until the plane is in place (or failed to start): see RoomRegistry.
    registry.sfu_starting = asyncio.Event()
    try:
        return await _start_plane_of(registry, settings)
    finally:
        registry.sfu_starting.set()


async def _start_plane_of(
    registry: RoomRegistry, settings: SignalingSettings
) -> JanusProcess | None:
    if settings.janus_urls:
        registry.sfu = await open_instances(
            list(settings.janus_urls),
            settings.janus_api_secret,
            settings.janus_admin_key,
            registry.limits.max_peers_per_room,
            registry._deliver_event,
            local_peers(registry),
            shared=registry.backend,
        )
        return None
    process = await start_own_janus(settings)
    assert process is not None
    try:
        await start_plane(registry, process)
    except BaseException:
        await process.stop()
        raise
    return process
