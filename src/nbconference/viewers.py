"""The room as one widget's kernel sees it, merged from every browser that views the widget.

Every browser that shows a :class:`~nbconference.widget.ConferenceWidget` is a participant
of its own (a *viewer*: its own peer id, devices and links). It reports what it sees by
message: its own record, the peers it is linked to, and its link statistics. Browsers
never write the room-level traits themselves (ipywidgets would echo each browser's write
to the others, and the kernel would read one perspective, then another); the kernel is
their only writer, and this module merges the reports into them:

- ``viewers``: one record per viewing browser, in the order they first reported;
- ``peers``: everyone else in the room, once each, whichever viewer is linked to them;
- ``status``: the best status among the viewers; ``peer_id`` the viewer's id when alone;
- ``stats``: one record per link; no viewer's record replaces another's;
- ``recording``: whether any viewer sees a recorder in the room (:meth:`Viewers.recorders`);
- ``media``: the plane that carries the call, as the viewers in it say (:meth:`Viewers.media`);
- ``timeline``: when each step of each viewer's join happened (:meth:`Viewers.timelines`);
- ``devices``: each viewer's devices in use and how many of each kind it has
  (:meth:`Viewers.devices`); browsers never send their full device lists;
- ``lobby`` and ``locked``: who waits to be let into the locked room, as the viewers
  that may act as its hosts see it (:meth:`Viewers.lobby`);
- ``breakouts``: the groups of the breakout the room is split into, as the viewers in
  it or in its groups see it (:meth:`Viewers.breakouts`).

A viewer that stops reporting (a tab closed without a goodbye) is dropped after
``stale_after`` seconds, or at once when another viewer of the same widget sees it
leave the room.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .chat_log import hand_fields
from .client.hosting import breakout_groups, lobby_records
from .protocol import JOIN_PHASES, MEDIA_PLANES, MEDIA_SFU
from .records import _devices, _identity, _text, peer_record

# Best first: the widget's status is the best of its viewers'.
# "waiting": in the lobby of a locked room, until a host lets it in.
STATUS_RANK = {
    "joined": 6,
    "reconnecting": 5,
    "waiting": 4,
    "connecting": 3,
    "error": 2,
    "left": 1,
}
# Best first: a peer's connection is the best any viewer has to it.
CONNECTION_RANK = {
    "connected": 6,
    "connecting": 5,
    "new": 4,
    "disconnected": 3,
    "failed": 2,
    "closed": 1,
}
PHASES = JOIN_PHASES  # the steps of a join, in their expected order


@dataclass
class _Viewer:
    key: str
    record: dict[str, Any] = field(default_factory=dict)
    roster: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    heard: float = 0.0

    @property
    def peer_id(self) -> str:
        return str(self.record.get("id") or "")


def viewer_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A ``viewers`` record: the same shape as a peer's, with the viewer's own status and
    whether it receives the others' video ("video off for me" when False)."""
    status = record.get("status")
    return {
        "id": _text(record.get("id"), 64),
        **_identity(record),
        **_devices(record),
        **hand_fields(record),
        "host": record.get("host") is True,
        "status": status if status in STATUS_RANK else "connecting",
        "error": _text(record.get("error")),
        "receive_video": record.get("receive_video") is not False,
    }


def timeline_record(record: Mapping[str, Any], cell_ms: float) -> dict[str, Any]:
    """One viewer's join, step by step: ``phases`` maps each of :data:`PHASES` to the
    seconds after the kernel ran the cell (``cell_ms``, epoch ms, is step one), None for a
    step not reached; ``slowest`` names the longest step, as "from → to" in time order."""
    raw = record.get("timeline")
    found = raw if isinstance(raw, Mapping) else {}
    at = {
        phase: float(found[phase])
        for phase in PHASES[1:]
        if isinstance(found.get(phase), int | float) and not isinstance(found[phase], bool)
    }
    at["cell"] = cell_ms
    order = sorted(at, key=lambda phase: at[phase])
    steps = [
        (at[later] - at[earlier], f"{earlier} → {later}")
        for earlier, later in itertools.pairwise(order)
    ]
    return {
        "id": _text(record.get("id"), 64),
        "name": _text(record.get("name"), 200),
        "started": round(cell_ms / 1000, 3),
        "phases": {
            phase: round((at[phase] - cell_ms) / 1000, 3) if phase in at else None
            for phase in PHASES
        },
        "slowest": max(steps)[1] if steps else "",
    }


DEVICE_KINDS = ("camera", "microphone", "speaker")


