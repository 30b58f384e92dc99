"""Command line: ``nbconference serve`` runs standalone signaling."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import ssl
import sys
from collections.abc import Coroutine
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nbconference")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run signaling without Jupyter")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765, 0 = any free)")
    serve.add_argument(
        "--token",
        default=os.environ.get("NBCONFERENCE_TOKEN"),
        help="token clients must present (default: $NBCONFERENCE_TOKEN, else a random one)",
    )
    serve.add_argument("--allow-origin", help="regex of page origins allowed (default: any)")
    serve.add_argument("--redis", metavar="URL", help="use the Redis backend at URL")
    serve.add_argument(
        "--certfile",
        metavar="PEM",
        help="serve wss:// with this certificate (chain); pages on https:// need it",
    )
    serve.add_argument("--keyfile", metavar="PEM", help="its private key, if not in --certfile")
    serve.add_argument(
        "--ice-servers",
        metavar="JSON",
        help="""STUN/TURN servers handed to every peer: a JSON list of RTCIceServer objects,
        or @FILE holding one (default: none, enough on one machine or LAN)""",
    )
    serve.add_argument("--max-peers-per-room", type=int)
    serve.add_argument("--messages-per-second", type=float)
    serve.add_argument("--message-burst", type=int)
    serve.add_argument("--reconnect-grace-seconds", type=float)
    args = parser.parse_args(argv)

    from .server.config import SignalingSettings
    from .server.standalone import serve_forever, tls_context

    tls = None
    if args.keyfile and not args.certfile:
        parser.error("--keyfile needs --certfile")
    if args.certfile:
        try:
            tls = tls_context(args.certfile, args.keyfile)
        except (OSError, ssl.SSLError) as error:
            parser.error(f"cannot use --certfile/--keyfile: {error}")
    settings = SignalingSettings()
    if args.ice_servers:
        try:
            settings.ice_servers = _load_ice_servers(args.ice_servers)
        except (OSError, ValueError) as error:
            parser.error(f"--ice-servers: {error}")
    if args.redis:
        settings.backend, settings.redis_url = "redis", args.redis
    for name in (
        "max_peers_per_room",
        "messages_per_second",
        "message_burst",
        "reconnect_grace_seconds",
    ):
        if getattr(args, name) is not None:
            setattr(settings, name, getattr(args, name))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            _until_stopped(
                serve_forever(
                    settings=settings,
                    host=args.host,
                    port=args.port,
                    token=args.token,
                    allow_origin=args.allow_origin,
                    tls=tls,
                )
            )
        )
    return 0


def _load_ice_servers(value: str) -> list[dict[str, Any]]:
    from .server.config import check_ice_servers

    if value.startswith("@"):
        with open(value[1:], encoding="utf-8") as file:
            value = file.read()
    try:
        servers = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error})") from None
    return check_ice_servers(servers)


async def _until_stopped(serving: Coroutine[Any, Any, None]) -> None:
    """Run ``serving`` until SIGINT or SIGTERM (systemd, containers), then let it clean up.

    Only the serving task is cancelled, so the server's own tasks (the Redis backend's
    writer among them) still run while it tells every peer's room that the peer left,
    rather than leaving them to linger in other servers' rooms until presence expires.
    """
    task = asyncio.ensure_future(serving)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


if __name__ == "__main__":
    sys.exit(main())
