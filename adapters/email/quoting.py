"""Split a plain-text reply into what the customer wrote, the quoted history and the
signature, so the inbox can collapse the last two. The full original is always kept. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Common reply headers: "On Mon, 1 Jan 2024, Ann <a@b> wrote:", Outlook's separator, and
# the German/French forms seen most often in our corpus.
_QUOTE_START = re.compile(
    r"^\s*(On\s.+\bwrote:|Am\s.+\bschrieb.*:|Le\s.+\ba\s+écrit\s*:"
    r"|-{2,}\s*Original Message\s*-{2,}|_{10,}|From:\s.+)\s*$",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^(-- |--|Sent from my \w+.*)$")
# A forwarded mail typed into the body is content, not history: nothing after it is cut.
_FORWARDED = re.compile(r"^\s*-{2,}\s*(Forwarded message|Begin forwarded message:?)\s*-*\s*$", re.I)


@dataclass(frozen=True)
class ReplySplit:
    visible: str
    quoted: str | None
    signature: str | None


def split_reply(text: str) -> ReplySplit:
    lines = text.replace("\r\n", "\n").split("\n")
    cut = _quote_start(lines)
    head, quoted = lines[:cut], lines[cut:]
    sig_at = _signature_start(head)
    visible, signature = head[:sig_at], head[sig_at:]
    body = "\n".join(visible).strip()
    if not body:  # nothing but a quote: show everything rather than an empty message
        return ReplySplit(text.strip(), None, None)
    return ReplySplit(body, "\n".join(quoted).strip() or None, "\n".join(signature).strip() or None)


def _quote_start(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if _FORWARDED.match(line):
            return len(lines)
        if _QUOTE_START.match(line):
            return i
        if line.startswith(">") and all(not x.strip() or x.startswith(">") for x in lines[i:]):
            return i
    return len(lines)


def _signature_start(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if _SIGNATURE.match(line.rstrip("\r")) and len(lines) - i <= 12:
            return i
    return len(lines)
