"""Outbound delivery state: claiming outbox rows, recording results and provider receipts.

Statuses only move forward in meaning (pending < sent < delivered < read); a late "sent"
after "read" changes nothing. "failed" applies unless the message was already read or
delivered (a provider cannot un-deliver).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from adapters.base import StatusUpdate
from server import serialize
from server.actions import cycles
from server.actions._conv import reload, update_conversation
from server.actions._tx import Tx, transaction
from server.context import AppContext
from server.events.types import EventType
from server.storage import schema as t
from server.storage.schema import utcnow
from server.storage.shared_clock import anchor, shared_now, shared_now_sql

RANK = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}
CLAIM_SECONDS = 120  # a claimed delivery that is not finished by then is retried elsewhere
#: seconds without a heartbeat (sent every 5 s by workers/timers.py) after which a node's
#: claims are void: six missed beats, so a node slowed down by load is not taken for dead
#: while it is sending (a takeover then sends twice); a restarted node's predecessor is
#: void at once anyway (claims belong to an incarnation)
NODE_DEAD_AFTER = 30
# Claims are held by a process incarnation (ctx.incarnation: node id + boot id), so an
# earlier incarnation of this very node id is known dead at once: its claims are void.
# So are this incarnation's own: its one outbox loop claims only when none of its
# deliveries is in flight (one whose outcome a database outage kept from being recorded
# is retried at once, not after CLAIM_SECONDS).
CLOCK_AHEAD = 60  # s: a row last written further in our future came from a clock ahead
# of ours (a node whose wall clock jumped forward, e.g. a wrong NTP step): the schedule it
# wrote (now + backoff, on that clock) may lie up to the jump in our future, so the row is
# due now rather than up to the jump late; at worst a retry comes early (bench/README.md,
# "Faults under load": clock jump).


def backoff(attempt: int) -> float:
    """Seconds before retry ``attempt`` (1-based): 2, 4, 8 … capped at 15 min, ±20% jitter."""
    base: float = min(2.0**attempt, 900.0)
    return base * random.uniform(0.8, 1.2)


async def claim(ctx: AppContext, limit: int = 20) -> list[Any]:
    """Atomically claim due outbox rows for this node (SKIP LOCKED on PostgreSQL)."""
    o = t.outbox.c
    n = t.nodes.c
    this_node = o.claimed_by.startswith(f"{ctx.node_id}/", autoescape=True)
    async with ctx.db.write() as conn:
        now = await shared_now(conn)
        holder_alive = sa.exists(
            sa.select(n.node_id).where(
                n.node_id == o.claimed_by, n.seen_at > now - timedelta(seconds=NODE_DEAD_AFTER)
            )
        )
        due = (
            sa.select(o.id)
            .where(
                o.state == "queued",
                sa.or_(
                    o.next_attempt_at <= now, o.updated_at > now + timedelta(seconds=CLOCK_AHEAD)
                ),
                sa.or_(o.claimed_until.is_(None), o.claimed_until < now, ~holder_alive, this_node),
            )
            .order_by(o.next_attempt_at)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = [r.id for r in (await conn.execute(due)).all()]
        if not ids:
            return []
        await conn.execute(
            sa.update(t.outbox)
            .where(o.id.in_(ids))
            .values(
                claimed_by=ctx.incarnation,
                claimed_until=now + timedelta(seconds=CLAIM_SECONDS),
                attempts=o.attempts + 1,
                updated_at=now,
            )
        )
        return list((await conn.execute(sa.select(t.outbox).where(o.id.in_(ids)))).all())


async def depth(ctx: AppContext) -> dict[str, int]:
    """Outbox rows that are not done, by state (queued, failed)."""
    o = t.outbox.c
    async with ctx.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(o.state, sa.func.count()).where(o.state != "done").group_by(o.state)
            )
        ).all()
    counts = {"queued": 0, "failed": 0}
    counts.update({r[0]: int(r[1]) for r in rows})
    return counts


async def next_due(ctx: AppContext) -> datetime | None:
    """When this node can next claim something: the earliest queued row's next attempt, or,
    for a row another node holds, the end of that claim. (Counting a held row as due now
    made every node but the holder spin through claim/next_due rounds with no pause for as
    long as the holder's send took.) A holder that dies is noticed by the poll interval,
    which caps every sleep anyway."""
    o = t.outbox.c
    held = sa.and_(
        o.claimed_until.is_not(None),
        o.claimed_until > o.next_attempt_at,
        ~o.claimed_by.startswith(f"{ctx.node_id}/", autoescape=True),
    )
    ready_at = sa.case((held, o.claimed_until), else_=o.next_attempt_at)
    earliest = sa.type_coerce(sa.func.min(ready_at), t.UTCDateTime())
    async with ctx.db.read() as conn:
        due: datetime | None = (
            await conn.execute(sa.select(earliest).where(o.state == "queued"))
        ).scalar()
    return due


async def mark_sent(
    ctx: AppContext, outbox_id: int, provider_id: str, status: str = "sent"
) -> None:
    async with transaction(ctx) as tx:
        row = await _outbox_row(tx, outbox_id)
        if row is None:
            return
        await _lock_provider_id(tx, row.inbox_id, provider_id)
        await tx.conn.execute(
            sa.update(t.outbox)
            .where(t.outbox.c.id == outbox_id)
            .values(
                state="done",
                last_error=None,
                claimed_until=None,
                updated_at=shared_now_sql(tx.conn),
            )
        )
        await _set_message(tx, row.message_id, status=status, provider_id=provider_id, error=None)
        await _apply_held(tx, row.inbox_id, row.message_id, provider_id)


async def mark_retry(
    ctx: AppContext,
    outbox_id: int,
    reason: str,
    max_attempts: int,
    retry_after: float | None = None,
) -> None:
    async with transaction(ctx) as tx:
        row = await _outbox_row(tx, outbox_id)
        if row is None:
            return
        if row.attempts >= max_attempts:
            await _fail(tx, row, f"gave up after {row.attempts} attempts: {reason}")
            return
        delay = retry_after if retry_after is not None else backoff(row.attempts)
        now = shared_now_sql(tx.conn)  # not this node's clock: shared_clock.py
        await tx.conn.execute(
            sa.update(t.outbox)
            .where(t.outbox.c.id == outbox_id)
            .values(
                next_attempt_at=now + timedelta(seconds=delay),
                claimed_until=None,
                last_error=reason,
                updated_at=now,
            )
        )
        await _set_message(
            tx,
            row.message_id,
            status="pending",
            error=f"retrying (attempt {row.attempts}): {reason}",
        )


async def mark_failed(ctx: AppContext, outbox_id: int, reason: str) -> None:
    async with transaction(ctx) as tx:
        row = await _outbox_row(tx, outbox_id)
        if row is not None:
            await _fail(tx, row, reason)


async def retry_failed(ctx: AppContext, message_id: int) -> None:
    """An agent's "retry" on a failed message: back into the outbox, same provider id."""
    async with transaction(ctx) as tx:
        now = shared_now_sql(tx.conn)
        await tx.conn.execute(
            sa.update(t.outbox)
            .where(t.outbox.c.message_id == message_id)
            .values(
                state="queued", attempts=0, next_attempt_at=now, claimed_until=None, updated_at=now
            )
        )
        await _set_message(tx, message_id, status="pending", error=None, force=True)
        tx.after_commit.append(ctx.outbox_wakeup.set)


async def _fail(tx: Tx, row: Any, reason: str) -> None:
    await tx.conn.execute(
        sa.update(t.outbox)
        .where(t.outbox.c.id == row.id)
        .values(
            state="failed",
            last_error=reason,
            claimed_until=None,
            updated_at=shared_now_sql(tx.conn),
        )
    )
    await _set_message(tx, row.message_id, status="failed", error=reason)


async def _outbox_row(tx: Tx, outbox_id: int) -> Any:
    return (await tx.conn.execute(sa.select(t.outbox).where(t.outbox.c.id == outbox_id))).first()


async def _set_message(
    tx: Tx,
    message_id: int,
    *,
    status: str,
    error: str | None,
    provider_id: str | None = None,
    force: bool = False,
) -> None:
    query = sa.select(t.messages).where(t.messages.c.id == message_id)
    if tx.conn.dialect.name == "postgresql":
        # Lock the row: a concurrent writer (a read receipt vs. the outbox's "sent") must
        # not decide from a stale status and then overwrite a newer one (read -> sent).
        query = query.with_for_update()
    msg = (await tx.conn.execute(query)).one()
    if not force and not _moves_forward(msg.status, status):
        return
    values: dict[str, Any] = {"status": status, "error": error, "version": t.messages.c.version + 1}
    if provider_id is not None:
        values["provider_id"] = provider_id
    await tx.conn.execute(
        sa.update(t.messages).where(t.messages.c.id == message_id).values(**values)
    )
    row = (await tx.conn.execute(sa.select(t.messages).where(t.messages.c.id == message_id))).one()
    await tx.emit(
        EventType.MESSAGE_UPDATED,
        {"message": serialize.message(row)},
        inbox_id=row.inbox_id,
        conversation_id=row.conversation_id,
    )
    if (status == "failed") != (msg.status == "failed"):  # a failed send is not a response
        conv = await reload(tx, row.conversation_id)
        # history changed: the clock replays the timeline (docs/frt.md, "Incremental")
        await update_conversation(tx, conv, {"clock_state": None}, recompute_clock=True)
    if status in cycles.FINAL and msg.status not in cycles.FINAL:
        await cycles.observe_sent(tx, row)  # a first response is final once sent


def _moves_forward(current: str, new: str) -> bool:
    if new == "failed":
        return current in ("pending", "sent")
    if current == "failed":
        return new != "pending"
    return RANK.get(new, -1) > RANK.get(current, -1) or (new == current == "pending")


async def apply_status(ctx: AppContext, inbox_id: int, update: StatusUpdate) -> bool:
    """A provider receipt (delivered/read/failed). False if no message has that id yet:
    the receipt is then held and applied when the send's answer records the id (providers
    can report "delivered" before their Send API call has answered us)."""
    m = t.messages.c
    async with transaction(ctx) as tx:
        await _lock_provider_id(tx, inbox_id, update.provider_id)
        row = (
            await tx.conn.execute(
                sa.select(m.id).where(m.inbox_id == inbox_id, m.provider_id == update.provider_id)
            )
        ).first()
        if row is None:
            await _hold_receipt(tx, inbox_id, update)
            return False
        await _set_message(tx, row.id, status=update.status, error=update.error)
    return True


def _receipt_key(provider_id: str) -> str:
    return f"early-receipt:{provider_id}"[:100]


async def _lock_provider_id(tx: Tx, inbox_id: int, provider_id: str) -> None:
    """Serialise a receipt and the send result for one provider id (PostgreSQL; SQLite
    writers are serialised already), so a held receipt is never missed."""
    if tx.conn.dialect.name == "postgresql":
        await tx.conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
            {"k": f"{inbox_id}:{provider_id}"},
        )


