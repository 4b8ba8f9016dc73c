"""Full-text search: turning what a person typed into engine queries, and marking hits.

Pure functions (docs/search.md). Both engines index the same way: words are runs of
Unicode letters and digits, compared case-insensitively and without diacritics, so
"gesla" finds "gęślą" and "καλημερα" finds "Καλημέρα" on SQLite and PostgreSQL alike.
Every word must occur; the last one may be the start of a word (typing "refu" finds
"refund"), like a search box that answers while you type.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

WORD = re.compile(r"\w+", re.UNICODE)
#: Words per query: a longer query is a paste, not a search; it is cut, not refused.
MAX_TERMS = 12
#: A term longer than this is no word a person types (and bounds index look-ups).
MAX_TERM_CHARS = 64


def fold(text: str) -> str:
    """Case-fold and strip diacritics, the way the indexes compare words."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def terms(query: str) -> list[str]:
    """The folded words of a query, in order, without repeats (empty: nothing to find)."""
    seen: list[str] = []
    for match in WORD.finditer(query.replace("_", " ")):
        word = fold(match.group())[:MAX_TERM_CHARS]
        if word and word not in seen:
            seen.append(word)
    return seen[:MAX_TERMS]


def fts5_query(words: list[str]) -> str:
    """An SQLite FTS5 MATCH expression: each word quoted (no operator can sneak in)."""
    quoted = [f'"{w}"' for w in words]
    if quoted:
        quoted[-1] += "*"
    return " ".join(quoted)


def tsquery(words: list[str]) -> str:
    """A PostgreSQL ``to_tsquery('simple', …)`` expression: words are \\w only, so safe."""
    parts = [w for w in words if WORD.fullmatch(w)]
    if parts:
        parts[-1] += ":*"
    return " & ".join(parts)


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    hit: bool


def highlight(text: str, words: list[str], *, width: int = 160) -> list[Segment]:
    """A window of ``text`` around the first hit, cut at word edges, hits marked.

    The result is plain text segments: the client escapes them like any other text, so a
    message can never smuggle markup through its highlighted snippet.
    """
    if not words:
        return [Segment(_clip(text, 0, width), False)] if text else []
    hits = [m.span() for m in WORD.finditer(text) if _matches(fold(m.group()), words)]
    start = _window_start(text, hits[0][0] if hits else 0, width)
    end = min(len(text), start + width)
    return _segments(text, [h for h in hits if h[0] >= start and h[1] <= end], start, end)


def _matches(word: str, words: list[str]) -> bool:
    last = len(words) - 1
    return any(word == w or (i == last and word.startswith(w)) for i, w in enumerate(words))


def _window_start(text: str, first_hit: int, width: int) -> int:
    start = max(0, first_hit - width // 4)
    if start == 0:
        return 0
    space = text.find(" ", start, first_hit)
    return space + 1 if space != -1 else start


def _clip(text: str, start: int, width: int) -> str:
    piece = text[start : start + width]
    return piece + ("…" if start + width < len(text) else "")


def _segments(text: str, hits: list[tuple[int, int]], start: int, end: int) -> list[Segment]:
    out: list[Segment] = []
    if start > 0:
        out.append(Segment("…", False))
    at = start
    for a, b in hits:
        if a > at:
            out.append(Segment(text[at:a], False))
        out.append(Segment(text[a:b], True))
        at = b
    if at < end:
        out.append(Segment(text[at:end], False))
    if end < len(text):
        out.append(Segment("…", False))
    return out
