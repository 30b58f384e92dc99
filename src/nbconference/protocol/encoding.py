"""JSON as the wire carries it: a compact encoder built once, a decoder that refuses what
a browser could not parse, and a depth check done before decoding a hostile frame."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from json.encoder import (  # type: ignore[attr-defined]
    c_make_encoder,
    encode_basestring,
    encode_basestring_ascii,
)
from typing import Any

from .names import MAX_DEPTH


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Python's json accepts NaN and Infinity, which a browser's JSON.parse rejects: relaying
# them would hand the receiving peer a frame it cannot read.
decode: Callable[[str], Any] = json.JSONDecoder(parse_constant=_reject_constant).decode


def _not_json(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _make_encode(ascii_only: bool) -> Callable[[Any], str]:
    slow: Callable[[Any], str] = json.JSONEncoder(
        separators=(",", ":"), allow_nan=False, ensure_ascii=ascii_only
    ).encode
    if c_make_encoder is None:
        return slow
    # JSONEncoder.encode builds a new C encoder on every call, which costs more than
    # encoding a signaling message; this one is built once. Parsed JSON cannot be
    # circular, so it skips the cycle check.
    strings = encode_basestring_ascii if ascii_only else encode_basestring
    fast = c_make_encoder(None, _not_json, strings, None, ":", ",", False, False, False)
    return lambda value: "".join(fast(value, 0))


# Frames go out as UTF-8 text, not ASCII-escaped: escaping would make non-ASCII text up to
# three times longer ("é" is 2 bytes, "\u00e9" 6) than the frame a client sent.
_encode_text = _make_encode(ascii_only=False)
_encode_ascii = _make_encode(ascii_only=True)
SURROGATE = re.compile("[\ud800-\udfff]")


def encode(message: Mapping[str, Any]) -> str:
    """Encode a frame compactly (and refuse NaN, which a browser could not parse)."""
    text = _encode_text(message)
    if text.isascii() or SURROGATE.search(text) is None:
        return text
    # A lone surrogate (which "\ud800" in a client's JSON decodes to) has no UTF-8 form:
    # only the escaped encoding can carry it.
    return _encode_ascii(message)


def utf8_size(text: str) -> int:
    """The size of ``text`` in UTF-8 bytes."""
    return len(text) if text.isascii() else len(text.encode())


# A whole JSON string (skipped; an unterminated one runs to the end) or one bracket.
# The scan is linear without possessive repeats (which need Python 3.11): the two
# alternatives inside a string, one ordinary character or a backslash and the character
# it escapes, can never match the same text, and what follows them (a closing quote, or
# the end with at most one stray backslash) always matches where the repeat stops, so
# the engine never has a reason to backtrack.
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


def too_deep(text: str) -> bool:
    """True when ``text`` nests JSON arrays or objects more than :data:`MAX_DEPTH` deep.

    Checked before decoding, so a hostile frame never reaches the recursive decoder. Frames
    with few brackets, which is every real one, are passed by a count done in C.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    for match in _STRUCTURE.finditer(text):
        char = match.group()[0]
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False