def devices_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """One viewer's ``devices`` entry: ``in_use`` (kind and label of each device it uses)
    and ``counts`` (how many cameras, microphones and speakers it has)."""
    raw = record.get("devices")
    found: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    used = found.get("in_use")
    in_use = [
        {"kind": entry["kind"], "label": _text(entry.get("label"), 200)}
        for entry in (used if isinstance(used, list) else [])[: len(DEVICE_KINDS)]
        if isinstance(entry, Mapping) and entry.get("kind") in DEVICE_KINDS
    ]
    counted = found.get("counts")
    counts: Mapping[str, Any] = counted if isinstance(counted, Mapping) else {}
    return {
        "id": _text(record.get("id"), 64),
        "name": _text(record.get("name"), 200),
        "in_use": in_use,
        "counts": {
            kind: int(n) if isinstance(n := counts.get(kind), int) and n >= 0 else 0
            for kind in DEVICE_KINDS
        },
    }


class Viewers:
    """Reports from the browsers viewing one widget (``widget_id`` is its instance id)."""

    def __init__(self, widget_id: str, stale_after: float = 6.0) -> None:
        self.widget_id = widget_id
        self.stale_after = stale_after
        self._viewers: dict[str, _Viewer] = {}
        self.ever_viewed = False

    def __len__(self) -> int:
        return len(self._viewers)

    # -- reports ------------------------------------------------------------------

    def report(self, key: str, record: Mapping[str, Any], now: float) -> None:
        """Viewer ``key`` says how it is: its own record and its ``peers`` roster."""
        viewer = self._viewers.setdefault(key, _Viewer(key))
        self.ever_viewed = True
        viewer.record = dict(record)
        roster = record.get("peers")
        viewer.roster = (
            [p for p in roster if isinstance(p, dict)] if isinstance(roster, list) else []
        )
        viewer.heard = now
        # Stats of links the viewer no longer has would outlive them.
        viewer.stats = {p: s for p, s in viewer.stats.items() if p in self._roster_ids(viewer)}

    def report_stats(
        self, key: str, stats: Mapping[str, Any], now: float
    ) -> dict[str, dict[str, Any]]:
        """Viewer ``key`` measured its links; returns them as ``stats`` records."""
        viewer = self._viewers.get(key)
        if viewer is None:
            return {}
        viewer.heard = now
        viewer.stats = {
            str(peer): dict(record) for peer, record in stats.items() if isinstance(record, dict)
        }
        return self._stats_of(viewer, several=len(self._viewers) > 1)

    def gone(self, key: str) -> bool:
        """Viewer ``key`` said goodbye (its last view closed, or its page is going)."""
        return self._viewers.pop(key, None) is not None

    def left_room(self, peer_id: str) -> bool:
        """A viewer saw peer ``peer_id`` leave the room: if that was a fellow viewer of
        this widget (a closed tab sends no goodbye), it is gone."""
        for key, viewer in list(self._viewers.items()):
            if peer_id and viewer.peer_id == peer_id:
                del self._viewers[key]
                return True
        return False

    def expire(self, now: float) -> bool:
        """Drop viewers not heard from for ``stale_after`` seconds; True if any were."""
        stale = [k for k, v in self._viewers.items() if now - v.heard > self.stale_after]
        for key in stale:
            del self._viewers[key]
        return bool(stale)

    # -- the merged picture -------------------------------------------------------

    def viewers(self) -> list[dict[str, Any]]:
        return [viewer_record(v.record) for v in self._viewers.values()]

    def keyed(self) -> dict[str, dict[str, Any]]:
        """Each viewer's ``viewers`` record by its key, in the order of :meth:`viewers`."""
        return {key: viewer_record(v.record) for key, v in self._viewers.items()}

    def peers(self) -> list[dict[str, Any]]:
        """Everyone in the room but this widget's viewers, once each."""
        own = {v.peer_id for v in self._viewers.values()} - {""}
        merged: dict[str, dict[str, Any]] = {}
        for viewer in self._viewers.values():
            for entry in viewer.roster:
                record = peer_record(entry)
                if not record["id"] or record["id"] in own:
                    continue
                if entry.get("widget") == self.widget_id:
                    continue  # another browser's view of this very widget
                known = merged.get(record["id"])
                if known is None:
                    merged[record["id"]] = record
                    continue
                # Nobody stops being a host: a viewer that heard of it first is right.
                known["host"] = known["host"] or record["host"]
                if _rank(record["connection"]) > _rank(known["connection"]):
                    known["connection"] = record["connection"]
                    known["problem"] = record["problem"]
        return list(merged.values())

    def recorders(self) -> list[dict[str, str]]:
        """The recorders in the room (participants of kind ``recorder``, which browsers
        report apart from ``peers``), once each, as any viewer sees them: id and name."""
        merged: dict[str, dict[str, str]] = {}
        for viewer in self._viewers.values():
            found = viewer.record.get("recorders")
            for entry in found if isinstance(found, list) else []:
                if isinstance(entry, dict) and (peer_id := _text(entry.get("id"), 64)):
                    merged.setdefault(
                        peer_id, {"id": peer_id, "name": _text(entry.get("name"), 200)}
                    )
        return list(merged.values())

    def timelines(self, cell_ms: float) -> list[dict[str, Any]]:
        """Each viewer's join, step by step (:func:`timeline_record`); ``cell_ms`` is when
        the kernel made the widget (epoch ms)."""
        return [timeline_record(v.record, cell_ms) for v in self._viewers.values()]

    def devices(self) -> list[dict[str, Any]]:
        """Each viewer's devices in use and counts per kind (:func:`devices_record`)."""
        return [devices_record(v.record) for v in self._viewers.values()]

    def lobby(self) -> tuple[bool, list[dict[str, Any]]]:
        """Whether the room is locked and who waits in its lobby (``id``, ``name``,
        ``username``, ``waiting_since`` in seconds since 1970), first come first, as the
        viewers in the room that may act as its hosts see it (the server shows nobody
        else); (False, []) when none does."""
        locked = False
        waiting: dict[str, dict[str, Any]] = {}
        for viewer in self._viewers.values():
            seen = viewer.record.get("lobby")
            if not isinstance(seen, Mapping) or viewer.record.get("status") != "joined":
                continue
            said, entries = lobby_records(seen)
            locked = locked or said
            for entry in entries:
                waiting.setdefault(entry["id"], entry)
        ordered = sorted(waiting.values(), key=lambda entry: entry["waiting_since"] or 0)
        return locked, ordered

    def breakouts(self) -> dict[str, list[str]]:
        """The groups of the breakout of the room (each with the peer ids a host put in
        it), as the first viewer in the room or one of its groups says; ``{}`` when none
        runs."""
        for viewer in self._viewers.values():
            seen = viewer.record.get("breakout")
            if isinstance(seen, Mapping) and viewer.record.get("status") == "joined":
                return breakout_groups(seen)
        return {}

    def lead(self) -> dict[str, Any] | None:
        """The record of the viewer with the best status (the first such), if any."""
        best: dict[str, Any] | None = None
        for viewer in self._viewers.values():
            record = viewer_record(viewer.record)
            if best is None or STATUS_RANK[record["status"]] > STATUS_RANK[best["status"]]:
                best = record
        return best

    def status(self) -> str:
        lead = self.lead()
        if lead is not None:
            return str(lead["status"])
        return "left" if self.ever_viewed else "idle"

    def peer_id(self) -> str:
        """Our peer id when exactly one browser views the widget, else ""."""
        if len(self._viewers) != 1:
            return ""
        return next(iter(self._viewers.values())).peer_id

    def in_room(self) -> str | None:
        """The key of a viewer that is in the room now (the first such), or None: the one
        that posts for the kernel (``send_chat``, ``lower_hand``)."""
        for key, viewer in self._viewers.items():
            if viewer.record.get("status") == "joined" and viewer.peer_id:
                return key
        return None

    def media(self) -> str:
        """``"sfu"`` or ``"mesh"``: the plane of the call as the viewers in the room report
        it (``"sfu"`` once any says so: the room moved, and one may not have heard yet);
        ``""`` while none is in the room."""
        said = {
            viewer.record.get("media")
            for viewer in self._viewers.values()
            if viewer.record.get("status") in ("joined", "reconnecting")
        }
        if MEDIA_SFU in said:
            return MEDIA_SFU
        return next((str(plane) for plane in MEDIA_PLANES if plane in said), "")

    def only(self) -> dict[str, Any] | None:
        """The raw record of the one viewer, when there is exactly one."""
        if len(self._viewers) != 1:
            return None
        return next(iter(self._viewers.values())).record

    def stats(self) -> dict[str, dict[str, Any]]:
        """Every viewer's latest link records (see :meth:`_stats_of` for the keys)."""
        several = len(self._viewers) > 1
        merged: dict[str, dict[str, Any]] = {}
        for viewer in self._viewers.values():
            merged.update(self._stats_of(viewer, several))
        return merged

    @staticmethod
    def _stats_of(viewer: _Viewer, several: bool) -> dict[str, dict[str, Any]]:
        """Keyed by the remote peer's id; with several viewers by ``viewer/peer``, so that
        no viewer's record replaces another's. Each record names both ends."""
        measured_by = viewer.peer_id
        return {
            (f"{measured_by}/{peer}" if several else peer): {
                **record,
                "viewer": measured_by,
                "peer": peer,
            }
            for peer, record in viewer.stats.items()
        }

    @staticmethod
    def _roster_ids(viewer: _Viewer) -> set[str]:
        return {str(p.get("id")) for p in viewer.roster}


def _rank(connection: str) -> int:
    return CONNECTION_RANK.get(connection, 0)
