"""Command line: ``nbconference serve`` runs standalone signaling.

Its signaling flags are made from the ``SignalingSettings`` traits (``max_peers_per_room``
becomes ``--max-peers-per-room``, with the trait's help), so a new setting gets its flag
and its help is written once.
"""

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
from pathlib import Path
from typing import Any

from traitlets import CaselessStrEnum, Float, Int, List, TraitError, TraitType, Unicode

from .server.backends.redis_settings import ReplicasDisagree
from .server.config import SignalingSettings
from .server.hub import HubMisconfigured, HubService
from .server.janus.pool import JanusUnusable
from .server.janus.supervisor import JanusMissing
from .server.standalone import MIN_TOKEN_CHARS, check_host_token, refuse_room_access

DEFAULT_COOKIE_SECRET_FILE = "nbconference_cookie_secret"


def build_parser() -> argparse.ArgumentParser:
    """The ``nbconference`` command line parser."""
    parser = argparse.ArgumentParser(prog="nbconference")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run signaling without Jupyter")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8765, 0 = any free)")
    tokens = serve.add_mutually_exclusive_group()
    tokens.add_argument(
        "--token-file",
        metavar="PATH",
        help="read the token clients must present from this file (its first line); "
        "without it or --token, $NBCONFERENCE_TOKEN, else a random token that is printed. "
        f"At least {MIN_TOKEN_CHARS} characters",
    )
    tokens.add_argument(
        "--token",
        help="the token itself; it shows in `ps` to every user of the machine, so prefer "
        "--token-file or $NBCONFERENCE_TOKEN",
    )
    serve.add_argument(
        "--host-token-file",
        metavar="PATH",
        help="read a second token from this file (its first line): a client that presents "
        "it instead of the token hosts every room it joins (mutes, removes, ends the call; "
        "docs/protocol.md, 'Hosts'). This server knows nobody, so without it no room has a "
        f"host. At least {MIN_TOKEN_CHARS} characters, and not the token",
    )
    serve.add_argument("--allow-origin", help="regex of page origins allowed (default: any)")
    serve.add_argument(
        "--cookie-secret-file",
        metavar="PATH",
        default=DEFAULT_COOKIE_SECRET_FILE,
        help="as a JupyterHub service (see docs/deployment.md): the file that keeps the "
        "secret of the service's sign-in cookies, made (mode 0600) when absent, so that a "
        f"restart does not sign everyone out (default: {DEFAULT_COOKIE_SECRET_FILE} in the "
        "current directory)",
    )
    serve.add_argument(
        "--redis", metavar="URL", help="use the Redis backend at URL (--backend redis --redis-url)"
    )
    serve.add_argument(
        "--certfile",
        metavar="PEM",
        help="serve wss:// with this certificate (chain); pages on https:// need it",
    )
    serve.add_argument("--keyfile", metavar="PEM", help="its private key, if not in --certfile")
    serve.add_argument(
        "--idle-exit",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="exit after this long with no socket open (default 0: never)",
    )
    serve.add_argument(
        "--runtime-file",
        metavar="PATH",
        help='once listening, write {"pid", "port", "url", "token"} there (mode 0600); '
        "removed on exit if it still names this process",
    )
    settings = serve.add_argument_group("signaling settings (c.NBConference.* in Jupyter)")
    defaults = SignalingSettings()
    for name, trait in sorted(SignalingSettings.class_traits(config=True).items()):
        settings.add_argument(
            flag(name),
            dest=name,
            help=f"{trait.help} (default: {json.dumps(getattr(defaults, name))})".replace(
                "%", "%%"
            ),
            **_value_options(name, trait),
        )
    return parser


def flag(setting: str) -> str:
    """The command-line flag of a ``SignalingSettings`` trait."""
    return "--" + setting.replace("_", "-")


def _value_options(name: str, trait: TraitType[Any, Any]) -> dict[str, Any]:
    if isinstance(trait, CaselessStrEnum):
        return {"type": str.lower, "choices": trait.values}
    if isinstance(trait, Int):
        return {"type": int, "metavar": "N"}
    if isinstance(trait, Float):
        return {"type": float, "metavar": "X"}
    if isinstance(trait, Unicode):
        return {"metavar": "TEXT"}
    if isinstance(trait, List):
        return {"metavar": "JSON|@FILE"}
    raise TypeError(f"no command-line form for {name}, a {type(trait).__name__} trait")


def settings_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> SignalingSettings:
    """``SignalingSettings`` with every flag given applied; a bad value exits with a message."""
    settings = SignalingSettings()
    if args.redis:
        settings.backend, settings.redis_url = "redis", args.redis
    for name, trait in SignalingSettings.class_traits(config=True).items():
        value = getattr(args, name)
        if value is None:
            continue
        try:
            if isinstance(trait, List):
                value = _load_json(value)
            elif name in SECRET_SETTINGS and value.startswith("@"):
                value = _read_secret(value[1:])
            setattr(settings, name, value)
        except (OSError, ValueError, TraitError) as error:
            # The trait's own message starts with its name; the flag names it here.
            parser.error(f"{flag(name)}: {str(error).removeprefix(f'{name}: ')}")
    try:
        settings.turn()
        settings.check_janus()
    except ValueError as error:
        parser.error(str(error))
    return settings


