"""The events between servers as they travel on Redis channels: how each kind is written
(see redis_scripts.py for the fields), and how the kinds that need no view of the room
are read back into :class:`RoomEvent` for the registry.

Server ids, room names and peer ids are all of ``[A-Za-z0-9._-]`` (see
:func:`~.redis_scripts.frame_head`), so they are written without JSON escaping.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ...protocol import encode
from .base import EventKind, RoomEvent
from .redis_scripts import dumps, frame_head


def joined_event(server: str, room: str, rec: str) -> str:
    return frame_head(server, EventKind.JOINED, room) + f',"rec":{rec}}}'


def left_event(server: str, room: str, peer_id: str) -> str:
    return frame_head(server, EventKind.LEFT, room) + f',"p":"{peer_id}"}}'


def state_event(server: str, room: str, peer_id: str, state: Any, by: str) -> str:
    frame = frame_head(server, EventKind.STATE, room) + f',"p":"{peer_id}","s":{dumps(state)}'
    return frame + (f',"b":"{by}"}}' if by else "}")


def signal_event(server: str, room: str, sender: str, to: str, data_json: str) -> str:
    return (
        frame_head(server, EventKind.SIGNAL, room) + f',"p":"{sender}","t":"{to}","d":{data_json}}}'
    )


def lower_event(server: str, room: str, peer_id: str, to: str) -> str:
    return frame_head(server, EventKind.LOWER, room) + f',"p":"{peer_id}","t":"{to}"}}'


def key_frame_event(server: str, room: str, to: str) -> str:
    return frame_head(server, EventKind.KEY_FRAME, room) + f',"t":"{to}"}}'


def chat_event(server: str, room: str, frame: str) -> str:
    return frame_head(server, EventKind.CHAT, room) + f',"f":{dumps(frame)}}}'


def feed_event(server: str, room: str, peer_id: str, record: str) -> str:
    """``record``: the shared feed record's JSON, or ``null`` (withdrawn)."""
    return frame_head(server, EventKind.FEED, room) + f',"p":"{peer_id}","f":{record}}}'


def lost_event(server: str, room: str, peer_ids: list[str]) -> str:
    return frame_head(server, EventKind.LOST, room) + f',"m":{dumps(peer_ids)}}}'


def refused_event(server: str, event: RoomEvent, code: str, message: str) -> str:
    """Back to the server of ``event`` (a signal it sent): not delivered, and why."""
    return encode(
        {
            "o": server,
            "k": EventKind.REFUSED,
            "r": event.room,
            "p": event.peer_id,
            "t": event.to,
            "c": code,
            "m": message,
        }
    )


def heartbeat(server: str) -> str:
    return frame_head(server, "beat", "") + "}"


# Kinds sent to one server's channel; the others travel on a room's channel.
TO_SERVER = frozenset(
    {
        EventKind.SIGNAL,
        EventKind.LOWER,
        EventKind.REFUSED,
        EventKind.KEY_FRAME,
        EventKind.HOST_ACT,
        EventKind.HOST_REPLY,
    }
)


def relayed(event: dict[str, Any]) -> list[RoomEvent] | None:
    """What the registry is handed for ``event`` from another server, if it is of a kind
    that goes to it as it is, with no view of the room to update; None for the others."""
    kind, room = event["k"], event["r"]
    if kind == EventKind.SIGNAL:
        signal = RoomEvent(
            EventKind.SIGNAL, room, event["p"], to=event["t"], data=event["d"], origin=event["o"]
        )
        return [signal]
    if kind == EventKind.LOWER:
        return [RoomEvent(EventKind.LOWER, room, event["p"], to=event["t"])]
    if kind == EventKind.REFUSED:
        reason = {"code": event["c"], "message": event["m"]}
        return [RoomEvent(EventKind.REFUSED, room, event["p"], to=event["t"], data=reason)]
    if kind == EventKind.CHAT:
        return [RoomEvent(EventKind.CHAT, room, data_json=str(event["f"]))]
    if kind == EventKind.KEY_FRAME:
        return [RoomEvent(EventKind.KEY_FRAME, room, to=str(event["t"]))]
    if kind == EventKind.FEED:
        record = event["f"]
        if record is not None and not isinstance(record, dict):
            raise ValueError(f"a feed record must be an object or null, not {record!r:.80}")
        return [RoomEvent(EventKind.FEED, room, str(event["p"]), data=record)]
    if kind == EventKind.HOSTS:
        return [RoomEvent(EventKind.HOSTS, room, data={"hosts": [str(h) for h in event["h"]]})]
    if kind == EventKind.HOST_ACT:
        what = event["q"]
        if not isinstance(what, dict):
            raise ValueError(f"a host request must be an object, not {what!r:.80}")
        act = RoomEvent(EventKind.HOST_ACT, room, to=str(event["t"]), data=what, origin=event["o"])
        return [replace(act, by=str(event["i"]))]
    if kind == EventKind.END:
        return [RoomEvent(EventKind.END, room, data={"reason": str(event["n"])})]
    if kind == EventKind.BREAKOUT:
        groups = event["g"]
        if groups is not None and not _groups(groups):
            raise ValueError(f"breakout groups must map names to peer ids, not {groups!r:.80}")
        started: dict[str, Any] = {"groups": groups, "seconds": float(event["s"])}
        return [RoomEvent(EventKind.BREAKOUT, room, data=started)]
    if kind == EventKind.LOBBY:
        waiting = event["w"]
        if not isinstance(waiting, list) or not all(isinstance(w, dict) for w in waiting):
            raise ValueError(f"a lobby lists entries, not {waiting!r:.80}")
        data = {"locked": bool(event["l"]), "waiting": waiting}
        return [RoomEvent(EventKind.LOBBY, room, data=data)]
    if kind == EventKind.FRAME:
        return [RoomEvent(EventKind.FRAME, room, data_json=str(event["f"]))]
    if kind == EventKind.LOST:
        return [RoomEvent(EventKind.LOST, room, peer_id) for peer_id in event["m"]]
    return None


def _groups(groups: Any) -> bool:
    """Whether ``groups`` maps names to lists of peer ids."""
    return isinstance(groups, dict) and all(
        isinstance(members, list) and all(isinstance(pid, str) for pid in members)
        for members in groups.values()
    )
