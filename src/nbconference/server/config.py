"""Signaling settings, shared by the Jupyter extension and ``nbconference serve``.

In Jupyter they are ``c.NBConference.*``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from traitlets import CaselessStrEnum, Float, Int, List, TraitError, Unicode, default, validate
from traitlets.config import Configurable

from ..protocol import DEFAULT_CHAT_LIMITS, DEFAULT_LIMITS, ChatLimits, Limits
from .access import OwnedRooms, RoomAccess, parse_room_access
from .backends.base import Backend
from .backends.redis_defaults import REDIS_BYTES_PER_PEER_PER_SECOND, REDIS_MAX_QUEUED_BYTES
from .backends.redis_settings import SHARED_SETTINGS
from .janus.config import parse_addresses, parse_port_range
from .rooms import RoomRegistry
from .turn import TurnSettings, check_turn_url, has_turn, turn_settings

# The default room cap when rooms can move to an SFU: a class.
SFU_MAX_PEERS_PER_ROOM = 50


class SignalingSettings(Configurable):
    ice_servers: List[dict[str, Any]] = List(
        default_value=[],
        help="""ICE servers handed to every peer in 'welcome', as RTCIceServer dicts, e.g.
        [{"urls": "stun:stun.example.org:3478"},
         {"urls": "turn:turn.example.org:3478", "username": "u", "credential": "p"}].
        Empty (the default) means host candidates only: enough on one machine or LAN.""",
    ).tag(config=True)

    @validate("ice_servers")
    def _check_ice_servers(self, proposal: Any) -> list[dict[str, Any]]:
        try:
            return check_ice_servers(proposal["value"])
        except ValueError as error:
            raise TraitError(f"ice_servers: {error}") from None

    turn_urls = List(
        Unicode(),
        default_value=[],
        help="""TURN servers that share turn_secret with this server (coturn's
        use-auth-secret), e.g. ["turn:turn.example.org:3478?transport=udp",
        "turns:turn.example.org:443?transport=tcp"]. Every peer gets its own credentials
        for them, valid turn_ttl_seconds and renewed before they expire. A KernelPeer
        (aiortc) uses only the first URL. Empty (the default): no TURN but ice_servers'.""",
    ).tag(config=True)

    @validate("turn_urls")
    def _check_turn_urls(self, proposal: Any) -> list[str]:
        try:
            return [check_turn_url(url) for url in proposal["value"]]
        except ValueError as error:
            raise TraitError(f"turn_urls: {error}") from None

    turn_secret = Unicode(
        "",
        help="""The TURN server's static-auth-secret, from which each peer's credentials
        are made. It never leaves this server: keep it out of shell history with
        '--turn-secret @FILE' on 'nbconference serve'.""",
    ).tag(config=True)

    turn_ttl_seconds = Int(
        3600,
        min=5,
        help="""How long a peer's TURN credentials are valid; new ones reach it before
        they expire (at four fifths of this) and whenever it resumes. The TURN server checks them
        when a connection allocates a relay, so a call already relayed outlasts them.""",
    ).tag(config=True)

    ice_transport_policy = CaselessStrEnum(
        ["all", "relay"],
        default_value="all",
        help="""Which ICE candidates peers use: 'all' (direct where possible) or 'relay'
        (the TURN server only: no participant learns another's IP addresses, at the cost
        of relaying every call). 'relay' needs turn_urls or a TURN server in ice_servers.""",
    ).tag(config=True)

    max_peers_per_room = Int(
        DEFAULT_LIMITS.max_peers_per_room,
        help=f"""Most peers in one room. By default {SFU_MAX_PEERS_PER_ROOM} with an SFU
        (sfu = 'janus'), else {DEFAULT_LIMITS.max_peers_per_room}: a full mesh costs every
        peer N-1 uplinks, so rooms past about 8 need an SFU rather than a bigger cap. An
        explicit value wins either way.""",
    ).tag(config=True)

    @default("max_peers_per_room")
    def _default_max_peers_per_room(self) -> int:
        # Read when first asked for, after the config (and sfu with it) is loaded.
        return SFU_MAX_PEERS_PER_ROOM if self.sfu else DEFAULT_LIMITS.max_peers_per_room

    max_message_bytes = Int(
        DEFAULT_LIMITS.max_message_bytes,
        help="Largest client frame relayed; larger ones get a 'too-large' error.",
    ).tag(config=True)

    messages_per_second = Float(
        DEFAULT_LIMITS.messages_per_second,
        help="Sustained messages per second one socket may send before 'rate-limited'.",
    ).tag(config=True)

    message_burst = Int(
        DEFAULT_LIMITS.message_burst, help="Messages one socket may send in a burst."
    ).tag(config=True)

    reconnect_grace_seconds = Float(
        DEFAULT_LIMITS.reconnect_grace_seconds,
        help="""How long a peer whose socket dropped (without a clean close) keeps its id and
        room: it may rejoin with its resume token meanwhile, and the others see 'peer-left'
        only when the window passes.""",
    ).tag(config=True)

    max_sockets_per_user = Int(
        DEFAULT_LIMITS.max_sockets_per_user,
        help="""Most signaling sockets one Jupyter user may hold open at once (every
        browser tab that shows a widget holds one); past it the handshake gets HTTP 429.
        Sockets that present only the server's token share one count. Used by the Jupyter
        extension, where (behind JupyterHub's proxy) every socket comes from one address.
        0 means no cap.""",
    ).tag(config=True)

    max_sockets_per_address = Int(
        DEFAULT_LIMITS.max_sockets_per_address,
        help="""Most signaling sockets one remote address may hold open at once on
        'nbconference serve'; past it the handshake gets HTTP 429. Behind a reverse proxy
        every socket comes from the proxy's address: raise it, or 0 for no cap.""",
    ).tag(config=True)

    header_timeout_seconds = Float(
        5.0,
        help="""How long a connection to 'nbconference serve' has to send its whole request
        head (the WebSocket handshake, after TLS) before it is closed; also how long an
        idle HTTP connection is kept. A browser takes milliseconds; a client that trickles
        its headers to hold a connection open is cut off. 'nbconference serve' only.""",
    ).tag(config=True)

    max_header_bytes = Int(
        16 * 1024,
        help="""Largest request head (request line and headers) 'nbconference serve' reads;
        a connection that sends more is closed. A token and a browser's cookies fit well
        within the default. 'nbconference serve' only.""",
    ).tag(config=True)

    max_pending_per_address = Int(
        256,
        help="""Most connections one remote address may hold open on 'nbconference serve'
        before their handshake is done (they have not shown the token yet); past it that
        address's oldest such connection is closed. The default lets a burst of joins from
        one machine through (a class joining at once, a load test); the header timeout
        closes slow ones in any case. Behind a reverse proxy every
        connection comes from the proxy's address: raise it, or 0 for no cap.""",
    ).tag(config=True)

    max_queued_bytes = Int(
        DEFAULT_LIMITS.max_queued_bytes,
        help="""Most bytes of messages kept for one peer that its socket has not taken yet:
        while it reads more slowly than others send to it, and while it is away inside its
        grace window. A signal that does not fit is refused to its sender with
        'peer-unavailable'. Room events (joins, leaves, state) may use twice this; a peer
        further behind than that leaves the room.""",
    ).tag(config=True)

    send_timeout_seconds = Float(
        DEFAULT_LIMITS.send_timeout_seconds,
        help="""A socket with messages waiting that takes not a single byte for this long
        has stopped reading: it is closed with 1008 (its peer keeps its grace window). A
        client that reads, however slowly, is never closed for it.""",
    ).tag(config=True)

    joins_per_minute = Float(
        DEFAULT_LIMITS.joins_per_minute,
        help="""Sustained joins per minute on one socket (after a burst of join_burst)
        before 'rate-limited': every join makes each browser in the room set up a peer
        connection.""",
    ).tag(config=True)

    join_burst = Int(DEFAULT_LIMITS.join_burst, help="Joins one socket may make in a burst.").tag(
        config=True
    )

    backend = CaselessStrEnum(
        ["memory", "redis"],
        default_value="memory",
        help="""Where rooms live: 'memory' (this process only, nothing else needed) or
        'redis' (rooms span servers; needs nbconference[redis] and redis_url).""",
    ).tag(config=True)

    redis_url = Unicode(
        "redis://127.0.0.1:6379/0", help="Redis server used when backend is 'redis'."
    ).tag(config=True)

    sfu = CaselessStrEnum(
        ["", "janus"],
        default_value="",
        help="""The SFU that rooms past mesh_max_peers move to: '' (the default: every
        room is a mesh) or 'janus'. A room moves once it holds more than mesh_max_peers
        participants that send media (recorders do not count) and stays on the SFU until
        it empties. An SFU room's media are decrypted at Janus.""",
    ).tag(config=True)

    mesh_max_peers = Int(
        4,
        help="""Most participants that send media a room keeps as a full mesh; one more
        moves it to the SFU (when sfu is set).""",
    ).tag(config=True)

    janus_urls = List(
        Unicode(),
        default_value=[],
        help="""Janus instances to use when sfu is 'janus'. Empty (the default): start and
        supervise a janus process of our own, with a generated config, a random API
        secret and its API on 127.0.0.1 only. Else the WebSocket API URLs (ws:// or
        wss://) of existing instances, e.g. ["ws://10.0.0.7:8188/"], which share
        janus_api_secret and janus_admin_key: none is started, and each room that moves to
        the SFU is pinned to the reachable instance with the fewest publishers; if that
        instance is lost, its rooms move to another and their participants publish again.
        Janus' Unix-socket transport (unix:) is not supported. Replicas of 'nbconference
        serve' that share Redis share the pins and the feeds through it: give them all the
        same janus_urls (one with others is refused at start).""",
    ).tag(config=True)

    @validate("janus_urls")
    def _check_janus_urls(self, proposal: Any) -> list[str]:
        try:
            return [check_janus_url(url) for url in proposal["value"]]
        except ValueError as error:
            raise TraitError(f"janus_urls: {error}") from None

    janus_api_secret = Unicode(
        "",
        help="""The api_secret (janus.jcfg) of the Janus instances in janus_urls. It never
        leaves this server: keep it out of shell history with '--janus-api-secret @FILE' on
        'nbconference serve'. Unused without janus_urls (our own Janus gets a random
        one).""",
    ).tag(config=True)

    janus_admin_key = Unicode(
        "",
        help="""The VideoRoom plugin's admin_key (janus.plugin.videoroom.jcfg) of the Janus
        instances in janus_urls, with which rooms are created and destroyed. It never
        leaves this server ('--janus-admin-key @FILE' on 'nbconference serve'). Unused
        without janus_urls.""",
    ).tag(config=True)

    janus_rtp_port_range = Unicode(
        "20000-20999",
        help="""UDP ports ('FIRST-LAST') the Janus we start uses for media; open them in
        the firewall. Each peer on the SFU takes a few.""",
    ).tag(config=True)

    janus_ice_enforce_list = Unicode(
        "127.0.0.1",
        help="""Interfaces or addresses (comma-separated) the Janus we start gathers ICE
        candidates on. The default, loopback only, serves browsers on this machine; a
        deployment names the interface or address browsers reach (e.g. 'eth0' or
        '10.0.0.5'), or '' for every one. See docs/deployment.md ("Janus").""",
    ).tag(config=True)

    janus_nat_1_1_mapping = Unicode(
        "",
        help="""The public IP address(es) of the Janus we start, comma-separated, when its
        machine sits behind 1:1 NAT (a cloud VM): Janus advertises them in its
        candidates instead of the private ones.""",
    ).tag(config=True)

    @validate("janus_nat_1_1_mapping")
    def _check_nat_mapping(self, proposal: Any) -> str:
        try:
            parse_addresses(proposal["value"])
        except ValueError as error:
            raise TraitError(f"janus_nat_1_1_mapping: {error}") from None
        return str(proposal["value"])

    @validate("janus_rtp_port_range")
    def _check_rtp_port_range(self, proposal: Any) -> str:
        try:
            parse_port_range(proposal["value"])
        except ValueError as error:
            raise TraitError(f"janus_rtp_port_range: {error}") from None
        return str(proposal["value"])

    redis_timeout_seconds = Float(
        5.0,
        help="""How long to wait for Redis (to connect, to answer a join) before a join is
        refused with 'backend-unavailable'.""",
    ).tag(config=True)

    redis_max_queued_bytes = Int(
        REDIS_MAX_QUEUED_BYTES,
        help="""Most bytes of writes waiting for Redis (while it is slow or unreachable);
        past it, joins, signals and room updates are refused with 'backend-unavailable'.""",
    ).tag(config=True)

    redis_bytes_per_peer_per_second = Int(
        REDIS_BYTES_PER_PEER_PER_SECOND,
        help="""Bytes of signals per second this server sends through Redis to any one
        peer on another server (with bursts of two seconds' worth); more is refused to
        its sender with 'peer-unavailable'. It keeps the receiving server's pub/sub
        buffer in Redis below client-output-buffer-limit (see docs/deployment.md).""",
    ).tag(config=True)

    # -- who may enter ---------------------------------------------------------------

    room_access: List[dict[str, Any]] = List(
        default_value=[],
        help="""Who may enter which rooms: a list of rules
        {"rooms": GLOB, "allow": [...], "hosts": [...]}, e.g.
        [{"rooms": "physics-*", "allow": ["group:physics"], "hosts": ["ada"]}]. The first
        rule whose glob matches a room's name (case-sensitive) decides; a room no rule
        matches is open. Entries are usernames, 'group:NAME' or '*' (anyone signed in);
        hosts may always enter. Anyone else gets 'not-allowed', and nobody in the room
        learns of it. In the Jupyter extension a connection with only the server's token
        (a KernelPeer, a script) is the server's owner. Needs identities: 'nbconference
        serve' with its token alone refuses it.""",
    ).tag(config=True)

    @validate("room_access")
    def _check_room_access(self, proposal: Any) -> list[dict[str, Any]]:
        try:
            parse_room_access(proposal["value"])
        except ValueError as error:
            raise TraitError(f"room_access: {error}") from None
        return list(proposal["value"])

    # -- chat ------------------------------------------------------------------------

    max_chat_bytes = Int(
        DEFAULT_CHAT_LIMITS.max_chat_bytes,
        help="""Largest chat message, in UTF-8 bytes of its text; longer ones are refused
        with 'chat-too-long' (the whole frame must also fit in max_message_bytes).""",
    ).tag(config=True)

    chat_messages_per_second = Float(
        DEFAULT_CHAT_LIMITS.chat_messages_per_second,
        help="""Sustained chat messages per second one peer may post (after a burst of
        chat_burst); faster ones are refused with 'chat-rate-limited'. Apart from
        messages_per_second, which signaling needs high.""",
    ).tag(config=True)

    chat_burst = Int(
        DEFAULT_CHAT_LIMITS.chat_burst, help="Chat messages one peer may post in a burst."
    ).tag(config=True)

    chat_history_messages = Int(
        DEFAULT_CHAT_LIMITS.chat_history_messages,
        help="""Most chat messages a room keeps for late joiners (0: none). The history is
        gone when the room empties.""",
    ).tag(config=True)

    chat_history_bytes = Int(
        DEFAULT_CHAT_LIMITS.chat_history_bytes,
        help="""Most bytes of chat frames a room keeps for late joiners; the oldest go
        first.""",
    ).tag(config=True)

    def chat_limits(self) -> ChatLimits:
        return ChatLimits(
            max_chat_bytes=self.max_chat_bytes,
            chat_messages_per_second=self.chat_messages_per_second,
            chat_burst=self.chat_burst,
            chat_history_messages=self.chat_history_messages,
            chat_history_bytes=self.chat_history_bytes,
        )

    def limits(self) -> Limits:
        return Limits(
            max_peers_per_room=self.max_peers_per_room,
            max_message_bytes=self.max_message_bytes,
            messages_per_second=self.messages_per_second,
            message_burst=self.message_burst,
            reconnect_grace_seconds=self.reconnect_grace_seconds,
            max_sockets_per_user=self.max_sockets_per_user,
            max_sockets_per_address=self.max_sockets_per_address,
            max_queued_bytes=self.max_queued_bytes,
            send_timeout_seconds=self.send_timeout_seconds,
            joins_per_minute=self.joins_per_minute,
            join_burst=self.join_burst,
        )

    def make_backend(self) -> Backend:
        if self.backend == "redis":
            from .backends.redis import RedisBackend

            backend: Backend = RedisBackend(
                self.redis_url,
                self.reconnect_grace_seconds,
                timeout=self.redis_timeout_seconds,
                max_queued_bytes=self.redis_max_queued_bytes,
                target_bytes_per_second=self.redis_bytes_per_peer_per_second,
                max_message_bytes=self.max_message_bytes,
                chat_limits=self.chat_limits(),
                shared_settings={name: getattr(self, name) for name in SHARED_SETTINGS},
            )
            return backend
        from .backends.memory import MemoryBackend

        return MemoryBackend(self.chat_limits())

    def turn(self) -> TurnSettings | None:
        """The TURN settings, checked together (ValueError says what is missing)."""
        turn = turn_settings(list(self.turn_urls), self.turn_secret, self.turn_ttl_seconds)
        if self.ice_transport_policy == "relay" and not has_turn(self.ice_servers, turn):
            raise ValueError(
                "ice_transport_policy 'relay' needs a TURN server: set turn_urls and "
                "turn_secret (or a TURN server in ice_servers)"
            )
        return turn

    def check_janus(self) -> None:
        """The Janus settings, checked together (ValueError says what is wrong)."""
        if self.janus_urls and self.sfu != "janus":
            raise ValueError("janus_urls needs sfu = 'janus'")
        if (self.janus_api_secret or self.janus_admin_key) and not self.janus_urls:
            raise ValueError(
                "janus_api_secret and janus_admin_key are for the instances in janus_urls, "
                "which is empty (the Janus this server starts has secrets of its own)"
            )

    def make_registry(
        self, owner: str | None = None, owned: OwnedRooms | None = None
    ) -> RoomRegistry:
        """The registry these settings describe. ``owner``: the username that a socket
        without an identity stands for in ``room_access``; ``owned``: who may enter rooms
        of one user's, where this server keeps them (see :class:`RoomAccess`)."""
        ice_servers: list[dict[str, Any]] = list(self.ice_servers)
        turn = self.turn()
        self.check_janus()
        registry = RoomRegistry(
            self.make_backend(),
            self.limits(),
            ice_servers,
            self.chat_limits(),
            mesh_max_peers=self.mesh_max_peers,
            access=RoomAccess(parse_room_access(self.room_access), owner, owned),
        )
        registry.use_turn(turn, self.ice_transport_policy)
        return registry


