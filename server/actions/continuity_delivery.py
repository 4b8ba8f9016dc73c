"""Email-continuity deliveries: queue, claim, and record each attempt's outcome.

The one writer of ``continuity_mail`` (server/storage/continuity_schema.py) and of the
status it mirrors onto the chat reply it carries, ``content_attributes.email_continuity``
= ``{"status": "pending" | "sent" | "failed", "to", "error", "sent_at"}``. Each change is
one transaction with a ``message.updated`` event, so agents see it live
(server/realtime/PROTOCOL.md). The worker is server/widget/continuity_outbox.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from server import serialize
from server.actions._tx import Tx, transaction
from server.actions.delivery import CLAIM_SECONDS, NODE_DEAD_AFTER, backoff
from server.context import AppContext
from server.events.types import EventType
from server.storage import schema as t
from server.storage.continuity_schema import continuity_mail
from server.storage.schema import utcnow
from server.storage.shared_clock import shared_now, shared_now_sql

ATTRIBUTE = "email_continuity"
_WAKEUP = "continuity_wakeup"


def wakeup(ctx: AppContext) -> asyncio.Event:
    """Set when a continuity mail is queued: the worker starts on it at once."""
    event = ctx.extras.get(_WAKEUP)
    if event is None:
        event = ctx.extras[_WAKEUP] = asyncio.Event()
    return event


async def enqueue(
    ctx: AppContext, message_id: int, email_inbox_id: int, to_address: str, provider_id: str
) -> bool:
    """Commit the mail for this reply; False when it was queued before (by any node)."""
    try:
        async with transaction(ctx) as tx:
            now = shared_now_sql(tx.conn)  # the queue's clock (server/storage/shared_clock.py)
            await tx.conn.execute(
                continuity_mail.insert().values(
                    message_id=message_id,
                    email_inbox_id=email_inbox_id,
                    to_address=to_address,
                    provider_id=provider_id,
                    state="queued",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            await _show(tx, message_id, status="pending", to=to_address, error=None, sent_at=None)
            tx.after_commit.append(wakeup(ctx).set)
    except IntegrityError:  # the unique key: another sweep queued it first
        return False
    return True


async def claim(ctx: AppContext, limit: int = 10) -> list[Any]:
    """Claim due mails for this process; a claim not finished in CLAIM_SECONDS lapses."""
    c, n = continuity_mail.c, t.nodes.c
    async with ctx.db.read() as conn:
        now = await shared_now(conn)  # not this node's clock: server/storage/shared_clock.py
    # as the outbox's claims (server/actions/delivery.py): a claim is void once it lapsed,
    # once its holder stopped its heartbeat, or when it was this node's (an earlier
    # incarnation, or this one's, whose loop claims only when nothing is in flight)
    holder_alive = sa.exists().where(
        n.node_id == c.claimed_by, n.seen_at > now - timedelta(seconds=NODE_DEAD_AFTER)
    )
    this_node = c.claimed_by.startswith(f"{ctx.node_id}/", autoescape=True)
    free = sa.or_(c.claimed_until.is_(None), c.claimed_until < now, ~holder_alive, this_node)
    async with ctx.db.read() as conn:
        ids = [
            r.id
            for r in await conn.execute(
                sa.select(c.id)
                .where(c.state == "queued", c.next_attempt_at <= now, free)
                .order_by(c.next_attempt_at)
                .limit(limit)
            )
        ]
    claimed = []
    for mail_id in ids:  # compare-and-set: two nodes never hold one mail at once
        async with ctx.db.write() as conn:
            done = await conn.execute(
                sa.update(continuity_mail)
                .where(c.id == mail_id, c.state == "queued", free)
                .values(
                    claimed_by=ctx.incarnation,
                    claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
                    attempts=c.attempts + 1,
                )
            )
            if done.rowcount:
                query = sa.select(continuity_mail).where(c.id == mail_id)
                claimed.append((await conn.execute(query)).one())
    return claimed


async def next_due(ctx: AppContext) -> datetime | None:
    """When the next mail can be claimed: a mail another node holds is not due before
    its claim lapses (waking for it at once would spin)."""
    c = continuity_mail.c
    held = c.claimed_until.is_not(None) & (c.claimed_until > c.next_attempt_at)
    when = sa.case((held, c.claimed_until), else_=c.next_attempt_at)
    async with ctx.db.read() as conn:
        due: datetime | None = (
            await conn.execute(sa.select(sa.func.min(when)).where(c.state == "queued"))
        ).scalar()
    return due


async def mark_sent(ctx: AppContext, row: Any) -> None:
    now = utcnow()
    async with transaction(ctx) as tx:
        if await _finish(tx, row, state="sent", sent_at=now, last_error=None):
            await _show(tx, row.message_id, status="sent", error=None, sent_at=now.isoformat())


async def mark_retry(
    ctx: AppContext, row: Any, reason: str, max_attempts: int, retry_after: float | None = None
) -> None:
    if row.attempts >= max_attempts:
        await mark_failed(ctx, row, f"gave up after {row.attempts} attempts: {reason}")
        return
    delay = retry_after if retry_after is not None else backoff(row.attempts)
    c = continuity_mail.c
    async with transaction(ctx) as tx:
        done = await tx.conn.execute(
            sa.update(continuity_mail)
            .where(c.id == row.id, c.state == "queued")
            .values(
                next_attempt_at=shared_now_sql(tx.conn) + timedelta(seconds=delay),
                claimed_until=None,
                last_error=reason,
            )
        )
        if done.rowcount:
            error = f"retrying (attempt {row.attempts}): {reason}"
            await _show(tx, row.message_id, status="pending", error=error)
        tx.after_commit.append(wakeup(ctx).set)  # the worker sleeps until the new due time


async def mark_failed(ctx: AppContext, row: Any, reason: str) -> None:
    async with transaction(ctx) as tx:
        if await _finish(tx, row, state="failed", last_error=reason):
            await _show(tx, row.message_id, status="failed", error=reason)


async def _finish(tx: Tx, row: Any, **values: Any) -> bool:
    c = continuity_mail.c
    done = await tx.conn.execute(
        sa.update(continuity_mail)
        .where(c.id == row.id, c.state == "queued")
        .values(claimed_until=None, **values)
    )
    return bool(done.rowcount)


async def _show(tx: Tx, message_id: int, **fields: Any) -> None:
    """Merge ``fields`` into the reply's ``email_continuity`` and tell the agents."""
    m = t.messages.c
    query = sa.select(t.messages).where(m.id == message_id)
    if tx.conn.dialect.name == "postgresql":
        query = query.with_for_update()  # a concurrent attribute writer must not be lost
    msg = (await tx.conn.execute(query)).one()
    attrs = dict(msg.content_attributes or {})
    attrs[ATTRIBUTE] = {**(attrs.get(ATTRIBUTE) or {}), **fields}
    await tx.conn.execute(
        sa.update(t.messages)
        .where(m.id == message_id)
        .values(content_attributes=attrs, version=m.version + 1)
    )
    row = (await tx.conn.execute(sa.select(t.messages).where(m.id == message_id))).one()
    await tx.emit(
        EventType.MESSAGE_UPDATED,
        {"message": serialize.message(row)},
        inbox_id=row.inbox_id,
        conversation_id=row.conversation_id,
    )


__all__ = ["claim", "enqueue", "mark_failed", "mark_retry", "mark_sent", "next_due", "wakeup"]
