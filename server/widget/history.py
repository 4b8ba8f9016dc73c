"""Visitor-side reads: only the visitor's own conversations, only public messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.exceptions import InvalidInput, NotFound
from server.storage import schema as t
from server.widget import shapes
from server.widget.sessions import Visitor


def _own_conversations(visitor: Visitor) -> Any:
    c = t.conversations.c
    return sa.select(c.id).where(c.inbox_id == visitor.inbox_id, c.contact_id == visitor.contact_id)


async def owns_conversation(conn: AsyncConnection, visitor: Visitor, conversation_id: int) -> bool:
    c = t.conversations.c
    row = (await conn.execute(_own_conversations(visitor).where(c.id == conversation_id))).first()
    return row is not None


async def latest_conversation_id(conn: AsyncConnection, visitor: Visitor) -> int | None:
    c = t.conversations.c
    row = (await conn.execute(_own_conversations(visitor).order_by(c.id.desc()).limit(1))).first()
    return None if row is None else int(row.id)


async def avatars(conn: AsyncConnection, user_ids: Iterable[Any]) -> dict[int, str | None]:
    ids = {int(i) for i in user_ids if i}
    if not ids:
        return {}
    rows = await conn.execute(
        sa.select(t.users.c.id, t.users.c.avatar_url).where(t.users.c.id.in_(ids))
    )
    return {int(r.id): r.avatar_url for r in rows}


async def messages(
    conn: AsyncConnection, visitor: Visitor, before: int | None, limit: int
) -> dict[str, Any]:
    """Newest page first (``before`` a message id); items in chronological order."""
    m = t.messages.c
    query = sa.select(t.messages).where(
        m.conversation_id.in_(_own_conversations(visitor)), m.kind.in_(shapes.PUBLIC_KINDS)
    )
    if before is not None:
        anchor = (
            await conn.execute(
                sa.select(m.sent_at, m.id).where(
                    m.id == before, m.conversation_id.in_(_own_conversations(visitor))
                )
            )
        ).first()
        if anchor is None:
            raise InvalidInput(f"before: message {before} is not in your conversations")
        query = query.where(
            sa.or_(
                m.sent_at < anchor.sent_at, sa.and_(m.sent_at == anchor.sent_at, m.id < anchor.id)
            )
        )
    rows = (
        await conn.execute(query.order_by(m.sent_at.desc(), m.id.desc()).limit(limit + 1))
    ).all()
    page = list(reversed(rows[:limit]))
    faces = await avatars(conn, (r.sender_id for r in page if r.sender_type != "contact"))
    return {"items": [shapes.from_row(r, faces) for r in page], "has_more": len(rows) > limit}


# built once (read back after every widget send): compiled once, cache key computed once
_MESSAGE = sa.select(t.messages).where(
    t.messages.c.id == sa.bindparam("id"),
    t.messages.c.conversation_id.in_(
        sa.select(t.conversations.c.id).where(
            t.conversations.c.inbox_id == sa.bindparam("inbox_id"),
            t.conversations.c.contact_id == sa.bindparam("contact_id"),
        )
    ),
)


async def message(conn: AsyncConnection, visitor: Visitor, message_id: int) -> dict[str, Any]:
    params = {"id": message_id, "inbox_id": visitor.inbox_id, "contact_id": visitor.contact_id}
    row = (await conn.execute(_MESSAGE, params)).one()
    return shapes.from_row(row, {})


async def attachment(conn: AsyncConnection, visitor: Visitor, attachment_id: int) -> Any:
    """An attachment of a public message in the visitor's conversations, else NotFound."""
    a, m = t.attachments.c, t.messages.c
    row = (
        await conn.execute(
            sa.select(a.filename, a.content_type, a.data)
            .join(t.messages, m.id == a.message_id)
            .where(
                a.id == attachment_id,
                m.kind.in_(shapes.PUBLIC_KINDS),
                m.conversation_id.in_(_own_conversations(visitor)),
            )
        )
    ).first()
    if row is None:
        raise NotFound(f"attachment {attachment_id} not found")
    return row
