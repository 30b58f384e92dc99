"""Janus, the SFU that rooms past the mesh will use: a generated config, a supervised
process, the server's own client of its JSON API, and the SFU plane (:mod:`.plane`) that
carries the ``sfu-*`` frames of our socket."""

from .client import JanusClient, JanusError, JanusHandle, JanusSession
from .config import JanusConfig, write_config
from .supervisor import JanusMissing, JanusProcess

__all__ = [
    "JanusClient",
    "JanusConfig",
    "JanusError",
    "JanusHandle",
    "JanusMissing",
    "JanusProcess",
    "JanusSession",
    "write_config",
]