def check_janus_url(url: str) -> str:
    """``url`` if it is a ws:// or wss:// URL with a host, else ValueError saying why."""
    if url.startswith("unix:"):
        raise ValueError(
            f"{url!r}: Janus' Unix-socket transport is not supported; give the ws:// or "
            "wss:// URL of its WebSocket transport"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"{url!r} is not a ws:// or wss:// URL of a Janus WebSocket API")
    return url


ICE_SERVER_KEYS = frozenset({"urls", "username", "credential"})


def check_ice_servers(value: Any) -> list[dict[str, Any]]:
    """``value`` if it is a list of RTCIceServer dicts, else ValueError saying what is wrong.

    Browsers refuse the whole configuration over one bad entry, and every peer would
    then fail to connect, so a mistake is better caught when the server starts.
    """
    if not isinstance(value, list):
        raise ValueError(f"expected a list of RTCIceServer objects, got {type(value).__name__}")
    for n, server in enumerate(value):
        if not isinstance(server, dict):
            raise ValueError(f"entry {n} is not an object")
        unknown = set(server) - ICE_SERVER_KEYS
        if unknown:
            raise ValueError(f"entry {n} has unknown keys {sorted(unknown)}")
        urls = server.get("urls")
        urls = [urls] if isinstance(urls, str) else urls
        if not urls or not isinstance(urls, list):
            raise ValueError(f"entry {n} needs 'urls': a URL or a list of URLs")
        for url in urls:
            if not isinstance(url, str) or not url.startswith(("stun:", "turn:", "turns:")):
                raise ValueError(f"entry {n}: {url!r} is not a stun:, turn: or turns: URL")
            if url.startswith("turn") and not (
                isinstance(server.get("username"), str)
                and isinstance(server.get("credential"), str)
            ):
                raise ValueError(f"entry {n}: TURN needs 'username' and 'credential' strings")
    return value
