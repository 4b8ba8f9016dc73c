"""SLA alarms become events the moment their instant passes (driven by the timer worker).

Four alarms per conversation (docs/frt.md, "SLA events"): near breach and breach, for the
first response (``sla_*`` columns) and the next response (``nrt_*``). Each is an indexed
instant column plus a "done" column set in the same transaction as its event, so an alarm
fires once, survives restarts, and fires again only for a new deadline (the clock clears
the done column when it moves the instant).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from server import serialize
from server.actions._conv import locked, update_conversation
from server.actions._tx import transaction
from server.context import AppContext
from server.events.types import EventType
from server.storage import schema as t
from server.storage.shared_clock import shared_now


@dataclass(frozen=True)
class Alarm:
    metric: str  # "frt" | "nrt": which clock (payload "metric")
    at: str  # the column holding the instant it fires
    done: str  # the column set when it fired
    due: str  # the deadline it warns about (the payload's "due_at")
    event: EventType


ALARMS = (
    Alarm("frt", "sla_warn_at", "sla_warned_at", "sla_due_at", EventType.SLA_NEAR_BREACH),
    Alarm("frt", "sla_due_at", "sla_breached_at", "sla_due_at", EventType.SLA_BREACHED),
    Alarm("nrt", "nrt_warn_at", "nrt_warned_at", "nrt_due_at", EventType.SLA_NEAR_BREACH),
    Alarm("nrt", "nrt_due_at", "nrt_breached_at", "nrt_due_at", EventType.SLA_BREACHED),
)


async def mark_breaches(ctx: AppContext, now: datetime | None = None) -> int:
    """Fire every alarm whose instant has passed, by the shared clock (a node whose wall
    clock stepped an hour ahead fired breaches an hour early, for good:
    server/storage/shared_clock.py); returns how many fired."""
    if now is None:
        async with ctx.db.read() as conn:
            now = await shared_now(conn)
    fired = 0
    for alarm in ALARMS:
        fired += await _fire_due(ctx, alarm, now)
    return fired


async def _fire_due(ctx: AppContext, alarm: Alarm, now: datetime) -> int:
    c = t.conversations.c
    due = sa.and_(c[alarm.at] <= now, c[alarm.done].is_(None))
    async with ctx.db.read() as conn:
        ids = [r.id for r in (await conn.execute(sa.select(c.id).where(due))).all()]
    fired = 0
    for conversation_id in ids:
        async with transaction(ctx) as tx:
            query = sa.select(t.conversations).where(c.id == conversation_id, due)
            row = (await tx.conn.execute(locked(tx, query))).first()
            if row is None:
                continue  # answered, moved or fired by another node meanwhile
            updated: Any = await update_conversation(tx, row, {alarm.done: now})
            deadline: datetime | None = getattr(row, alarm.due)
            if alarm.event is EventType.SLA_NEAR_BREACH and deadline and deadline <= now:
                continue  # already past the deadline (e.g. imported): the breach says it
            await tx.emit(
                alarm.event,
                {
                    "conversation": serialize.conversation(updated),
                    "metric": alarm.metric,
                    "due_at": _iso(deadline),
                },
                inbox_id=row.inbox_id,
                conversation_id=row.id,
            )
            fired += 1
    return fired


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


async def next_deadline(ctx: AppContext) -> datetime | None:
    """The earliest alarm still to fire (None: nothing is due)."""
    c = t.conversations.c
    soonest: list[datetime] = []
    async with ctx.db.read() as conn:
        for alarm in ALARMS:
            value = (
                await conn.execute(
                    sa.select(sa.func.min(c[alarm.at])).where(c[alarm.done].is_(None))
                )
            ).scalar()
            if value is not None:
                soonest.append(value)
    return min(soonest, default=None)
