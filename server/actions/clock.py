"""Keeps a conversation's first-response figures in step with its timeline.

The figures are recomputed from the stored messages with the pure clock in
``server.domain.frt`` after every change that can move them (a message, a status change,
a failed send). Recomputing rather than patching keeps them exact when history is
imported out of order or a reply later fails to send.
"""

from __future__ import annotations

import json
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
from server.metrics import FIRST_RESPONSE_SECONDS
from server.storage import schema as t

_ALWAYS = BusinessHours.always()
_HOURS_CACHE: dict[str, BusinessHours] = {}  # parsed calendars by their JSON; few per install


def hours_of(inbox: Any) -> BusinessHours:
    if not inbox.business_hours:
        return _ALWAYS
    key = json.dumps(inbox.business_hours, sort_keys=True)
    hours = _HOURS_CACHE.get(key)
    if hours is None:
        if len(_HOURS_CACHE) > 1000:
            _HOURS_CACHE.clear()
        hours = _HOURS_CACHE[key] = BusinessHours.from_json(inbox.business_hours)
    return hours


def timeline_item(row: Any, human_ids: set[int]) -> TimelineItem | None:
    """Classify one stored message for the clock (see DESIGN.md's FRT definition)."""
    at = row.sent_at
    if row.kind == "activity":
        status = (row.content_attributes or {}).get("status")
        return (
            TimelineItem(at, ItemKind.STATUS, str(row.id), status=Status(status))
            if status
            else None
        )
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
    return TimelineItem(
        at, ItemKind.AGENT_REPLY, str(row.id), _str(row.sender_id), counts_as_response=counts
    )


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


_m = t.messages.c
#: Only what the clock reads, built once: bodies and email attributes can be large, and
#: this runs on every message of a conversation.
_TIMELINE = (
    sa.select(
        _m.id,
        _m.sent_at,
        _m.kind,
        _m.direction,
        _m.sender_type,
        _m.sender_id,
        _m.is_auto,
        _m.status,
        sa.case((_m.kind == "activity", _m.content_attributes), else_=sa.null()).label(
            "content_attributes"
        ),
    )
    .where(_m.conversation_id == sa.bindparam("cid"))
    .order_by(_m.sent_at, _m.id)
)


async def recompute(tx: Tx, conversation: Any, inbox: Any, now: datetime) -> dict[str, Any]:
    """Recompute cycles and the conversation's clock fields; returns the changed fields."""
    rows = (await tx.conn.execute(_TIMELINE, {"cid": conversation.id})).all()
    humans = await _human_agent_ids(tx, rows)
    items = [i for i in (timeline_item(r, humans) for r in rows) if i is not None]
    hours = hours_of(inbox)
    segments = compute_segments(items, hours)
    await _store_cycles(tx, conversation, inbox, segments, resolutions(items, segments))
    return _clock_fields(conversation, inbox, items, segments, hours, now)


def _clock_fields(
    conversation: Any,
    inbox: Any,
    items: list[TimelineItem],
    segments: list[Segment],
    hours: BusinessHours,
    now: datetime,
) -> dict[str, Any]:
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


def resolutions(items: list[TimelineItem], segments: list[Segment]) -> list[datetime | None]:
    """When each segment was resolved: the first resolve at or after its start and before
    the next segment's start (None while it is still open)."""
    resolves = sorted(
        i.at for i in items if i.kind == ItemKind.STATUS and i.status == Status.RESOLVED
    )
    out: list[datetime | None] = []
    for n, seg in enumerate(segments):
        until = segments[n + 1].started_at if n + 1 < len(segments) else None
        out.append(
            next(
                (at for at in resolves if at >= seg.started_at and (until is None or at < until)),
                None,
            )
        )
    return out


def _cycle_row(
    conversation: Any, inbox: Any, s: Segment, resolved: datetime | None
) -> dict[str, Any]:
    return {
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
        "resolved_at": resolved,
        "resolution_seconds": (resolved - s.started_at).total_seconds() if resolved else None,
    }


async def _store_cycles(
    tx: Tx, conversation: Any, inbox: Any, segments: list[Segment], resolved: list[datetime | None]
) -> None:
    """Write only the cycles that changed (most messages change none)."""
    r = t.response_cycles.c
    stored = {
        row.idx: dict(row._mapping)
        for row in (
            await tx.conn.execute(
                sa.select(t.response_cycles).where(r.conversation_id == conversation.id)
            )
        ).all()
    }
    wanted = {
        s.index: _cycle_row(conversation, inbox, s, r)
        for s, r in zip(segments, resolved, strict=True)
    }
    gone = [idx for idx in stored if idx not in wanted]
    if gone:
        await tx.conn.execute(
            sa.delete(t.response_cycles).where(
                r.conversation_id == conversation.id, r.idx.in_(gone)
            )
        )
    new = [row for idx, row in wanted.items() if idx not in stored]
    if new:
        await tx.conn.execute(t.response_cycles.insert(), new)
    for idx, row in wanted.items():
        old = stored.get(idx)
        _observe_new_response(tx, inbox.kind, old, row)
        if old is not None and any(old[k] != v for k, v in row.items()):
            await tx.conn.execute(
                sa.update(t.response_cycles)
                .where(r.conversation_id == conversation.id, r.idx == idx)
                .values(**row)
            )


def _observe_new_response(
    tx: Tx, channel: str, old: dict[str, Any] | None, row: dict[str, Any]
) -> None:
    """Count a first response once, when it happens (after the commit)."""
    if row["responded_at"] is None or row["wall_seconds"] is None:
        return
    if old is not None and old.get("responded_at") is not None:
        return
    seconds = float(row["wall_seconds"])
    tx.after_commit.append(lambda: FIRST_RESPONSE_SECONDS.labels(channel).observe(seconds))
