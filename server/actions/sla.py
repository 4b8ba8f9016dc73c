"""SLA breaches become events the moment the deadline passes (driven by the timer worker)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from server import serialize
from server.actions._conv import locked, update_conversation
from server.actions._tx import transaction
from server.context import AppContext
from server.events.types import EventType
from server.storage import schema as t
from server.storage.schema import utcnow


async def mark_breaches(ctx: AppContext, now: datetime | None = None) -> int:
    now = now or utcnow()
    c = t.conversations.c
    async with ctx.db.read() as conn:
        due = [
            r.id
            for r in (
                await conn.execute(
                    sa.select(c.id).where(c.sla_due_at <= now, c.sla_breached_at.is_(None))
                )
            ).all()
        ]
    for conversation_id in due:
        async with transaction(ctx) as tx:
            row = (
                await tx.conn.execute(
                    locked(
                        tx,
                        sa.select(t.conversations).where(
                            c.id == conversation_id, c.sla_breached_at.is_(None)
                        ),
                    )
                )
            ).first()
            if row is None:
                continue
            updated: Any = await update_conversation(tx, row, {"sla_breached_at": now})
            await tx.emit(
                EventType.SLA_BREACHED,
                {
                    "conversation": serialize.conversation(updated),
                    "due_at": serialize.conversation(row)["sla_due_at"],
                },
                inbox_id=row.inbox_id,
                conversation_id=row.id,
            )
    return len(due)


async def next_deadline(ctx: AppContext) -> datetime | None:
    c = t.conversations.c
    async with ctx.db.read() as conn:
        value: datetime | None = (
            await conn.execute(
                sa.select(sa.func.min(c.sla_due_at)).where(c.sla_breached_at.is_(None))
            )
        ).scalar()
    return value
