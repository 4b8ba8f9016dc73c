"""Keeps a conversation's first-response figures in step with its timeline.

The figures are recomputed from the stored messages with the pure clock in
``server.domain.frt`` after every change that can move them (a message, a status change,
a failed send). Recomputing rather than patching keeps them exact when history is
imported out of order or a reply later fails to send.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from server.actions._tx import Tx
from server.domain.calendar import BusinessHours
from server.domain.frt import (
    ItemKind,
    Segment,
    TimelineItem,
    compute_segments,
    sla_deadline,
    waiting_since,
)
from server.domain.status import Status
from server.storage import schema as t


def hours_of(inbox: Any) -> BusinessHours:
    return BusinessHours.from_json(inbox.business_hours) if inbox.business_hours else (
        BusinessHours.always()
    )


def timeline_item(row: Any, human_ids: set[int]) -> TimelineItem | None:
    """Classify one stored message for the clock (see DESIGN.md's FRT definition)."""
    at = row.sent_at
    if row.kind == "activity":
        status = (row.content_attributes or {}).get("status")
        return TimelineItem(at, ItemKind.STATUS, str(row.id), status=Status(status)) if status \
            else None
    if row.direction == "in":
        if row.kind != "message" or row.is_auto:
            return None
        return TimelineItem(at, ItemKind.CUSTOMER_MESSAGE, str(row.id))
    counts = (
        row.kind == "message"
        and row.sender_type == "agent"
        and row.sender_id in human_ids
        and not row.is_auto
        and row.status != "failed"
    )
    return TimelineItem(at, ItemKind.AGENT_REPLY, str(row.id), _str(row.sender_id),
                        counts_as_response=counts)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


async def _human_agent_ids(tx: Tx, rows: Sequence[Any]) -> set[int]:
    ids = {r.sender_id for r in rows if r.sender_type == "agent" and r.sender_id is not None}
    if not ids:
        return set()
    found = await tx.conn.execute(
        sa.select(t.users.c.id).where(t.users.c.id.in_(ids), t.users.c.is_bot.is_(False))
    )
    return {int(r[0]) for r in found}


def _target(inbox: Any, priority: str) -> float | None:
    targets = inbox.frt_targets or {}
    value = targets.get(priority, targets.get("default"))
    return float(value) if value else None


async def recompute(tx: Tx, conversation: Any, inbox: Any, now: datetime) -> dict[str, Any]:
    """Recompute cycles and the conversation's clock fields; returns the changed fields."""
    rows = (
        await tx.conn.execute(
            sa.select(t.messages).where(t.messages.c.conversation_id == conversation.id)
            .order_by(t.messages.c.sent_at, t.messages.c.id)
        )
    ).all()
    humans = await _human_agent_ids(tx, rows)
    items = [i for i in (timeline_item(r, humans) for r in rows) if i is not None]
    hours = hours_of(inbox)
    segments = compute_segments(items, hours)
    await _store_cycles(tx, conversation, inbox, segments)
    return _clock_fields(conversation, inbox, items, segments, hours, now)


def _clock_fields(conversation: Any, inbox: Any, items: list[TimelineItem],
                  segments: list[Segment], hours: BusinessHours, now: datetime) -> dict[str, Any]:
    fields: dict[str, Any] = {"waiting_since": waiting_since(items), "sla_due_at": None}
    current = segments[-1] if segments else None
    if current is not None:
        fields.update(
            first_response_at=current.responded_at,
            first_response_message_id=_int(current.response_message_id),
            first_responder_id=_int(current.responder_id),
            frt_seconds=current.wall_seconds,
            frt_business_seconds=current.business_seconds,
        )
        target = _target(inbox, conversation.priority)
        if current.is_waiting and target is not None:
            fields["sla_due_at"] = sla_deadline(items, target, hours)
    if fields["sla_due_at"] is not None and fields["sla_due_at"] != conversation.sla_due_at:
        fields["sla_breached_at"] = None  # a new deadline: an earlier breach was another cycle
    return fields


def _int(value: str | None) -> int | None:
    return None if value is None else int(value)


async def _store_cycles(tx: Tx, conversation: Any, inbox: Any, segments: list[Segment]) -> None:
    await tx.conn.execute(
        sa.delete(t.response_cycles).where(t.response_cycles.c.conversation_id == conversation.id)
    )
    if not segments:
        return
    await tx.conn.execute(
        t.response_cycles.insert(),
        [
            {
                "conversation_id": conversation.id,
                "inbox_id": conversation.inbox_id,
                "idx": s.index,
                "channel": inbox.kind,
                "started_at": s.started_at,
                "start_message_id": _int(s.start_message_id),
                "responded_at": s.responded_at,
                "response_message_id": _int(s.response_message_id),
                "responder_id": _int(s.responder_id),
                "team_id": conversation.team_id,
                "wall_seconds": s.wall_seconds,
                "business_seconds": s.business_seconds,
                "ended_unanswered_at": s.ended_unanswered_at,
            }
            for s in segments
        ],
    )
