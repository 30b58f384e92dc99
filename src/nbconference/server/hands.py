"""A peer's state and the room's chat: hands raised and lowered in the order they went
up, chat messages stamped and relayed to the whole room (see chat.py for the stamps).

A layer of :class:`~nbconference.server.rooms.RoomRegistry`, over the room events it
announces and delivers (:class:`RoomEvents`, with the SFU's :class:`MediaEvents`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..protocol import (
    Chat,
    ChatLimits,
    ErrorCode,
    LowerHand,
    ProtocolError,
    peer_state_frame,
)
from .backends.base import Backend, EventKind, RoomEvent
from .chat import ChatGate, hand_raised, hand_stamp
from .media_events import MediaEvents
from .peer import Peer, state_key


class ChatAndHands(MediaEvents):
    """Peer state (raised hands included) and chat, for the peers of this process."""

    def __init__(self, backend: Backend, chat_limits: ChatLimits) -> None:
        super().__init__(backend)
        self.chat_gate = ChatGate(chat_limits)

    def set_state(self, peer: Peer, state: Mapping[str, Any], by: str = "") -> None:
        """Merge ``state`` into the peer's; ``by`` is who lowers its hand, if another."""
        update = dict(state)
        old = peer.info["state"]
        if "hand" in update:
            if update["hand"] is True and hand_raised(old):
                update["hand"] = old["hand"]  # still up: it keeps its place
            elif update["hand"] is True:
                self._stamp_hand(update, peer.room)
            else:
                update["hand"] = False
                if hand_raised(old):
                    by = by or peer.id
        merged = {**old, **update}
        if merged == old:
            return  # changes nothing: the room hears nothing
        peer.info["state"] = merged
        event = RoomEvent(EventKind.STATE, peer.room, peer.id, state=merged, by=by)
        self._announce(event, sender=peer)
        if hand_raised(merged) and not hand_raised(old):
            # Its own client learns the time its hand went up, its place in the queue; a
            # newer state of its own still waiting replaces it, as for everyone else.
            frame = peer_state_frame(peer.id, merged).encode()
            self._deliver_event(peer, frame, state_key(peer.id, ""))

    def chat(self, sender: Peer, msg: Chat) -> None:
        """Stamp ``msg`` (an id, the time, the sender's record) and relay it to the whole
        room, the sender's own socket included: it learns its message's id that way."""
        frame = self.chat_gate.stamp(sender.info, msg.text, msg.from_code)
        self._deliver_to_room(sender.room, frame.encode())
        self.backend.add_chat(sender.room, frame, self._failure_reporter(sender, None))

    def lower_hand(self, sender: Peer, msg: LowerHand) -> None:
        """Lower the hand of ``msg.peer``, anyone in the sender's room; the room hears
        who lowered it."""
        members = self.rooms.get(sender.room, {})
        if msg.peer not in members:
            raise ProtocolError(
                ErrorCode.UNKNOWN_PEER,
                f"no peer '{msg.peer[:40]}' in room '{sender.room}'",
                peer=msg.peer,
            )
        target = self.local.get(msg.peer)
        if target is not None:
            if hand_raised(target.info["state"]):
                self.set_state(target, {"hand": False}, by=sender.id)
            return
        if not hand_raised(members[msg.peer].get("state") or {}):
            return  # down already: nothing to tell its server
        event = RoomEvent(EventKind.LOWER, sender.room, sender.id, to=msg.peer)
        self.backend.publish(event, self._failure_reporter(sender, msg.peer))

    def _stamp_hand(self, state: dict[str, Any], room: str) -> None:
        if state.get("hand") is True:
            others = [p.get("state") or {} for p in self.rooms.get(room, {}).values()]
            state["hand"] = hand_stamp(others)

    def _lower_remote(self, event: RoomEvent) -> None:
        target = self.local.get(event.to)
        if target is not None and target.room == event.room and hand_raised(target.info["state"]):
            self.set_state(target, {"hand": False}, by=event.peer_id)

    def _apply_remote(self, event: RoomEvent) -> None:
        if event.kind == EventKind.CHAT:
            self._deliver_to_room(event.room, event.data_json.encode())
        elif event.kind == EventKind.LOWER:
            self._lower_remote(event)
        else:
            super()._apply_remote(event)
