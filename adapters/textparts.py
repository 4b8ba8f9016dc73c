"""Where to cut a long text into parts (pure; shared by channels with length limits)."""

from __future__ import annotations


def boundary(text: str, end: int) -> int:
    """Where to cut before ``end``: a newline, else a space, in the second half; else ``end``.

    Newlines first so a split keeps lines whole; the second-half rule keeps parts from
    getting tiny when the only boundary is near the start.
    """
    for sep in ("\n", " "):
        at = text.rfind(sep, 0, end)
        if at > end // 2:
            return at
    return end
