"""The SFU frames: media through the server's Janus, signaled on our own socket.

A browser never talks to Janus. It sends these frames; the server checks every field and
builds each Janus request itself, with the room and display taken from the authenticated
peer. Streams are named by ``mid``; feeds by OUR peer ids, never Janus ids.
``js/protocol/sfu.js`` mirrors this module; docs/protocol.md ("SFU") documents it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from .encoding import encode
from .errors import ErrorCode, ProtocolError

BAD = ErrorCode.BAD_MESSAGE


class SfuClient:
    """The ``type`` of each SFU frame a client sends."""

    PUBLISH: Final = "sfu-publish"
    SUBSCRIBE: Final = "sfu-subscribe"
    UPDATE: Final = "sfu-update"
    ANSWER: Final = "sfu-answer"
    TRICKLE: Final = "sfu-trickle"
    UNPUBLISH: Final = "sfu-unpublish"


class SfuServer:
    """The ``type`` of each SFU frame the server sends."""

    ANSWER: Final = "sfu-answer"
    OFFER: Final = "sfu-offer"
    FEEDS: Final = "sfu-feeds"
    TRICKLE: Final = "sfu-trickle"


SFU_CLIENT_TYPES: Final = frozenset(v for k, v in vars(SfuClient).items() if k.isupper())
# What a published stream carries.
SFU_KINDS: Final = ("camera", "screen", "audio")
# The two connections a page holds with the SFU.
SFU_PCS: Final = ("publisher", "subscriber")
MAX_SFU_STREAMS: Final = 64
MID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,16}")
# Simulcast layers a subscriber may pick per stream: 0 (lowest) to MAX_SUBSTREAM.
MAX_SUBSTREAM: Final = 2
PEER_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Published:
    mid: str
    kind: str


@dataclass(frozen=True)
class Wanted:
    feed: str  # our peer id
    mid: str | None = None  # the publisher's mid (None: every stream of the feed)
    substream: int | None = None  # the simulcast layer (None: Janus' choice)


@dataclass(frozen=True)
class Configure:
    """A new simulcast layer for one received stream, without a new offer."""

    feed: str  # our peer id
    mid: str  # the SUBSCRIBER connection's mid that carries it (as in sfu-offer's streams)
    substream: int


@dataclass(frozen=True)
class SfuPublish:
    sdp: str
    streams: tuple[Published, ...]


@dataclass(frozen=True)
class SfuSubscribe:
    streams: tuple[Wanted, ...]


@dataclass(frozen=True)
class SfuUpdate:
    subscribe: tuple[Wanted, ...]
    unsubscribe: tuple[Wanted, ...]
    configure: tuple[Configure, ...] = ()


@dataclass(frozen=True)
class SfuAnswer:
    sdp: str


@dataclass(frozen=True)
class SfuTrickle:
    pc: str
    candidate: dict[str, Any] | None  # None: gathering is complete


@dataclass(frozen=True)
class SfuUnpublish:
    pass


SfuMessage = SfuPublish | SfuSubscribe | SfuUpdate | SfuAnswer | SfuTrickle | SfuUnpublish

_FIELDS: Final = {
    SfuClient.PUBLISH: {"jsep", "streams"},
    SfuClient.SUBSCRIBE: {"streams"},
    SfuClient.UPDATE: {"subscribe", "unsubscribe", "configure"},
    SfuClient.ANSWER: {"jsep"},
    SfuClient.TRICKLE: {"pc", "candidate"},
    SfuClient.UNPUBLISH: set(),
}


def _only(obj: dict[str, Any], allowed: set[str], what: str) -> None:
    extra = sorted(set(obj) - allowed)
    if extra:
        shown = ", ".join(f"'{k[:40]}'" for k in extra[:4])
        raise ProtocolError(BAD, f"{what} takes no field {shown}")


def _match(value: object, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise ProtocolError(BAD, f"{what} must be {pattern.pattern}")
    return value


def _sdp(value: object, kind: str) -> str:
    if not isinstance(value, dict):
        raise ProtocolError(BAD, "'jsep' must be an object")
    _only(value, {"type", "sdp"}, "'jsep'")
    sdp = value.get("sdp")
    if value.get("type") != kind or not isinstance(sdp, str) or not sdp:
        raise ProtocolError(BAD, f"'jsep' must be an {kind} with its 'sdp'")
    return sdp


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list) or len(value) > MAX_SFU_STREAMS:
        raise ProtocolError(BAD, f"'{what}' must be a list of at most {MAX_SFU_STREAMS}")
    return value


def _published(value: object) -> Published:
    if not isinstance(value, dict):
        raise ProtocolError(BAD, "each published stream must be an object")
    _only(value, {"mid", "kind"}, "a published stream")
    kind = value.get("kind")
    if kind not in SFU_KINDS:
        raise ProtocolError(BAD, f"'kind' must be one of {', '.join(SFU_KINDS)}")
    return Published(_match(value.get("mid"), MID_PATTERN, "'mid'"), str(kind))


def _substream(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_SUBSTREAM:
        raise ProtocolError(BAD, f"'substream' must be 0 to {MAX_SUBSTREAM}")
    return value


def _wanted(value: object) -> Wanted:
    if not isinstance(value, dict):
        raise ProtocolError(BAD, "each wanted stream must be an object")
    _only(value, {"feed", "mid", "substream"}, "a wanted stream")
    feed = _match(value.get("feed"), PEER_ID_PATTERN, "'feed' (a peer id)")
    mid, layer = value.get("mid"), value.get("substream")
    return Wanted(
        feed,
        None if mid is None else _match(mid, MID_PATTERN, "'mid'"),
        None if layer is None else _substream(layer),
    )


def _configure(value: object) -> Configure:
    if not isinstance(value, dict):
        raise ProtocolError(BAD, "each 'configure' entry must be an object")
    _only(value, {"feed", "mid", "substream"}, "a 'configure' entry")
    return Configure(
        _match(value.get("feed"), PEER_ID_PATTERN, "'feed' (a peer id)"),
        _match(value.get("mid"), MID_PATTERN, "'mid'"),
        _substream(value.get("substream")),
    )


def _candidate(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProtocolError(BAD, "'candidate' must be an object or null")
    # usernameFragment is what a browser's RTCIceCandidate.toJSON() adds: taken, not sent on.
    _only(value, {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}, "'candidate'")
    text, mid, index = value.get("candidate"), value.get("sdpMid"), value.get("sdpMLineIndex")
    if not isinstance(text, str) or len(text) > 1024:
        raise ProtocolError(BAD, "'candidate.candidate' must be text")
    clean: dict[str, Any] = {"candidate": text}
    if mid is not None:
        clean["sdpMid"] = _match(mid, MID_PATTERN, "'sdpMid'")
    if index is not None:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 256:
            raise ProtocolError(BAD, "'sdpMLineIndex' must be a small integer")
        clean["sdpMLineIndex"] = index
    return clean


def parse_sfu(obj: dict[str, Any]) -> SfuMessage:
    """An SFU frame (already decoded and size-checked by the caller), or ProtocolError.

    Strict: a field the frame does not take is refused, so nothing meant for Janus
    (``janus``, ``room``, ``admin_key``, ``secret``, ...) passes through."""
    kind = str(obj.get("type"))
    _only(obj, _FIELDS[kind] | {"type"}, f"'{kind}'")
    if kind == SfuClient.PUBLISH:
        streams = tuple(_published(s) for s in _list(obj.get("streams"), "streams"))
        if not streams:
            raise ProtocolError(BAD, "'streams' must name what is published")
        return SfuPublish(_sdp(obj.get("jsep"), "offer"), streams)
    if kind == SfuClient.SUBSCRIBE:
        wanted = tuple(_wanted(s) for s in _list(obj.get("streams"), "streams"))
        if not wanted:
            raise ProtocolError(BAD, "'streams' must name a feed")
        return SfuSubscribe(wanted)
    if kind == SfuClient.UPDATE:
        add = tuple(_wanted(s) for s in _list(obj.get("subscribe", []), "subscribe"))
        drop = tuple(_wanted(s) for s in _list(obj.get("unsubscribe", []), "unsubscribe"))
        layers = tuple(_configure(c) for c in _list(obj.get("configure", []), "configure"))
        return SfuUpdate(add, drop, layers)
    if kind == SfuClient.ANSWER:
        return SfuAnswer(_sdp(obj.get("jsep"), "answer"))
    if kind == SfuClient.TRICKLE:
        pc = obj.get("pc")
        if pc not in SFU_PCS:
            raise ProtocolError(BAD, "'pc' must be 'publisher' or 'subscriber'")
        return SfuTrickle(str(pc), _candidate(obj.get("candidate")))
    return SfuUnpublish()


# -- builders: the client's frames ------------------------------------------------------


def sfu_publish_message(sdp: str, streams: list[tuple[str, str]]) -> dict[str, Any]:
    """Publish: our offer, and ``(mid, kind)`` of each stream in it."""
    listed = [{"mid": mid, "kind": kind} for mid, kind in streams]
    return {"type": SfuClient.PUBLISH, "jsep": {"type": "offer", "sdp": sdp}, "streams": listed}


def sfu_subscribe_message(streams: list[tuple[str, str | None]]) -> dict[str, Any]:
    """Subscribe to ``(peer id, mid or None for all its streams)``."""
    wanted = [{"feed": f, **({"mid": m} if m else {})} for f, m in streams]
    return {"type": SfuClient.SUBSCRIBE, "streams": wanted}


def sfu_configure_message(layers: list[tuple[str, str, int]]) -> dict[str, Any]:
    """Pick the simulcast layer of received streams: ``(peer id, subscriber mid,
    substream)`` each, the mid as the ``sfu-offer``'s ``streams`` name it."""
    listed = [{"feed": f, "mid": m, "substream": n} for f, m, n in layers]
    return {"type": SfuClient.UPDATE, "configure": listed}


