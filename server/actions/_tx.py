"""Unit of work: one write transaction plus the events it records."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.context import AppContext
from server.events.types import EPHEMERAL, Event
from server.storage import schema as t

log = logging.getLogger(__name__)


@dataclass
class Tx:
    conn: AsyncConnection
    events: list[Event] = field(default_factory=list)
    after_commit: list[Any] = field(default_factory=list)  # zero-arg callables

    async def emit(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        inbox_id: int | None = None,
        conversation_id: int | None = None,
        audience: str = "agents",
    ) -> None:
        """Record an event in this transaction; it is published after commit."""
        if type in EPHEMERAL:
            raise ValueError(f"{type} is ephemeral: publish it directly, do not store it")
        row = await self.conn.execute(
            t.events.insert()
            .values(type=type, inbox_id=inbox_id, conversation_id=conversation_id,
                    payload=_jsonable(payload))
            .returning(t.events.c.id)
        )
        db_id = int(row.scalar_one())
        self.events.append(
            Event(type, payload, inbox_id, conversation_id, db_id=db_id, audience=audience)
        )


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(json.dumps(payload, default=str))  # type: ignore[no-any-return]


@asynccontextmanager
async def transaction(ctx: AppContext) -> AsyncIterator[Tx]:
    """Run a write transaction; publish its events once it committed."""
    async with ctx.db.write() as conn:
        tx = Tx(conn)
        yield tx
    if tx.events:
        await publish_committed(ctx, tx.events)
    for callback in tx.after_commit:
        callback()


async def publish_committed(ctx: AppContext, events: list[Event]) -> None:
    """Hand committed events to the bus, then mark them published.

    If the process dies between commit and publish, ``republish_pending`` at the next
    start publishes them (the Redis bus deduplicates by ``db_id``).
    """
    try:
        await ctx.bus.publish(events)
    except Exception:
        log.exception("bus publish failed; events stay pending for republish")
        return
    ids = [e.db_id for e in events if e.db_id is not None]
    if ids:
        async with ctx.db.write() as conn:
            await conn.execute(
                sa.update(t.events).where(t.events.c.id.in_(ids)).values(published=True)
            )


async def republish_pending(ctx: AppContext, limit: int = 10_000) -> int:
    async with ctx.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(t.events).where(t.events.c.published.is_(False))
                .order_by(t.events.c.id).limit(limit)
            )
        ).all()
    events = [
        Event(r.type, r.payload, r.inbox_id, r.conversation_id, db_id=r.id) for r in rows
    ]
    if events:
        await publish_committed(ctx, events)
    return len(events)
