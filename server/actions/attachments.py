"""Attachments are stored in the database (one place that every node can read)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.base import Attachment
from server.actions._tx import Tx
from server.storage import schema as t
from server.storage.schema import utcnow


async def store_attachments(
    tx: Tx, inbox_id: int, message_id: int, items: Sequence[Attachment], max_bytes: int
) -> list[dict[str, Any]]:
    """Store each attachment; an oversized one becomes a visible note, never a lost message."""
    refs: list[dict[str, Any]] = []
    for item in items:
        if len(item.data) > max_bytes:
            refs.append(
                {
                    "filename": item.filename,
                    "content_type": item.content_type,
                    "size": len(item.data),
                    "omitted": f"larger than {max_bytes} bytes",
                }
            )
            continue
        att_id = (
            await tx.conn.execute(
                t.attachments.insert()
                .values(
                    inbox_id=inbox_id,
                    message_id=message_id,
                    filename=item.filename[:500],
                    content_type=item.content_type[:200],
                    size=len(item.data),
                    content_id=item.content_id,
                    data=item.data,
                    created_at=utcnow(),
                )
                .returning(t.attachments.c.id)
            )
        ).scalar_one()
        refs.append(
            {
                "id": att_id,
                "filename": item.filename,
                "content_type": item.content_type,
                "size": len(item.data),
                "content_id": item.content_id,
                "url": f"/api/attachments/{att_id}",
            }
        )
    return refs


async def upload(
    ctx: Any, inbox_id: int, filename: str, content_type: str, data: bytes
) -> dict[str, Any]:
    """An agent's file, stored unattached until a reply claims it by id."""
    async with ctx.db.write() as conn:
        att_id = (
            await conn.execute(
                t.attachments.insert()
                .values(
                    inbox_id=inbox_id,
                    message_id=None,
                    filename=filename,
                    content_type=content_type[:200],
                    size=len(data),
                    data=data,
                    created_at=utcnow(),
                )
                .returning(t.attachments.c.id)
            )
        ).scalar_one()
    return {
        "id": att_id,
        "filename": filename,
        "content_type": content_type,
        "size": len(data),
        "url": f"/api/attachments/{att_id}",
    }