def sfu_answer_message(sdp: str) -> dict[str, Any]:
    """Our answer to the server's ``sfu-offer`` (the subscriber connection)."""
    return {"type": SfuClient.ANSWER, "jsep": {"type": "answer", "sdp": sdp}}


def sfu_unpublish_message() -> dict[str, Any]:
    return {"type": SfuClient.UNPUBLISH}


# -- the server's frames ----------------------------------------------------------------


@dataclass(frozen=True)
class Carried:
    """A stream of the subscriber connection: its own ``mid``, and what it carries (the
    ``feed_mid`` of peer ``feed``)."""

    mid: str
    feed: str
    feed_mid: str


def sfu_jsep_frame(kind: str, sdp: str, streams: list[Carried] | None = None) -> str:
    """``sfu-answer`` (to our publish) or ``sfu-offer`` (for the subscriber connection;
    ``streams`` says which of its mids carries which feed's stream)."""
    frame_type = SfuServer.ANSWER if kind == "answer" else SfuServer.OFFER
    frame: dict[str, Any] = {"type": frame_type, "jsep": {"type": kind, "sdp": sdp}}
    if streams is not None:
        frame["streams"] = [{"mid": s.mid, "feed": s.feed, "feed_mid": s.feed_mid} for s in streams]
    return encode(frame)


