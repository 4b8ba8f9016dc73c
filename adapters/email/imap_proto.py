"""Reading aioimaplib's response lines (SELECT, UID SEARCH, UID FETCH). Pure.

aioimaplib hands back a FETCH as ``b'1 FETCH (UID 1 ... BODY[] {45}'``, then the literal as a
``bytearray``, then the rest of the item list (``b')'`` or ``b' UID 1)'`` — servers may put
items after the literal). Untagged FETCHes without a body (flag changes) are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

_FETCH_START = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_DATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")


@dataclass(frozen=True)
class Fetched:
    uid: int
    size: int | None
    internaldate: datetime | None
    body: bytes | None


@dataclass(frozen=True)
class Selected:
    uidvalidity: int
    uidnext: int | None


def parse_select(lines: Sequence[bytes | bytearray]) -> Selected:
    joined = b"\n".join(bytes(line) for line in lines)
    validity = _UIDVALIDITY.search(joined)
    if validity is None:
        raise ValueError("SELECT answered without UIDVALIDITY")
    nxt = _UIDNEXT.search(joined)
    return Selected(int(validity.group(1)), int(nxt.group(1)) if nxt else None)


def parse_search(lines: Sequence[bytes | bytearray], after: int) -> list[int]:
    """UIDs above ``after``: ``UID n:*`` always matches the last mail, even below n."""
    uids: set[int] = set()
    for line in lines:
        words = bytes(line).split()
        if words and all(w.isdigit() for w in words):
            uids.update(int(w) for w in words)
    return sorted(u for u in uids if u > after)


def parse_fetch(lines: Sequence[bytes | bytearray]) -> list[Fetched]:
    records: list[tuple[bytes, bytes | None]] = []
    meta, body = b"", None
    started = False
    for line in lines:
        if isinstance(line, bytearray):
            body = bytes(line)
            continue
        if _FETCH_START.match(line):
            if started:
                records.append((meta, body))
            meta, body, started = line, None, True
        elif started:
            meta += b" " + line
    if started:
        records.append((meta, body))
    return [f for f in (_record(m, b) for m, b in records) if f is not None]


def _record(meta: bytes, body: bytes | None) -> Fetched | None:
    uid = _UID.search(meta)
    if uid is None:
        return None
    size = _SIZE.search(meta)
    date = _DATE.search(meta)
    return Fetched(
        int(uid.group(1)),
        int(size.group(1)) if size else None,
        _internaldate(date.group(1)) if date else None,
        body,
    )


def _internaldate(value: bytes) -> datetime | None:
    try:
        return datetime.strptime(value.decode().strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def uid_set(uids: Sequence[int]) -> str:
    """A compact IMAP sequence set: 1:3,7,9:10."""
    parts: list[str] = []
    ordered = sorted(set(uids))
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    return ",".join(parts)
