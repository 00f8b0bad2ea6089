"""Accent-insensitive text for searching Vietnamese: "ky so" finds "ký số".

Dependency-free on purpose: the ORM fills ``packets.search_text`` with :func:`search_text`
on every insert, and the console normalises what people type with :func:`normalise`.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["SEARCH_TEXT_LENGTH", "like_pattern", "normalise", "search_text", "search_words"]

SEARCH_TEXT_LENGTH = 2000
"""Most characters of ``packets.search_text`` kept (a subject is rarely a tenth of it)."""

_SPACES = re.compile(r"\s+")
_SPECIAL = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})


def normalise(text: str | None) -> str:
    """Lower case, without diacritics (đ → d), whitespace collapsed to single spaces."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text.translate(_SPECIAL))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.casefold()).strip()


def search_text(*parts: str | None) -> str:
    """The normalised search column of a packet: its document id, number/notation, subject."""
    return normalise(" ".join(part for part in parts if part))[:SEARCH_TEXT_LENGTH]


def search_words(query: str | None) -> list[str]:
    """The normalised words of a query; each must occur in a match, in any order."""
    return [word for word in normalise(query).split(" ") if word][:8]


def like_pattern(word: str) -> str:
    """``%word%`` with LIKE's wildcards escaped (escape character ``\\``)."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