def sfu_feeds_frame(feeds: dict[str, list[Published]]) -> str:
    """Every feed published in the room: by peer id, with its streams."""
    listed = [
        {"peer": peer, "streams": [{"mid": s.mid, "kind": s.kind} for s in streams]}
        for peer, streams in sorted(feeds.items())
    ]
    return encode({"type": SfuServer.FEEDS, "feeds": listed})


def sfu_trickle_frame(pc: str, candidate: dict[str, Any] | None) -> str:
    """A candidate of Janus' side of connection ``pc`` (None: it has no more)."""
    return encode({"type": SfuServer.TRICKLE, "pc": pc, "candidate": candidate})


# -- between the trusted servers: a feed as one replica tells the others of its room ------

# Janus' own feed ids (numbers, or random strings in a room with string_ids).
JANUS_FEED_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_JANUS_URL: Final = 512


@dataclass(frozen=True)
class SharedFeed:
    """A feed published through the Janus at ``janus`` (its API URL, as in janus_urls)
    under Janus' feed id ``feed``: what the server of its publisher tells the other
    servers of the room through the backend. Never sent to a client: clients see our
    peer ids only."""

    janus: str
    feed: str
    streams: tuple[Published, ...]


def shared_feed_record(feed: SharedFeed) -> dict[str, Any]:
    streams = [{"mid": s.mid, "kind": s.kind} for s in feed.streams]
    return {"janus": feed.janus, "feed": feed.feed, "streams": streams}


def parse_shared_feed(value: object) -> SharedFeed:
    """A feed record read from the backend, checked like a client's frame (it comes from
    outside this process): ProtocolError (bad-message) saying what is wrong."""
    if not isinstance(value, dict):
        raise ProtocolError(BAD, "a shared feed must be an object")
    _only(value, {"janus", "feed", "streams"}, "a shared feed")
    janus = value.get("janus")
    if not isinstance(janus, str) or not 0 < len(janus) <= MAX_JANUS_URL:
        raise ProtocolError(BAD, "'janus' must be a Janus URL")
    feed = _match(value.get("feed"), JANUS_FEED_PATTERN, "'feed' (a Janus feed id)")
    streams = tuple(_published(s) for s in _list(value.get("streams"), "streams"))
    if not streams:
        raise ProtocolError(BAD, "'streams' must name what is published")
    return SharedFeed(janus, feed, streams)
