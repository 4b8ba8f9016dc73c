"""The last message of each listed conversation, for the inbox list rows (a read module).

One query per page of conversations, whatever its size: the newest message or note of each
conversation (activity lines are not "messages" to an agent scanning the list)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.storage import schema as t

#: Enough text to fill a list row on a wide screen; the row ellipsizes the rest.
PREVIEW_CHARS = 160


async def last_messages(conn: AsyncConnection, conversation_ids: Sequence[int]) -> dict[int, Any]:
    """Conversation id -> its newest message or note row (absent when it has none)."""
    if not conversation_ids:
        return {}
    m = t.messages.c
    newest = (
        sa.select(sa.func.max(m.id))
        .where(m.conversation_id.in_(list(conversation_ids)), m.kind.in_(("message", "note")))
        .group_by(m.conversation_id)
    )
    rows = (await conn.execute(sa.select(t.messages).where(m.id.in_(newest)))).all()
    return {r.conversation_id: r for r in rows}


def preview(row: Any) -> dict[str, Any]:
    """What a list row shows: who spoke last (direction, kind) and the start of the text."""
    text = " ".join((row.text or "").split())
    return {
        "id": row.id,
        "direction": row.direction,
        "kind": row.kind,
        "sender_type": row.sender_type,
        "sender_id": row.sender_id,
        "text": text[:PREVIEW_CHARS],
        "attachments": len(row.attachments or []),
        "sent_at": (row.sent_at or row.created_at).isoformat().replace("+00:00", "Z"),
    }


async def attach(conn: AsyncConnection, items: list[dict[str, Any]]) -> None:
    """Add ``last_message`` (a preview or None) to each serialized conversation."""
    rows = await last_messages(conn, [i["id"] for i in items])
    for item in items:
        row = rows.get(item["id"])
        item["last_message"] = preview(row) if row is not None else None
