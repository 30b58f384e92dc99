"""The Janus that the extension or ``nbconference serve`` starts for itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import JanusConfig
from .plane import SfuRooms, start_sfu
from .supervisor import JanusProcess

if TYPE_CHECKING:
    from ..config import SignalingSettings
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


async def start_plane(registry: RoomRegistry, process: JanusProcess) -> SfuRooms:
    """Put the SFU plane over ``process`` into ``registry``: its rooms then carry the SFU
    frames (without it they are answered ``sfu-unavailable``)."""
    config = process.config
    plane = await start_sfu(
        process.url,
        config.api_secret,
        config.admin_key,
        registry.limits.max_peers_per_room,
        registry._deliver_event,
        lambda room: [p for p in registry.local.values() if p.room == room],
    )
    registry.sfu = plane
    return plane
