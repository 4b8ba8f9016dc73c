"""What a visitor changes: sending a message (through inbound.ingest) and read receipts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from adapters.base import Attachment, ContactInfo, InboundMessage
from server.actions import delivery, inbound
from server.actions._tx import transaction
from server.context import AppContext
from server.events.types import Event, EventType
from server.storage import schema as t
from server.widget import history
from server.widget.sessions import Visitor, scope

_UNREAD = ("pending", "sent", "delivered")


def external_id(visitor: Visitor, client_id: str) -> str:
    """Dedupe key: the widget's client id, namespaced by the visitor's identity so one
    visitor can never collide with (and so read back) another visitor's message."""
    return f"wc:{visitor.external_id}:{client_id}"


async def send_message(
    ctx: AppContext, visitor: Visitor, client_id: str, text: str, files: Sequence[Attachment]
) -> tuple[dict[str, Any], bool]:
    """Commit the visitor's message; a retry with the same client id returns the first."""
    msg = InboundMessage(
        external_id=external_id(visitor, client_id),
        contact=ContactInfo(
            visitor.external_id, scope(visitor.inbox_id), verified=visitor.verified
        ),
        text=text or None,
        attachments=tuple(files),
        content_attributes={"client_id": client_id},
    )
    result = await inbound.ingest(ctx, visitor.inbox_id, msg)
    async with ctx.db.read() as conn:
        return await history.message(conn, visitor, result.message_id), result.created


async def mark_seen(ctx: AppContext, visitor: Visitor, up_to: int) -> int:
    """Agent messages up to ``up_to`` in the visitor's conversations become ``read``."""
    m, c = t.messages.c, t.conversations.c
    own = sa.select(c.id).where(c.inbox_id == visitor.inbox_id, c.contact_id == visitor.contact_id)
    async with transaction(ctx) as tx:
        rows = (
            await tx.conn.execute(
                sa.select(m.id)
                .where(
                    m.conversation_id.in_(own),
                    m.id <= up_to,
                    m.direction == "out",
                    m.kind == "message",
                    m.status.in_(_UNREAD),
                )
                .order_by(m.id)
                .limit(200)
            )
        ).all()
        for row in rows:
            # the forward-only status rule lives in delivery; reuse it, do not copy it
            await delivery._set_message(tx, row.id, status="read", error=None)
    return len(rows)


async def publish_typing(
    ctx: AppContext, visitor: Visitor, conversation_id: int, typing: bool
) -> None:
    """Ephemeral: through the bus (so agents on every node see it), never stored."""
    payload = {
        "conversation_id": conversation_id,
        "sender_type": "contact",
        "contact_id": visitor.contact_id,
        "active": typing,
        "private": False,
    }
    await ctx.bus.publish(
        [Event(EventType.TYPING, payload, visitor.inbox_id, conversation_id, audience="agents")]
    )
