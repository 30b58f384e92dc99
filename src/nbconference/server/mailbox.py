"""What waits for one peer: the frames its socket has not taken yet.

Frames wait here while the peer's socket is backed up (its reader is slower than its
senders) and while the peer is away inside its grace window; a resumed socket drains
the same mailbox. The bounds are in bytes and in frames.

Two kinds of frames come in. A signal has a sender, who is told when the mailbox is full
(``peer-unavailable``): it is refused at the bounds. A room event (``peer-joined``,
``peer-left``, ``peer-state``) has nobody to tell, so it may use up to twice the bounds,
and a newer state of a peer replaces the older one still waiting, so no member can fill
somebody else's mailbox by toggling a camera or a hand. Past twice the bounds the
registry gives the peer up: it could not be brought up to date.
"""

from __future__ import annotations

from collections import deque

# An entry is [frame, state_of]: the frame (None once replaced by a newer state of the
# same peer) and, for a peer-state frame, the id of the peer whose state it is.
Entry = list[bytes | str | None]


class Mailbox:
    __slots__ = ("_entries", "_states", "bytes", "count", "max_bytes", "max_frames")

    def __init__(self, max_bytes: int, max_frames: int) -> None:
        self.max_bytes = max_bytes
        self.max_frames = max_frames
        self.bytes = 0
        self.count = 0
        # Made on first use: most mailboxes of a quiet room stay empty.
        self._entries: deque[Entry] | None = None
        self._states: dict[str, Entry] | None = None

    def __bool__(self) -> bool:
        return self.count > 0

    def put(self, frame: bytes) -> bool:
        """Queue a frame whose sender can be told: False (and nothing queued) when full."""
        if self.count >= self.max_frames or self.bytes + len(frame) > self.max_bytes:
            return False
        self._append(frame, None)
        return True

    def put_event(self, frame: bytes, state_of: str | None = None) -> bool:
        """Queue a room event; ``state_of`` names the peer a ``peer-state`` frame is about,
        and replaces that peer's previous state if it is still waiting. False when even
        twice the bounds would not hold it."""
        if state_of is not None and self._states is not None:
            older = self._states.pop(state_of, None)
            if older is not None:
                self._discard(older)
        if self.count >= 2 * self.max_frames or self.bytes + len(frame) > 2 * self.max_bytes:
            return False
        entry = self._append(frame, state_of)
        if state_of is not None:
            if self._states is None:
                self._states = {}
            self._states[state_of] = entry
        return True

    def take(self, limit: int) -> list[bytes]:
        """Frames from the front, in order, up to ``limit`` bytes in all (and at least
        one frame, whatever its size, when any is waiting)."""
        frames: list[bytes] = []
        entries = self._entries
        size = 0
        while entries:
            frame, state_of = entries[0]
            if frame is None:
                entries.popleft()  # replaced by a newer state
                continue
            assert isinstance(frame, bytes)
            if frames and size + len(frame) > limit:
                break
            entries.popleft()
            frames.append(frame)
            size += len(frame)
            if state_of is not None and self._states is not None:
                self._states.pop(str(state_of), None)
        self.bytes -= size
        self.count -= len(frames)
        if not entries:
            self._entries = self._states = None
        return frames

    def clear(self) -> None:
        self._entries = self._states = None
        self.bytes = self.count = 0

    def _append(self, frame: bytes, state_of: str | None) -> Entry:
        entries = self._entries
        if entries is None:
            entries = self._entries = deque()
        elif len(entries) > 2 * self.count + 32:
            # Mostly replaced states: drop them, so the queue stays as long as its frames.
            entries = self._entries = deque(e for e in entries if e[0] is not None)
        entry: Entry = [frame, state_of]
        entries.append(entry)
        self.bytes += len(frame)
        self.count += 1
        return entry

    def _discard(self, entry: Entry) -> None:
        frame = entry[0]
        if isinstance(frame, bytes):
            entry[0] = None
            self.bytes -= len(frame)
            self.count -= 1