async def _hold_receipt(tx: Tx, inbox_id: int, update: StatusUpdate) -> None:
    s = t.inbox_state.c
    key = _receipt_key(update.provider_id)
    row = (
        await tx.conn.execute(sa.select(s.value).where(s.inbox_id == inbox_id, s.key == key))
    ).first()
    held = [*(row.value if row else []), {"status": update.status, "error": update.error}]
    if row is None:
        await tx.conn.execute(
            t.inbox_state.insert().values(
                inbox_id=inbox_id, key=key, value=held, updated_at=utcnow()
            )
        )
    else:
        await tx.conn.execute(
            sa.update(t.inbox_state)
            .where(s.inbox_id == inbox_id, s.key == key)
            .values(value=held, updated_at=utcnow())
        )


async def _apply_held(tx: Tx, inbox_id: int, message_id: int, provider_id: str) -> None:
    s = t.inbox_state.c
    key = _receipt_key(provider_id)
    row = (
        await tx.conn.execute(sa.select(s.value).where(s.inbox_id == inbox_id, s.key == key))
    ).first()
    if row is None:
        return
    for held in row.value or []:
        await _set_message(tx, message_id, status=held["status"], error=held.get("error"))
    await tx.conn.execute(sa.delete(t.inbox_state).where(s.inbox_id == inbox_id, s.key == key))


