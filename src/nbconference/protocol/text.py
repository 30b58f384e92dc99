"""Text people see: names and chat are shown to everyone in the room, so the server keeps
out what would make them lie about themselves: bidi controls (U+202E turns "exe.txt" into
"txt.exe"), zero-width and other invisible characters, and control characters."""

from __future__ import annotations

import re
import unicodedata

from .names import MAX_NAME_CHARS

# Characters that draw as blank space but are letters or symbols, not whitespace.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Control (Cc), format (Cf: zero-width, bidi, soft hyphen), surrogate and unassigned.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Cn"})


def normalize_name(raw: str) -> str:
    """A participant's name as everyone sees it: NFKC, without control, format (zero-width,
    bidi), surrogate or unassigned characters, runs of whitespace made one space, trimmed,
    at most :data:`MAX_NAME_CHARS` characters. "" when nothing visible is left."""
    text = unicodedata.normalize("NFKC", raw)
    kept = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or unicodedata.category(char) not in _HIDDEN_CATEGORIES
    )
    name = " ".join(kept.split())[:MAX_NAME_CHARS].rstrip()
    return "" if all(char in _BLANK_LETTERS or char == " " for char in name) else name


def name_key(name: str) -> str:
    """What two names are compared by: case-insensitive, blank letters ignored."""
    return "".join(c for c in normalize_name(name) if c not in _BLANK_LETTERS).casefold()


# Chat keeps line breaks and tabs; every other control character and every bidi control
# (U+061C, U+200E-200F, U+202A-202E, U+2066-2069) goes.
_CHAT_STRIPPED = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def clean_chat_text(text: str) -> str:
    """``text`` without NUL, control characters (but newline and tab) and bidi controls;
    "" when nothing visible is left (only whitespace, zero-width or blank characters)."""
    cleaned = _CHAT_STRIPPED.sub("", text)
    visible = (
        char
        for char in cleaned
        if not char.isspace() and char not in _BLANK_LETTERS and unicodedata.category(char) != "Cf"
    )
    return cleaned if next(visible, None) is not None else ""
