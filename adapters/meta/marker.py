"""Marks our own sends so their echoes are recognised in either arrival order (pure).

Messenger and Instagram echo every message the page sends, with the sending ``app_id`` and
the ``metadata`` string given to the Send API. We send ``switchboard:<message id>:<part>``
as metadata, so an echo is known to be ours from its own content — even when it arrives
before the Send API has answered and no provider id is stored yet.
"""

from __future__ import annotations

PREFIX = "switchboard:"


def make(message_id: int, part: int) -> str:
    return f"{PREFIX}{message_id}:{part}"


def read(metadata: str | None) -> tuple[int, int] | None:
    """(message id, part) from our marker, or None for anything else."""
    if not metadata or not metadata.startswith(PREFIX):
        return None
    head, _, part = metadata[len(PREFIX) :].partition(":")
    if not (head + part).isascii() or not head.isdigit() or not part.isdigit():  # not "²"
        return None
    return int(head), int(part)
