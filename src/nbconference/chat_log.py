"""The room's chat and raised hands as a kernel sees them (``w.chat``, ``w.hands``).

Every browser that views a widget reports each chat message it receives; the server's
id makes each message one record, however many viewers report it (and whenever a
rejoin brings the history again).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

MAX_TEXT = 64 * 1024
RECORD_FIELDS = ("id", "time", "sender_id", "name", "text", "from_code")


def chat_record(message: object) -> dict[str, Any] | None:
    """A ``w.chat`` record from a ``chat`` frame as a browser reported it, or None when it
    is not one: id, time (seconds since 1970, the server's clock), sender id, name, text,
    and whether a notebook's code posted it."""
    if not isinstance(message, Mapping):
        return None
    message_id, sender, text = message.get("id"), message.get("from"), message.get("text")
    if not (isinstance(message_id, str) and isinstance(sender, str) and isinstance(text, str)):
        return None
    time_ms = message.get("time")
    if isinstance(time_ms, bool) or not isinstance(time_ms, int | float):
        return None
    name = message.get("name")
    return {
        "id": message_id[:64],
        "time": float(time_ms) / 1000,
        "sender_id": sender[:64],
        "name": name[:200] if isinstance(name, str) else "",
        "text": text[:MAX_TEXT],
        "from_code": message.get("from_code") is True,
    }


class ChatRecords:
    """The chat messages seen so far, each once, oldest first; the last ``limit``."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._records: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._seen: set[str] = set()

    def add(self, record: dict[str, Any]) -> bool:
        """Keep ``record``; False when its id was seen already."""
        if record["id"] in self._seen:
            return False
        self._seen.add(record["id"])
        self._records[record["id"]] = record
        if len(self._records) > self.limit:
            self._records.popitem(last=False)
        return True

    def records(self) -> list[dict[str, Any]]:
        return sorted(self._records.values(), key=lambda r: r["time"])

    def frame(self) -> Any:
        """The records as a pandas DataFrame indexed by time (UTC)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "chat_frame() needs pandas: pip install 'nbconference[stats]' (or pandas)"
            ) from None
        table = pd.DataFrame(self.records(), columns=list(RECORD_FIELDS))
        table["time"] = pd.to_datetime(table["time"], unit="s", utc=True)
        return table.set_index("time")


def hand_fields(entry: Mapping[str, Any]) -> dict[str, Any]:
    """``hand`` and ``hand_raised_at`` (seconds since 1970, None while down) of a
    browser's record, whose ``hand`` is the server's stamp in milliseconds (0: down)."""
    stamp = entry.get("hand")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float) or stamp <= 0:
        return {"hand": False, "hand_raised_at": None}
    return {"hand": True, "hand_raised_at": float(stamp) / 1000}


def hand_queue(*groups: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Everyone in ``groups`` (viewers, peers) with a raised hand, first raised first."""
    queue = [
        {"id": r.get("id", ""), "name": r.get("name", ""), "raised_at": r["hand_raised_at"]}
        for group in groups
        for r in group
        if r.get("hand") and r.get("hand_raised_at") is not None
    ]
    return sorted(queue, key=lambda r: (r["raised_at"], r["id"]))
