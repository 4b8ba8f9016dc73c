"""Header values as text, including raw 8-bit headers in a legacy charset. Pure.

RFC 5322 headers are ASCII (non-ASCII goes into RFC 2047 encoded words), but old mail
programs still write raw Latin-1, KOI8-R or Shift-JIS bytes into Subject and From. The
stdlib turns those bytes into U+FFFD. We read them the way mail clients do: UTF-8 when the
bytes are valid UTF-8 (RFC 6532 allows it, and random legacy bytes almost never are), then
the charsets the message declares for its bodies, then cp1252 (a superset of Latin-1 that
real mail labelled "iso-8859-1" uses), then Latin-1, which never fails.
"""

from __future__ import annotations

import hashlib
import re
from email.header import decode_header, make_header
from email.message import Message

_LAST_RESORT = ("cp1252", "latin-1")
MAX_ID = 900  # below the 1000-char external_id column, room for a repeat suffix
_MSGID = re.compile(r"<([^<>\s]+)>")
_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def header(msg: Message, name: str) -> str:
    """A header as text; raw 8-bit bytes decoded as described above."""
    raw = raw_header(msg, name)
    if raw is not None and has_raw_8bit(raw):
        return decode_8bit(raw, declared_charsets(msg))[0]
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception:  # malformed header values raise from deep in the parser
        return raw or ""


def raw_header(msg: Message, name: str) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def has_raw_8bit(value: str) -> bool:
    """The bytes parser keeps non-ASCII header bytes as lone surrogates (surrogateescape)."""
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def decode_8bit(raw: str, charsets: tuple[str, ...]) -> tuple[str, str]:
    """(text, charset used) for a header value holding raw 8-bit bytes."""
    data = raw.encode("ascii", "surrogateescape")
    for charset in ("utf-8", *charsets, *_LAST_RESORT):
        try:
            text = data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
        return _decode_words(" ".join(text.split())), charset
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def eight_bit_charset(msg: Message, names: tuple[str, ...]) -> str | None:
    """Which charset the first raw 8-bit header among ``names`` was read as (or None)."""
    for name in names:
        raw = raw_header(msg, name)
        if raw is not None and has_raw_8bit(raw):
            return decode_8bit(raw, declared_charsets(msg))[1]
    return None


def declared_charsets(msg: Message) -> tuple[str, ...]:
    """Charsets the message names for its parts, in order, without repeats or ASCII."""
    found: list[str] = []
    for part in _parts(msg):
        try:
            charset = (part.get_content_charset() or "").strip().lower()
        except Exception:  # a broken Content-Type parameter: skip that part
            continue
        if charset and charset not in ("us-ascii", "ascii", "utf-8", "utf8"):
            found.append(charset)
    return tuple(dict.fromkeys(found))


def _parts(msg: Message) -> list[Message]:
    parts: list[Message] = []
    stack = [msg]
    while stack and len(parts) < 100:  # the first 100 parts name every charset in real mail
        part = stack.pop()
        parts.append(part)
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(p for p in reversed(payload) if isinstance(p, Message))
    return parts


def header_as_written(msg: Message, name: str) -> str:
    """A header's text without address parsing (a From with no address keeps its words)."""
    raw = raw_header(msg, name) or ""
    if has_raw_8bit(raw):
        return decode_8bit(raw, declared_charsets(msg))[0]
    return _decode_words(" ".join(raw.split()))


def _decode_words(text: str) -> str:
    """RFC 2047 encoded words (also those next to raw bytes) decoded in place."""
    return _WORD.sub(_decode_word, text) if "=?" in text else text


def _decode_word(match: re.Match[str]) -> str:
    try:
        return str(make_header(decode_header(match.group(0))))
    except Exception:  # a broken encoded word: show it as written
        return match.group(0)


def message_ids(value: str) -> list[str]:
    """Message-IDs of a header value, without angle brackets (how ids are stored)."""
    found = _MSGID.findall(value)
    if not found and value.strip() and " " not in value.strip():
        found = [value.strip().strip("<>")]
    return [_norm_id(i) for i in found if i]


def _norm_id(value: str) -> str:
    if len(value) <= MAX_ID:
        return value
    return "long-" + hashlib.sha256(value.encode()).hexdigest() + "@switchboard.invalid"
