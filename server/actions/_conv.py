"""Shared steps of conversation actions: write fields, bump the version, emit the event."""

from __future__ import annotations

import functools
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from server import serialize
from server.actions import clock
from server.actions._tx import Tx
from server.events.types import EventType
from server.storage import schema as t
from server.storage.schema import utcnow


def with_fields(row: Any, fields: dict[str, Any]) -> Any:
    """A row-like snapshot with some fields replaced (rows are immutable)."""
    return SimpleNamespace(**{**dict(row._mapping), **fields})


async def load_inbox(tx: Tx, inbox_id: int) -> Any:
    return (await tx.conn.execute(sa.select(t.inboxes).where(t.inboxes.c.id == inbox_id))).one()


def locked(tx: Tx, query: Any) -> Any:
    """Lock the selected conversation row until commit (PostgreSQL; SQLite writers are
    serialised already). Every writer that recomputes the clock holds this lock, so two
    concurrent messages cannot each recompute from a view that misses the other."""
    return query.with_for_update() if tx.conn.dialect.name == "postgresql" else query


async def reload(tx: Tx, conversation_id: int) -> Any:
    query = sa.select(t.conversations).where(t.conversations.c.id == conversation_id)
    return (await tx.conn.execute(locked(tx, query))).one()


@functools.lru_cache(maxsize=256)
def _update_statement(names: tuple[str, ...]) -> Any:
    """UPDATE … RETURNING for one set of field names, built once: SQLAlchemy then reuses
    its compiled SQL and cache key (a statement built per call costs ~0.1 ms to key)."""
    c = t.conversations.c
    values: dict[str, Any] = {name: sa.bindparam(f"v_{name}", type_=c[name].type) for name in names}
    values.update(
        version=c.version + 1, updated_at=sa.bindparam("v_updated_at", type_=c.updated_at.type)
    )
    return (
        sa.update(t.conversations)
        .where(c.id == sa.bindparam("b_id"))
        .values(**values)
        .returning(t.conversations)
    )


async def update_conversation(
    tx: Tx,
    conversation: Any,
    fields: dict[str, Any],
    *,
    recompute_clock: bool = False,
    now: datetime | None = None,
    created: bool = False,
    inbox: Any = None,
) -> Any:
    """Apply ``fields``, optionally recompute the clock, bump version, emit one event."""
    now = now or utcnow()
    inbox = inbox if inbox is not None else await load_inbox(tx, conversation.inbox_id)
    if recompute_clock:
        snapshot = with_fields(conversation, fields)
        fields = {**fields, **await clock.recompute(tx, snapshot, inbox, now)}
    params = {f"v_{name}": value for name, value in fields.items()}
    params.update(b_id=conversation.id, v_updated_at=now)
    row = (await tx.conn.execute(_update_statement(tuple(sorted(fields))), params)).one()
    kind = EventType.CONVERSATION_CREATED if created else EventType.CONVERSATION_UPDATED
    await tx.emit(
        kind,
        {"conversation": serialize.conversation(row, channel=inbox.kind)},
        inbox_id=row.inbox_id,
        conversation_id=row.id,
    )
    return row


async def add_activity(
    tx: Tx,
    conversation: Any,
    text: str,
    attributes: dict[str, Any],
    actor_id: int | None,
    now: datetime,
) -> Any:
    """An activity line ("Resolved by Ana"): visible to agents, part of the clock's timeline."""
    result = await tx.conn.execute(
        t.messages.insert()
        .values(
            conversation_id=conversation.id,
            inbox_id=conversation.inbox_id,
            direction="out",
            kind="activity",
            sender_type="agent" if actor_id else "system",
            sender_id=actor_id,
            text=text,
            status="sent",
            content_attributes=attributes,
            sent_at=now,
            attachments=[],
            created_at=now,
        )
        .returning(t.messages)
    )
    row = result.one()
    await tx.emit(
        EventType.MESSAGE_CREATED,
        {"message": serialize.message(row)},
        inbox_id=row.inbox_id,
        conversation_id=row.conversation_id,
    )
    return row
