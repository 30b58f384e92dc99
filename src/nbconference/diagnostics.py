"""One viewer's connection check as ``w.diagnostics`` holds it.

A browser runs the check (js/diagnose.js) when ``w.diagnose()`` or its ⓘ panel asks,
and reports it by message (``diagnosis``, fields :data:`DIAGNOSIS_FIELDS`). The report
comes from a page, possibly a collaborator's: each field is read for its type and size
here, and anything else in it is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .records import _text
from .viewers import devices_record

PERMISSION_STATES = ("granted", "denied", "prompt", "unknown")
# More than any deployment gives or any mesh has: a bound on what a page may send.
MAX_TURN_SERVERS = 16
MAX_LINKS = 64
MAX_ADVICE = 32
LINK_TEXT_FIELDS = (
    "connection",
    "route",
    "route_protocol",
    "relay_protocol",
    "local_address_type",
    "remote_address_type",
    "quality",
)
LINK_NUMBER_FIELDS = ("rtt_ms", "fps_in", "loss_pct")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _word(value: object, limit: int = 64) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _entries(value: object, limit: int) -> list[Mapping[str, Any]]:
    return [e for e in value[:limit] if isinstance(e, Mapping)] if isinstance(value, list) else []


def _signaling(value: object) -> dict[str, Any]:
    found = _mapping(value)
    rtt = _number(found.get("rtt_ms"))
    if rtt is not None:
        return {"rtt_ms": rtt}
    return {"error": _text(found.get("error"), 500) or "no answer"}


def _turn(entry: Mapping[str, Any]) -> dict[str, Any]:
    code = entry.get("error_code")
    return {
        "url": _text(entry.get("url"), 500),
        "ok": entry.get("ok") is True,
        "protocol": _word(entry.get("protocol")),
        "relay_protocol": _word(entry.get("relay_protocol")),
        "ms": _number(entry.get("ms")),
        "error_code": code if isinstance(code, int) and not isinstance(code, bool) else None,
        "error": _text(entry.get("error"), 500),
    }


def _link(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": _text(entry.get("id"), 64),
        "name": _text(entry.get("name"), 200),
        **{key: _word(entry.get(key)) for key in LINK_TEXT_FIELDS},
        **{key: _number(entry.get(key)) for key in LINK_NUMBER_FIELDS},
        "problem": _text(entry.get("problem"), 1000),
    }


def diagnosis_record(report: Mapping[str, Any], viewer_id: str, name: str) -> dict[str, Any]:
    """A ``diagnostics`` entry: which viewer (``id``, ``name``), then each of
    :data:`DIAGNOSIS_FIELDS` as the viewer's ``report`` says it, type and size checked."""
    permissions = _mapping(report.get("permissions"))
    devices = devices_record({"devices": report.get("devices")})
    advice = report.get("advice")
    return {
        "id": viewer_id,
        "name": name,
        "finished_at": _number(report.get("finished_at")),
        "secure_context": report.get("secure_context") is True,
        "permissions": {
            kind: state if (state := permissions.get(kind)) in PERMISSION_STATES else "unknown"
            for kind in ("camera", "microphone")
        },
        "devices": {"in_use": devices["in_use"], "counts": devices["counts"]},
        "signaling": _signaling(report.get("signaling")),
        "turn": [_turn(e) for e in _entries(report.get("turn"), MAX_TURN_SERVERS)],
        "links": [_link(e) for e in _entries(report.get("links"), MAX_LINKS)],
        "advice": [
            s[:1000]
            for s in (advice if isinstance(advice, list) else [])[:MAX_ADVICE]
            if isinstance(s, str)
        ],
    }