# Settings whose flag also takes @FILE, so that the value stays out of `ps` and shell
# history.
SECRET_SETTINGS = frozenset({"turn_secret", "janus_api_secret", "janus_admin_key"})


def _read_secret(path: str) -> str:
    """The first line of file ``path``; ValueError if there is none."""
    with open(path, encoding="utf-8") as file:
        secret = file.readline().strip()
    if not secret:
        raise ValueError(f"{path} is empty")
    return secret


def _load_json(value: str) -> Any:
    """JSON from the command line, or from the file named by ``@FILE``."""
    if value.startswith("@"):
        with open(value[1:], encoding="utf-8") as file:
            value = file.read()
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error})") from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    from .server.standalone import serve_forever, tls_context

    tls = None
    if args.keyfile and not args.certfile:
        parser.error("--keyfile needs --certfile")
    if args.certfile:
        try:
            tls = tls_context(args.certfile, args.keyfile)
        except (OSError, ssl.SSLError) as error:
            parser.error(f"cannot use --certfile/--keyfile: {error}")
    settings = settings_from(args, parser)
    hub = hub_from(args, parser)
    token = None if hub else token_from(args, parser)
    host_token = host_token_from(args, parser, token, hub)
    if hub is None:
        try:
            refuse_room_access(settings)
        except ValueError as error:
            parser.error(str(error))
    if args.idle_exit < 0:
        parser.error("--idle-exit must be 0 (never) or a number of seconds")
    runtime_file = Path(args.runtime_file).absolute() if args.runtime_file else None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    _raise_open_files_limit()
    with contextlib.suppress(KeyboardInterrupt):
        try:
            asyncio.run(
                _until_stopped(
                    serve_forever(
                        runtime_file=runtime_file,
                        idle_exit=args.idle_exit,
                        token_shown=token is None,
                        settings=settings,
                        host=args.host or "127.0.0.1",
                        port=8765 if args.port is None else args.port,
                        token=token,
                        allow_origin=args.allow_origin,
                        tls=tls,
                        hub=hub,
                        host_token=host_token,
                    )
                )
            )
        except (JanusMissing, JanusUnusable, HubMisconfigured, ReplicasDisagree) as missing:
            # The startup errors for an SFU that is missing or refuses us, a Hub that is
            # misconfigured, replicas that disagree: no traceback.
            print(missing, file=sys.stderr, flush=True)
            return 1
    return 0


def _raise_open_files_limit() -> None:
    """Every socket is an open file: take all the hard limit allows (as servers do),
    rather than the soft limit's usual 1,024."""
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def hub_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> HubService | None:
    """This process as a JupyterHub service, when the environment JupyterHub gives its
    services says it is one; None otherwise."""
    try:
        hub = HubService.from_environ(os.environ, Path(args.cookie_secret_file))
    except HubMisconfigured as error:
        parser.error(str(error))
    except (OSError, ValueError) as error:
        parser.error(f"cannot use --cookie-secret-file: {error}")
    if hub is None:
        return None
    given = [
        name
        for name in ("host", "port", "token", "token_file", "allow_origin", "certfile")
        if getattr(args, name) is not None
    ]
    if given:
        parser.error(
            f"{', '.join(flag(name) for name in given)}: not for a JupyterHub service "
            "(JUPYTERHUB_SERVICE_NAME is set): the Hub says where it listens "
            "(JUPYTERHUB_SERVICE_URL) and authenticates every socket"
        )
    return hub


def host_token_from(
    args: argparse.Namespace,
    parser: argparse.ArgumentParser,
    token: str | None,
    hub: HubService | None,
) -> str | None:
    """The host token from --host-token-file (None without it)."""
    if not args.host_token_file:
        return None
    path = args.host_token_file
    try:
        with open(path, encoding="utf-8") as file:
            host_token = file.readline().strip()
    except (OSError, UnicodeDecodeError) as error:
        parser.error(f"cannot read --host-token-file: {error}")
    if not host_token:
        parser.error(f"--host-token-file {path} is empty")
    try:
        check_host_token(host_token, token or "", hub)
    except ValueError as error:
        parser.error(f"--host-token-file: {error}")
    return host_token


def token_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str | None:
    """The token from --token, --token-file or $NBCONFERENCE_TOKEN (None: make one up)."""
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as file:
                token: str | None = file.readline().strip()
        except (OSError, UnicodeDecodeError) as error:
            parser.error(f"cannot read --token-file: {error}")
        if not token:
            parser.error(f"--token-file {args.token_file} is empty")
        source = "--token-file"
    elif args.token is not None:
        token, source = args.token, "--token"
    else:
        token, source = os.environ.get("NBCONFERENCE_TOKEN") or None, "$NBCONFERENCE_TOKEN"
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        parser.error(
            f"the token from {source} must be at least {MIN_TOKEN_CHARS} characters long "
            f"(it has {len(token)})"
        )
    return token


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