__all__ = ["apply_status", "claim", "mark_failed", "mark_retry", "mark_sent"]


async def heartbeat(ctx: AppContext) -> None:
    """Tell the other nodes this one is alive (its claims stay valid)."""
    n = t.nodes.c
    async with ctx.db.read() as conn:
        await anchor(conn)  # this node's utcnow() follows the database's clock
    async with ctx.db.write() as conn:
        now = await shared_now(conn)
        done = await conn.execute(
            sa.update(t.nodes).where(n.node_id == ctx.incarnation).values(seen_at=now)
        )
        if done.rowcount == 0:
            await conn.execute(t.nodes.insert().values(node_id=ctx.incarnation, seen_at=now))
        await conn.execute(sa.delete(t.nodes).where(n.seen_at < now - timedelta(days=1)))
        s = t.inbox_state.c  # receipts for messages that never got their provider id
        await conn.execute(
            sa.delete(t.inbox_state).where(
                s.key.like("early-receipt:%"), s.updated_at < now - timedelta(days=1)
            )
        )
        # "out:<message>:<part>" records which parts of a send the provider accepted, so a
        # retry skips them; retries end within hours (outbox_max_attempts, backoff capped
        # at 15 min), so a week-old record is never read again
        await conn.execute(
            sa.delete(t.inbox_state).where(
                s.key.like("out:%"), s.updated_at < now - timedelta(days=7)
            )
        )
