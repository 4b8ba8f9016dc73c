"""Best reconstruction of broken MIME. Pure.

A multipart whose boundary parameter is missing, or does not match the boundary lines in
the body, reaches us as one text payload full of ``--boundary`` lines and part headers.
Mail clients guess the boundary from the body; so do we: the ``--token`` line that occurs
most often (a closing ``--token--`` counts too) is taken as the boundary and the part is
parsed again with it. When nothing looks like a boundary, the lines that do (and the part
headers right after them) are dropped from the text so the agent never reads MIME syntax.
"""

from __future__ import annotations

import re
from collections import Counter
from email import policy
from email.message import Message
from email.parser import BytesParser

_BOUNDARY_LINE = re.compile(r"^--([^\s]{1,200}?)(--)?\s*$")
_PART_HEADER = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,60}:\s|^\s+\S")


def guess_boundary(body: str) -> str | None:
    """The most frequent ``--token`` line of a body, or None."""
    counts: Counter[str] = Counter()
    for line in body.splitlines():
        match = _BOUNDARY_LINE.match(line)
        if match and not set(match.group(1)) <= {"-"}:  # "-----" rulers are not boundaries
            counts[match.group(1)] += 1
    if not counts:
        return None
    token, seen = counts.most_common(1)[0]
    return token if seen >= 2 or f"--{token}--" in body else None


def reparse(part: Message, body: str, boundary: str) -> Message | None:
    """The part parsed again with ``boundary``; None when that does not yield parts."""
    subtype = part.get_content_subtype() or "mixed"
    head = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'
    data = head.encode() + body.encode("utf-8", "surrogateescape")
    try:
        fixed = BytesParser(policy=policy.default).parsebytes(data)
    except Exception:  # the guess made things worse: fall back to text
        return None
    payload = fixed.get_payload()
    if not isinstance(payload, list) or not payload:
        return None
    return fixed


def strip_mime_syntax(body: str) -> str:
    """Text of a body with boundary lines and the header blocks after them removed."""
    kept: list[str] = []
    in_headers = False
    for line in body.splitlines():
        if _BOUNDARY_LINE.match(line) and not set(line.strip()) <= {"-"}:
            in_headers = True
            continue
        if in_headers:
            if _PART_HEADER.match(line):
                continue
            in_headers = False
            if not line.strip():
                continue
        kept.append(line)
    return "\n".join(kept).strip("\n")
